/**
 * What `meshbridge agent install` puts on a VM (docs/envoy-on-vms.md): a systemd unit running the
 * agent as an unprivileged user, restarted on failure, confined to its bootstrap folder. Pure: the
 * unit text and the list of steps; the command carries them out (or only prints them, `--dry-run`).
 */
export interface AgentInstallPlan {
  readonly unitPath: string;
  readonly unit: string;
  /** One line each, as printed: what is done, in order. */
  readonly steps: readonly string[];
}

export interface AgentInstallOptions {
  /** Absolute path of the bootstrap folder. */
  readonly bootstrapDir: string;
  /** Absolute path of the node binary and of the meshbridge program it runs. */
  readonly node: string;
  readonly program: string;
  readonly user: string;
  readonly unitDir: string;
  /** Extra agent flags, e.g. `--dns-address 127.0.0.1:15053`. */
  readonly agentArgs: readonly string[];
}

export const AGENT_UNIT_NAME = 'meshbridge-agent.service';

/** systemd quoting: double quotes with `\` and `"` escaped, when a word needs it. */
function quote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function agentInstallPlan(o: AgentInstallOptions): AgentInstallPlan {
  const exec = [o.node, o.program, 'agent', '--bootstrap', o.bootstrapDir, ...o.agentArgs].map(quote).join(' ');
  const unit = [
    '[Unit]',
    'Description=meshbridge VM agent: registration, health, identity and local xDS for this workload',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `User=${o.user}`,
    `Group=${o.user}`,
    `ExecStart=${exec}`,
    'Restart=on-failure',
    'RestartSec=2s',
    'UMask=0077',
    'NoNewPrivileges=true',
    'ProtectSystem=strict',
    'ProtectHome=true',
    'PrivateTmp=true',
    `ReadWritePaths=${quote(o.bootstrapDir)}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  const unitPath = `${o.unitDir.replace(/\/$/, '')}/${AGENT_UNIT_NAME}`;
  const steps = [
    `chmod 0700 ${o.bootstrapDir}`,
    `chmod 0600 ${o.bootstrapDir}/* (the registration token and every other file of the folder)`,
    `chown -R ${o.user}:${o.user} ${o.bootstrapDir} (when the user exists and this runs as root)`,
    `write ${unitPath}`,
    `then: systemctl daemon-reload && systemctl enable --now ${AGENT_UNIT_NAME}`,
  ];
  return { unitPath, unit, steps };
}
