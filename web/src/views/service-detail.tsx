/** View 2: one service's members, pods and VMs side by side, with why each has its health. */
import type { ServiceDetail, ServiceMember } from '../../../src/api/v1/types.js';
import { Badge, Labels, Page } from '../components.js';
import { seg } from '../api.js';
import { useResource } from '../resource.js';
import { hrefOf } from '../route.js';

function MemberCard({ m }: { readonly m: ServiceMember }) {
  return (
    <article class="card member" data-member={m.source} data-health={m.health}>
      <header>
        <h3>{m.name}</h3>
        <Badge state={m.health} title={m.healthReason} />
        {!m.inEndpoints && <Badge state="left out" title="left out of EDS: its health check fails" />}
      </header>
      <p class="reason" data-field="healthReason">
        {m.healthReason}
      </p>
      <dl>
        <dt>Address</dt>
        <dd data-field="address">{m.address}</dd>
        <dt>Ports</dt>
        <dd>{m.ports.map((p) => `${p.servicePort}${p.portName ? ` (${p.portName})` : ''} → ${p.port === 0 ? 'unix socket' : p.port}`).join(', ') || '–'}</dd>
        <dt>Network</dt>
        <dd>{m.network || <span class="muted">default</span>}</dd>
        <dt>Locality</dt>
        <dd>
          {m.locality || <span class="muted">none</span>} {m.localitySource !== 'none' && <span class="muted">(from {m.localitySource})</span>}
        </dd>
        <dt>Weight</dt>
        <dd>{m.weight}</dd>
        <dt>Identity</dt>
        <dd>{m.identity ?? <span class="muted">none</span>}</dd>
        <dt>TLS mode</dt>
        <dd>{m.tlsMode ?? <span class="muted">unknown</span>}</dd>
        <dt>Selected by</dt>
        <dd>
          {m.selectedBy} <Labels labels={m.selector} />
        </dd>
        <dt>Labels</dt>
        <dd>
          <Labels labels={m.labels} />
        </dd>
        <dt>Defined at</dt>
        <dd>{m.location ?? <span class="muted">inline</span>}</dd>
      </dl>
      <a href={hrefOf({ view: 'timeline', endpoint: m.source })}>Health timeline</a>
    </article>
  );
}

function Column({ title, kind, members }: { readonly title: string; readonly kind: string; readonly members: readonly ServiceMember[] }) {
  return (
    <div class="column" data-kind={kind}>
      <h2>
        {title} <span class="muted">({members.length})</span>
      </h2>
      {members.length === 0 ? <p class="muted">None.</p> : members.map((m) => <MemberCard key={m.source} m={m} />)}
    </div>
  );
}

export function ServiceDetailView({ namespace, host }: { readonly namespace: string; readonly host: string }) {
  const resource = useResource<ServiceDetail>(`/api/v1/services/${seg(namespace)}/${seg(host)}`);
  return (
    <Page title={host} resource={resource}>
      {(s) => (
        <>
          <p class="summary">
            {s.kind} in <strong>{s.namespace}</strong>, {s.resolution}, {s.location}; ports {s.ports.map((p) => `${p.number} ${p.name}`).join(', ')}; defined at {s.definedBy.location}.{' '}
            <a href={hrefOf({ view: 'timeline', service: `${s.namespace}/${s.host}` })}>Service health timeline</a>
          </p>
          <div class="side-by-side">
            <Column title="Pods" kind="Pod" members={s.members.filter((m) => m.kind === 'Pod')} />
            <Column title="VMs (WorkloadEntries)" kind="WorkloadEntry" members={s.members.filter((m) => m.kind === 'WorkloadEntry')} />
          </div>
          {s.members.some((m) => m.kind === 'inline') && <Column title="Inline endpoints" kind="inline" members={s.members.filter((m) => m.kind === 'inline')} />}
          <h2>Left out by the selectors</h2>
          {s.leftOut.length === 0 ? (
            <p class="muted">None.</p>
          ) : (
            <ul id="left-out">
              {s.leftOut.map((l) => (
                <li key={l.source}>
                  <code>{l.source}</code>: {l.reason} — {l.detail}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </Page>
  );
}
