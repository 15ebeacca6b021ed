/** View 5: connected proxies, per xDS type SYNCED / STALE / NACKED / NOT SENT, the last NACK, counters. */
import type { ProxiesResponse, ProxyView } from '../../../src/api/v1/types.js';
import { Badge, Page, StaleBanner, Time } from '../components.js';
import { useResource } from '../resource.js';
import { hrefOf } from '../route.js';

const TYPES = ['CDS', 'LDS', 'RDS', 'EDS', 'SDS'];
/** Proxy, kind, namespace, the types, counters, connected. */
const COLUMNS = 3 + TYPES.length + 2;

function Row({ p }: { readonly p: ProxyView }) {
  const nacks = p.types.filter((t) => t.lastNack !== null);
  const row = (
    <tr data-proxy={p.id}>
      <td>
        <a data-row href={hrefOf({ view: 'proxy', id: p.id })}>
          {p.name}
        </a>
        <div class="muted id">{p.id}</div>
        {p.mayBeStale && (
          <div class="stale">
            <Badge state="may be stale" /> {p.staleReasons.join('; ')}
          </div>
        )}
      </td>
      <td>
        {p.clientKind} <span class="muted">{p.protocol}</span>
      </td>
      <td>
        {p.namespace}
        <div class="muted">
          {p.network || 'default'} {p.locality}
        </div>
      </td>
      {TYPES.map((ty) => {
        const t = p.types.find((x) => x.type === ty);
        return (
          <td key={ty} data-type={ty}>
            {t === undefined ? <span class="muted">–</span> : <Badge state={t.state} title={`sent ${t.sent?.version ?? '–'}, acked ${t.acked?.version ?? '–'}, current ${t.current ?? '–'}; ${t.counters.pushes} pushes, ${t.counters.acks} ACKs, ${t.counters.nacks} NACKs`} />}
          </td>
        );
      })}
      <td class="counts">
        {p.counters.pushes} / {p.counters.acks} / {p.counters.nacks}
      </td>
      <td>
        <Time at={p.connectedAt} />
        <div class="muted">
          last push <Time at={p.lastPushAt} />
        </div>
      </td>
    </tr>
  );
  // The last NACKs on a row of their own, across the table: messages are long.
  const nackRow = nacks.length > 0 && (
    <tr class="nack-row" data-nack-for={p.id}>
      <td colSpan={COLUMNS}>
        {nacks.map((t) => (
          <div key={t.type} class="nack" data-type={t.type}>
            Last NACK of <strong>{t.type}</strong> (version {t.lastNack?.version}, <Time at={t.lastNack?.at} />
            ): {t.lastNack?.message}
          </div>
        ))}
      </td>
    </tr>
  );
  return (
    <>
      {row}
      {nackRow}
    </>
  );
}

export function ProxiesView() {
  const resource = useResource<ProxiesResponse>('/api/v1/proxies');
  return (
    <Page title="Connected proxies" resource={resource}>
      {(data) => (
        <>
          <StaleBanner reasons={data.staleReasons} />
          <div class="table-wrap">
            <table id="proxies-table">
              <thead>
                <tr>
                  <th>Proxy</th>
                  <th>Kind</th>
                  <th>Namespace</th>
                  {TYPES.map((t) => (
                    <th key={t}>{t}</th>
                  ))}
                  <th title="responses sent / ACKs / NACKs">Sent · ACK · NACK</th>
                  <th>Connected</th>
                </tr>
              </thead>
              <tbody>
                {data.proxies.map((p) => (
                  <Row key={p.id} p={p} />
                ))}
              </tbody>
            </table>
          </div>
          {data.proxies.length === 0 && <p class="muted">No proxy is connected to {data.instance}.</p>}
        </>
      )}
    </Page>
  );
}
