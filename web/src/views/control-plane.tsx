/** View 10: the control plane and its sources (store, files, Kubernetes, push latency) with the live event log. */
import { Fragment } from 'preact';
import type { ApiEvent, ControlPlaneResponse } from '../../../src/api/v1/types.js';
import { Badge, Page, StaleBanner, Time, seconds } from '../components.js';
import { liveMode, recentEvents } from '../live.js';
import { useResource } from '../resource.js';

/** One line of the event log. */
export function describeEvent(e: ApiEvent): string {
  switch (e.type) {
    case 'health':
      return `${e.endpoint} (${e.address}): ${e.from} → ${e.to} (${e.source}) ${e.reason}${e.flapping ? ' [flapping]' : ''}`;
    case 'proxy':
      return `${e.name}: ${e.action}${e.xdsType !== undefined ? ` ${e.xdsType}` : ''}${e.message !== '' ? `: ${e.message}` : ''}`;
    case 'config':
      return `config revision ${e.revision}: ${e.changes} change${e.changes === 1 ? '' : 's'} ${e.objects.join(', ')}`;
    case 'push':
      return `push to ${e.views} view${e.views === 1 ? '' : 's'} (${e.changes} changes) in ${seconds(e.pushSeconds)}`;
  }
}

function EventLog() {
  const events = recentEvents.value;
  return (
    <section>
      <h2>
        Live event log <Badge state={liveMode.value} />
      </h2>
      {events.length === 0 ? (
        <p class="muted">No events since this page was opened.</p>
      ) : (
        <ol id="event-log" reversed>
          {[...events].reverse().map((e) => (
            <li key={e.id} data-type={e.type}>
              <Time at={e.at} /> <Badge state={e.type} /> {describeEvent(e)}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

export function ControlPlaneView() {
  const resource = useResource<ControlPlaneResponse>('/api/v1/controlplane');
  // The event log comes from the live stream: it shows even when the summary cannot be read.
  return (
    <>
      <Page title="Control plane & sources" resource={resource}>
        {(cp) => (
          <>
            <StaleBanner reasons={cp.staleReasons} />
            <div class="cards">
              <article class="card" id="instance">
                <h2>{cp.instance}</h2>
                <dl>
                  <dt>Version</dt>
                  <dd>{cp.version}</dd>
                  <dt>Started</dt>
                  <dd>
                    <Time at={cp.startedAt} />
                  </dd>
                  <dt>Ready</dt>
                  <dd>
                    <Badge state={cp.ready ? 'ready' : 'starting'} />
                  </dd>
                  <dt>Leader</dt>
                  <dd>{cp.leader ? 'yes' : 'no'}</dd>
                  <dt>Replicas</dt>
                  <dd>{cp.replicas.join(', ')}</dd>
                </dl>
              </article>
              <article class="card" id="store">
                <h2>Store</h2>
                <dl>
                  <dt>Source</dt>
                  <dd>
                    {cp.store.kind}: {cp.store.description}
                  </dd>
                  <dt>State</dt>
                  <dd>
                    <Badge state={cp.store.connected ? 'connected' : 'disconnected'} /> since <Time at={cp.store.since} />
                  </dd>
                  <dt>Revision</dt>
                  <dd>{cp.store.revision}</dd>
                  <dt>Changes applied</dt>
                  <dd>
                    {cp.store.changesApplied} ({cp.store.resyncs} resyncs)
                  </dd>
                  {cp.store.problems.length > 0 && (
                    <>
                      <dt>Problems</dt>
                      <dd>{cp.store.problems.join('; ')}</dd>
                    </>
                  )}
                </dl>
                {cp.files !== null && (
                  <p>
                    File watch: {cp.files.files} files, last reload <Time at={cp.files.lastReloadAt} />
                    {cp.files.rejected.length > 0 && <span class="bad">; rejected: {cp.files.rejected.join(', ')}</span>}
                  </p>
                )}
                {cp.kubernetes !== null && (
                  <p>
                    Kubernetes {cp.kubernetes.server}: <Badge state={cp.kubernetes.synced ? 'synced' : 'not synced'} />
                  </p>
                )}
              </article>
              <article class="card" id="push">
                <h2>Pushes</h2>
                <dl>
                  <dt>Pushes</dt>
                  <dd>{cp.push.pushes}</dd>
                  <dt>Last push</dt>
                  <dd>
                    <Time at={cp.push.lastPushAt} />
                  </dd>
                  <dt>Convergence p50 / p99</dt>
                  <dd>
                    {seconds(cp.push.convergence.p50Seconds)} / {seconds(cp.push.convergence.p99Seconds)} ({cp.push.convergence.count})
                  </dd>
                  <dt>Push time p50 / p99</dt>
                  <dd>
                    {seconds(cp.push.pushTime.p50Seconds)} / {seconds(cp.push.pushTime.p99Seconds)} ({cp.push.pushTime.count})
                  </dd>
                </dl>
              </article>
              <article class="card" id="counts">
                <h2>Counts</h2>
                <dl>
                  {Object.entries(cp.counts).map(([k, v]) => (
                    <Fragment key={k}>
                      <dt>{k}</dt>
                      <dd>{v}</dd>
                    </Fragment>
                  ))}
                </dl>
              </article>
            </div>
          </>
        )}
      </Page>
      <EventLog />
    </>
  );
}
