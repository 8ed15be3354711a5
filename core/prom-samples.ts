import type { Labels, Sample } from './types';
import { timestampProblem } from './samples';
import type { PromSample } from './prom-text';

/**
 * From parsed exposition samples (core/prom-text.ts, and remote write's) to stored samples: which service and
 * instance they belong to, the target's labels, and what storage cannot hold, refused per sample.
 */

/**
 * exportConflicts renames the scraped labels that the target sets itself (job, instance, its target labels) to
 * `exported_<name>` (again prefixed while that too is taken), as Prometheus does with honor_labels: false.
 */
export function exportConflicts(labels: Labels, targetNames: ReadonlySet<string>): Labels {
  let out: Labels | undefined;
  for (const name of Object.keys(labels)) {
    if (!targetNames.has(name)) continue;
    out ??= { ...labels };
    delete out[name];
    let renamed = `exported_${name}`;
    while (renamed in labels || renamed in out) renamed = `exported_${renamed}`;
    out[renamed] = labels[name]!;
  }
  return out ?? labels;
}

/** SeriesIdentity says which service and instance scraped or pushed samples belong to, and which labels to add. */
export interface SeriesIdentity {
  service?: string;
  instance?: string;
  labels?: Labels;
}

/**
 * toSamples turns parsed samples into stored samples: the service comes from the `service` or `job` label, else the
 * identity; the instance from `instance`; target labels are added (a sample's own label wins, as Prometheus'
 * honor_labels). Samples without a service, and NaN values (they poison every aggregate), are returned as errors.
 */
export function toSamples(
  parsed: PromSample[],
  identity: SeriesIdentity,
  nowMs: number,
  limits: { maxLabels: number; maxLabelLength: number; oldestMs?: number } = { maxLabels: 32, maxLabelLength: 1024 },
  /** keepJob: a `job` label stays a label (remote write: PromQL over the series must find it) besides naming the service. */
  options: { keepJob?: boolean } = {},
): { samples: Sample[]; errors: Array<{ index: number; error: string }> } {
  const samples: Sample[] = [];
  const errors: Array<{ index: number; error: string }> = [];
  parsed.forEach((p, index) => {
    const { service: svcLabel, job, instance, ...own } = p.labels;
    if (options.keepJob && job !== undefined) own.job = job;
    const service = svcLabel ?? job ?? identity.service;
    if (!service) {
      errors.push({ index, error: `${p.name}: no service (add a service or job label, or ?service= to the URL)` });
      return;
    }
    if (Number.isNaN(p.value)) {
      errors.push({ index, error: `${p.name}: NaN values are not stored` });
      return;
    }
    const names = Object.keys(own);
    if (names.length > limits.maxLabels) {
      errors.push({ index, error: `${p.name}: more than ${limits.maxLabels} labels` });
      return;
    }
    const long = names.find((k) => own[k]!.length > limits.maxLabelLength);
    if (long !== undefined) {
      errors.push({ index, error: `${p.name}: label ${long} longer than ${limits.maxLabelLength} characters` });
      return;
    }
    const problem = p.timestampMs === undefined ? undefined : timestampProblem(p.timestampMs, nowMs, limits.oldestMs);
    if (problem) {
      errors.push({ index, error: `${p.name}: ${problem}` });
      return;
    }
    samples.push({
      timestampMs: p.timestampMs ?? nowMs,
      service,
      instance: instance ?? identity.instance ?? '',
      name: p.name,
      value: p.value,
      labels: identity.labels ? { ...identity.labels, ...own } : own,
    });
  });
  return { samples, errors };
}
