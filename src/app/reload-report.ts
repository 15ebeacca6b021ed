/**
 * What `serve` says and counts about a reload of its config folder (file store): refused files keep
 * serving their last good version; invalid objects left out (first load), warnings of accepted
 * files, objects defined twice, and what was applied.
 */
import type { Logger } from '../lib/log/logger.js';
import { formatFinding } from '../model/config/format-finding.js';
import type { FilesReport } from '../model/config/store.js';
import type { ControlPlaneMetrics } from '../status/metrics.js';

export function reportReload(r: FilesReport, first: boolean, metrics: ControlPlaneMetrics, log: Logger): void {
  for (const path of r.rejected) {
    const errors = r.findings.filter((f) => f.file === path && f.severity === 'error');
    metrics.rejectedConfigs.inc({ type: 'file' }, 1);
    for (const f of errors) metrics.rejectedConfigs.inc({ type: f.kind || 'unknown' });
    log.warn(`configuration change refused, serving the last good version of ${path}`, {
      errors: errors.map((f) => formatFinding(f, 'error')),
    });
  }
  if (first) {
    for (const f of r.findings.filter((x) => x.severity === 'error' && !r.rejected.includes(x.file))) {
      log.warn(`invalid configuration left out: ${formatFinding(f, 'error')}`);
    }
  }
  // Issue 13: an accepted file's warnings (unknown fields with their did-you-mean, ...) are said too.
  const applied = new Set(r.applied);
  for (const f of r.findings) {
    if (f.severity === 'warning' && applied.has(f.file)) log.warn(`configuration warning: ${formatFinding(f, 'warning')}`);
  }
  for (const d of r.duplicates) log.warn(`${d.key} is defined in more than one file (${d.places.join(', ')}); the last one is served: define each object once`);
  if (r.applied.length > 0) log.info('configuration applied', { files: r.applied, objects: r.objectCount });
}
