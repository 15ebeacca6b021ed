/** View 9: every input object with its source location, its problems with positions, the status we wrote and cross-references. */
import { useState } from 'preact/hooks';
import type { ConfigObjectView, ConfigProblem, ConfigResponse } from '../../../src/api/v1/types.js';
import { Badge, Page } from '../components.js';
import { useResource } from '../resource.js';

const position = (p: ConfigProblem): string => (p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file);

function Problems({ problems }: { readonly problems: readonly ConfigProblem[] }) {
  if (problems.length === 0) return null;
  return (
    <ul class="problems">
      {problems.map((p, i) => (
        <li key={i} data-severity={p.severity}>
          <Badge state={p.severity} /> <span class="position">{position(p)}</span> {p.field !== '' && <code>{p.field}</code>} {p.message}
        </li>
      ))}
    </ul>
  );
}

function ObjectRow({ o }: { readonly o: ConfigObjectView }) {
  return (
    <tr data-object={o.key}>
      <td>
        <strong>{o.kind}</strong> {o.namespace}/{o.name}
        <Problems problems={o.problems} />
      </td>
      <td>{o.location}</td>
      <td>
        {o.references.map((r) => (
          <div key={`${r.relation} ${r.key}`}>
            <span class="muted">{r.relation}</span> {r.key}
          </div>
        ))}
      </td>
      <td>{o.status === null ? <span class="muted">–</span> : <pre class="status">{JSON.stringify(o.status, null, 1)}</pre>}</td>
    </tr>
  );
}

export function ConfigView() {
  const resource = useResource<ConfigResponse>('/api/v1/config');
  const [filter, setFilter] = useState('');
  return (
    <Page title="Config & validation" resource={resource} actions={<input type="search" class="filter" placeholder="Filter (/)" aria-label="Filter objects" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />}>
      {(data) => (
        <>
          <p class="muted">
            {data.store}, revision {data.revision}
          </p>
          {data.files.length > 0 && (
            <>
              <h2>Files</h2>
              <ul id="config-files">
                {data.files.map((f) => (
                  <li key={f.path} data-file={f.path}>
                    {f.rejected && <Badge state="rejected" title="refused: its last good version is served" />} <code>{f.path}</code> ({f.objects} objects)
                    <Problems problems={f.problems} />
                  </li>
                ))}
              </ul>
            </>
          )}
          <h2>Objects</h2>
          <div class="table-wrap">
            <table id="config-objects">
              <thead>
                <tr>
                  <th>Object</th>
                  <th>Source</th>
                  <th>References</th>
                  <th>Status we wrote</th>
                </tr>
              </thead>
              <tbody>
                {data.objects
                  .filter((o) => filter.trim() === '' || `${o.key} ${o.location}`.toLowerCase().includes(filter.trim().toLowerCase()))
                  .map((o) => (
                    <ObjectRow key={o.key} o={o} />
                  ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Page>
  );
}
