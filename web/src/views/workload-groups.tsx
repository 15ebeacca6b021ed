/** View 3: WorkloadGroups and their VMs' auto-registration lifecycle. */
import type { GroupEntry, WorkloadGroupsResponse, WorkloadGroupView } from '../../../src/api/v1/types.js';
import { Badge, Labels, Page, Time } from '../components.js';
import { useResource } from '../resource.js';
import { hrefOf } from '../route.js';

function healthOf(e: GroupEntry): string {
  if (e.health === undefined) return 'not checked';
  if (e.health.status === null) return 'no report yet';
  return e.health.status === 'True' ? 'healthy' : 'unhealthy';
}

function Group({ g, selected }: { readonly g: WorkloadGroupView; readonly selected: boolean }) {
  return (
    <article class={`card group${selected ? ' selected' : ''}`} data-group={`${g.namespace}/${g.name}`}>
      <header>
        <h2>
          <a href={hrefOf({ view: 'workloadgroups', namespace: g.namespace, name: g.name })}>
            {g.namespace}/{g.name}
          </a>
        </h2>
        <span class="muted">{g.location}</span>
      </header>
      <p>
        {g.counts.connected} connected, {g.counts.disconnected} disconnected; {g.probe ? `${g.counts.healthy} healthy, ${g.counts.unhealthy} unhealthy (probe)` : 'no probe'}.
      </p>
      <dl>
        <dt>Template labels</dt>
        <dd>
          <Labels labels={g.template.labels} />
        </dd>
        <dt>Ports</dt>
        <dd>{Object.entries(g.template.ports).map(([n, p]) => `${n} → ${p}`).join(', ') || '–'}</dd>
        <dt>Service account</dt>
        <dd>{g.template.serviceAccount || <span class="muted">default</span>}</dd>
        <dt>Network / locality</dt>
        <dd>
          {g.template.network || <span class="muted">default</span>} / {g.template.locality || <span class="muted">none</span>}
        </dd>
      </dl>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Entry</th>
              <th>Address</th>
              <th>State</th>
              <th>Controller</th>
              <th>Connected at</th>
              <th>Disconnected at</th>
              <th>Cleanup deadline</th>
              <th>Last health report</th>
            </tr>
          </thead>
          <tbody>
            {g.entries.map((e) => (
              <tr key={e.name} data-entry={e.name}>
                <td>
                  <a data-row href={hrefOf({ view: 'timeline', endpoint: `WorkloadEntry/${e.namespace}/${e.name}` })}>
                    {e.name}
                  </a>
                </td>
                <td>{e.address}</td>
                <td>
                  <Badge state={e.state} />
                </td>
                <td>{e.controller ?? <span class="muted">–</span>}</td>
                <td>
                  <Time at={e.connectedAt} />
                </td>
                <td>
                  <Time at={e.disconnectedAt} />
                </td>
                <td>
                  <Time at={e.cleanupDeadline} />
                </td>
                <td>
                  <Badge state={healthOf(e)} /> {e.health?.message ?? e.health?.reason ?? ''} {e.health?.lastTransitionTime !== undefined && <span class="muted">since <Time at={e.health.lastTransitionTime} /></span>}
                  {!e.inEndpoints && <span class="bad"> · left out of EDS</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {g.entries.length === 0 && <p class="muted">No VM registered from this group.</p>}
      </div>
    </article>
  );
}

export function WorkloadGroupsView({ namespace, name }: { readonly namespace?: string | undefined; readonly name?: string | undefined }) {
  const resource = useResource<WorkloadGroupsResponse>('/api/v1/workloadgroups');
  const selected = namespace !== undefined && name !== undefined ? `${namespace}/${name}` : undefined;
  return (
    <Page title="WorkloadGroups and VMs" resource={resource}>
      {(data) => {
        const groups = selected === undefined ? data.workloadGroups : data.workloadGroups.filter((g) => `${g.namespace}/${g.name}` === selected);
        if (groups.length === 0) return <p class="muted">{selected === undefined ? 'No WorkloadGroups.' : `No WorkloadGroup ${selected}.`}</p>;
        return groups.map((g) => <Group key={`${g.namespace}/${g.name}`} g={g} selected={selected !== undefined} />);
      }}
    </Page>
  );
}
