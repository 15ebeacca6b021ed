/** Istio protocol names (V-SUB-3), canonical spelling; '' when unset or unknown. */
const PROTOCOLS = ['TCP', 'UDP', 'GRPC', 'GRPC-Web', 'HTTP', 'HTTP_PROXY', 'HTTP2', 'HTTPS', 'TLS', 'Mongo', 'Redis', 'MySQL'] as const;
const BY_LOWER = new Map(PROTOCOLS.map((p) => [p.toLowerCase(), p]));

export function canonicalProtocol(p: string): string {
  return BY_LOWER.get(p.toLowerCase()) ?? '';
}

/** Kubernetes Service port protocol (Istio kube.ConvertProtocol): UDP, appProtocol, name prefix. */
export function kubePortProtocol(name: string, protocol: string | undefined, appProtocol: string | undefined): string {
  if (protocol === 'UDP') return 'UDP';
  if (appProtocol) {
    const ap = appProtocol.toLowerCase();
    if (ap === 'kubernetes.io/h2c') return 'HTTP2';
    if (ap === 'kubernetes.io/ws' || ap === 'kubernetes.io/wss') return 'HTTP';
    const c = canonicalProtocol(ap);
    if (c !== '') return c;
  }
  const prefix = name.split('-')[0] ?? '';
  const fromName = canonicalProtocol(prefix);
  return fromName !== '' ? fromName : 'TCP';
}

export function isHttpFamily(p: string): boolean {
  return ['HTTP', 'HTTP2', 'HTTP_PROXY', 'GRPC', 'GRPC-Web'].includes(p);
}
