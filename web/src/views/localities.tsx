/** View 7: localities and networks, and the failover order the control plane computes for a chosen client. */
import type { LocalitiesResponse } from '../../../src/api/v1/types.js';
import { Badge, Page } from '../components.js';
import { useResource } from '../resource.js';
import { go } from '../route.js';

export function LocalitiesView({ client }: { readonly client?: string | undefined }) {
  const resource = useResource<LocalitiesResponse>(`/api/v1/localities${client !== undefined ? `?client=${encodeURIComponent(client)}` : ''}`);
  return (
    <Page title="Locality & networks" resource={resource}>
      {(data) => (
        <>
          <form
            class="row"
            onSubmit={(e) => {
              e.preventDefault();
              const value = new FormData(e.currentTarget).get('client');
              go({ view: 'localities', ...(typeof value === 'string' && value !== '' ? { client: value } : {}) });
            }}
          >
            <label>
              Client locality (region/zone/subzone)
              <input name="client" list="known-localities" value={client ?? ''} placeholder="region/zone/subzone" />
            </label>
            <datalist id="known-localities">
              {data.localities.map((l) => (
                <option key={`${l.network} ${l.locality}`} value={l.locality} />
              ))}
            </datalist>
            <button type="submit">Show failover order</button>
          </form>
          <h2>Endpoints by network and locality</h2>
          <div class="table-wrap">
            <table id="localities-table">
              <thead>
                <tr>
                  <th>Network</th>
                  <th>Locality</th>
                  <th>Endpoints</th>
                </tr>
              </thead>
              <tbody>
                {data.localities.map((l) => (
                  <tr key={`${l.network} ${l.locality}`}>
                    <td>{l.network || 'default'}</td>
                    <td>{l.locality || '(none)'}</td>
                    <td>{l.endpoints}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2>
            Failover order for a client in {data.client.locality || '(no locality)'} on {data.client.network || 'the default network'}
          </h2>
          {data.services.map((s) => (
            <article class="card" key={s.cluster} data-cluster={s.cluster}>
              <h3>
                {s.host}:{s.port} <span class="muted">{s.localityAware ? 'locality-aware' : 'no locality failover (one priority)'}</span>
              </h3>
              <ol class="priorities">
                {s.priorities.map((p) => (
                  <li key={p.priority} data-priority={p.priority}>
                    priority {p.priority}: {p.localities.join(', ') || '(none)'} —{' '}
                    {p.endpoints.map((e) => (
                      <span key={e.address} class="endpoint">
                        {e.address} <Badge state={e.health} /> {e.gatewayFor !== null && `(gateway for ${e.gatewayFor})`}
                      </span>
                    ))}
                  </li>
                ))}
              </ol>
            </article>
          ))}
        </>
      )}
    </Page>
  );
}
