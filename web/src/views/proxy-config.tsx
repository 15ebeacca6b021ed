/** View 6: what one proxy gets: clusters → endpoints (priority, weight, gateways), listeners, routes, and the last push's diff. */
import type { ProxyConfigResponse, PushDiff } from '../../../src/api/v1/types.js';
import { seg } from '../api.js';
import { Badge, Page, Time } from '../components.js';
import { useResource } from '../resource.js';
import { Diff } from './diff.js';

function LastPush({ d }: { readonly d: PushDiff }) {
  const versions = Object.entries(d.versions).map(([ty, [a, b]]) => `${ty} ${a} → ${b}`);
  const changes = [...d.clusters.map((c) => ({ what: 'cluster', ...c })), ...d.listeners.map((l) => ({ what: 'listener', ...l }))];
  return (
    <section id="push-diff">
      <h2>
        Last push <Time at={d.at} />
      </h2>
      <p class="muted">{versions.join(', ') || 'no version change'}</p>
      <ul>
        {changes.map((c) => (
          <li key={`${c.what} ${c.name}`}>
            <Badge state={c.change} /> {c.what} <code>{c.name}</code>
            {c.diff !== undefined && <Diff text={c.diff} />}
          </li>
        ))}
        {d.endpoints.map((e) => (
          <li key={`eds ${e.cluster}`}>
            <Badge state={e.change} /> endpoints of <code>{e.cluster}</code>: {e.endpoints.map((x) => `${x.address} ${x.change}`).join(', ')}
          </li>
        ))}
        {d.routes.map((r) => (
          <li key={`rds ${r.routeConfiguration} ${r.virtualHost}`}>
            <Badge state={r.change} /> route {r.routeConfiguration} {r.virtualHost}
            {r.diff !== undefined && <Diff text={r.diff} />}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function ProxyConfigView({ id }: { readonly id: string }) {
  const resource = useResource<ProxyConfigResponse>(`/api/v1/proxies/${seg(id)}/config`);
  return (
    <Page title={`What ${id} gets`} resource={resource}>
      {(c) => (
        <>
          <p class="muted">
            View {c.view}; versions {Object.entries(c.versions).map(([k, v]) => `${k} ${v}`).join(', ')}
          </p>
          <h2>Clusters → endpoints</h2>
          {c.clusters.map((cl) => (
            <article class="card cluster" key={cl.name} data-cluster={cl.name}>
              <h3>
                <code>{cl.name}</code> <span class="muted">{cl.discovery}</span>
              </h3>
              {cl.endpoints.length === 0 ? (
                <p class="muted">No endpoints.</p>
              ) : (
                <div class="table-wrap">
                  <table>
                    <thead>
                      <tr>
                        <th>Address</th>
                        <th>Locality</th>
                        <th>Priority</th>
                        <th>Weight</th>
                        <th>Health</th>
                        <th>Gateway for</th>
                      </tr>
                    </thead>
                    <tbody>
                      {cl.endpoints.map((e) => (
                        <tr key={e.address} data-address={e.address}>
                          <td>{e.address}</td>
                          <td>{e.locality || '–'}</td>
                          <td>{e.priority}</td>
                          <td>{e.weight || '–'}</td>
                          <td>
                            <Badge state={e.health} />
                          </td>
                          <td>{e.gatewayFor ?? '–'}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </article>
          ))}
          <h2>Listeners</h2>
          <ul id="listeners">
            {c.listeners.map((l) => (
              <li key={l.name}>
                <code>{l.name}</code> {l.address} {l.routeConfigurations.length > 0 && <span class="muted">→ {l.routeConfigurations.join(', ')}</span>}
              </li>
            ))}
          </ul>
          <h2>Routes</h2>
          <ul id="routes">
            {c.routes.map((r) => (
              <li key={`${r.routeConfiguration} ${r.virtualHost}`}>
                <strong>{r.routeConfiguration}</strong> {r.virtualHost} <span class="muted">({r.domains.join(', ')})</span>
                <ul>
                  {r.routes.map((x, i) => (
                    <li key={i}>
                      {x.match} → {x.action}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
          {c.diffFromPrevious === null ? <p class="muted">Only one push so far: nothing to compare.</p> : <LastPush d={c.diffFromPrevious} />}
        </>
      )}
    </Page>
  );
}
