/**
 * A locality split into its parts (E-ATTR-4): region/zone/sub-zone; missing parts are ''. The one
 * locality type of the mesh: a node's `node.locality`, a workload's and the agent's `--locality`
 * (`subZone` as Envoy's Locality spells it).
 */
export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export const NO_LOCALITY: Locality = { region: '', zone: '', subZone: '' };

/** E-ATTR-4: `region/zone/subzone`, parts optional; split on '/', anything after the third segment dropped. */
export function parseLocality(s: string): Locality {
  const [region = '', zone = '', subZone = ''] = s.split('/');
  return { region, zone, subZone };
}

/**
 * The inverse of parseLocality: the parts joined by '/' without trailing empty parts
 * (`r/z`, `r//s`, `/z`); '' when every part is empty.
 */
export function formatLocality(l: Locality): string {
  if (l.subZone !== '') return `${l.region}/${l.zone}/${l.subZone}`;
  if (l.zone !== '') return `${l.region}/${l.zone}`;
  return l.region;
}

/** E-ATTR-3: a locality label value with no '/' has '.' replaced by '/' ("r.z.s" -> "r/z/s"). */
export function localityFromLabel(v: string): string {
  return v.includes('/') ? v : v.replaceAll('.', '/');
}
