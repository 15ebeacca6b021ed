/** View 1: every service across sources, with endpoint counts by kind and health. */
import { useState } from 'preact/hooks';
import type { ServicesResponse, ServiceSummary } from '../../../src/api/v1/types.js';
import { Page } from '../components.js';
import { useResource } from '../resource.js';
import { hrefOf } from '../route.js';

function vips(s: ServiceSummary): string {
  return [...s.addresses.spec, ...s.addresses.auto.map((a) => `${a} (auto)`)].join(', ') || '–';
}

function matches(s: ServiceSummary, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  return f === '' || `${s.namespace}/${s.host} ${s.kind} ${s.definedBy.location}`.toLowerCase().includes(f);
}

export function ServicesView() {
  const resource = useResource<ServicesResponse>('/api/v1/services');
  const [filter, setFilter] = useState('');
  return (
    <Page
      title="Services"
      resource={resource}
      actions={<input type="search" class="filter" placeholder="Filter (/)" aria-label="Filter services" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />}
    >
      {(data) => {
        const rows = data.services.filter((s) => matches(s, filter));
        return (
          <div class="table-wrap">
            <table id="services-table">
              <thead>
                <tr>
                  <th>Host</th>
                  <th>Namespace</th>
                  <th>Kind</th>
                  <th>Ports</th>
                  <th>Resolution</th>
                  <th>VIPs</th>
                  <th>Source</th>
                  <th title="pods / VMs (WorkloadEntries) / inline endpoints">Pods · VMs · inline</th>
                  <th>Health</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((s) => (
                  <tr key={`${s.namespace}/${s.host}`} data-service={`${s.namespace}/${s.host}`}>
                    <td>
                      <a data-row href={hrefOf({ view: 'service', namespace: s.namespace, host: s.host })}>
                        {s.host}
                      </a>
                    </td>
                    <td>{s.namespace}</td>
                    <td>{s.kind}</td>
                    <td>{s.ports.map((p) => `${p.number}/${p.protocol || '?'}`).join(', ')}</td>
                    <td>{s.resolution}</td>
                    <td>{vips(s)}</td>
                    <td title={s.sources.map((x) => `${x.key} (${x.location})`).join('\n')}>{s.definedBy.location}</td>
                    <td class="counts">
                      {s.endpoints.byKind.Pod} · {s.endpoints.byKind.WorkloadEntry} · {s.endpoints.byKind.inline}
                    </td>
                    <td class="counts">
                      <span class="ok">{s.endpoints.byHealth.HEALTHY + s.endpoints.byHealth.UNKNOWN} up</span>
                      {s.endpoints.byHealth.UNHEALTHY > 0 && <span class="bad"> · {s.endpoints.byHealth.UNHEALTHY} unhealthy</span>}
                      {s.endpoints.byHealth.DRAINING > 0 && <span class="warn"> · {s.endpoints.byHealth.DRAINING} draining</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {rows.length === 0 && <p class="muted">No services{filter !== '' ? ' match the filter' : ''}.</p>}
          </div>
        );
      }}
    </Page>
  );
}
