import { describeFaults, readExposition } from '../core/prom-text';
import { exportConflicts, toSamples } from '../core/prom-samples';
import type { ScrapeTarget } from '../core/scrape-config';
import { relabel } from '../core/relabel';
import type { Labels, Sample } from '../core/types';

/** ScrapeResult is what one scrape produced: the target's samples plus Prometheus' synthetic series. */
export interface ScrapeResult {
  up: boolean;
  samples: Sample[];
  error?: string;
  durationMs: number;
}

/**
 * scrapeTarget fetches a target's exposition within the timeout and returns its samples — labelled with the job
 * (service), instance and target labels; the target's own `job`, `instance`, `service` and target-label names renamed
 * `exported_<name>` unless the target honours labels (Prometheus' honor_labels) — plus `up`, `scrape_duration_seconds` and `scrape_samples_scraped`, as
 * Prometheus records them. A failed scrape is not an error: it yields up=0.
 */
export async function scrapeTarget(target: ScrapeTarget, timeoutMs: number, token?: string): Promise<ScrapeResult> {
  const started = Date.now();
  let samples: Sample[] = [];
  let error: string | undefined;
  try {
    const response = await fetch(target.url, {
      headers: {
        accept: 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1',
        ...(target.authorization ? { authorization: target.authorization } : token ? { authorization: `Bearer ${token}` } : {}),
      },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    // An invalid exposition fails the scrape as a whole (up=0), as in Prometheus: no partial data.
    const parsed = readExposition(new Uint8Array(await response.arrayBuffer()), response.headers.get('content-type') ?? undefined);
    if (parsed.errors.length > 0) throw new Error(describeFaults(parsed, 1));
    // Each series' labels as Prometheus forms them: the target's over the scraped ones (those renamed exported_*),
    // or the scraped ones over the target's with honor_labels; then metric_relabel_configs, which may drop it.
    const targetNames = new Set(['job', 'instance', 'service', ...Object.keys(target.labels)]);
    const fixed = { ...target.labels, job: target.job, instance: target.instance };
    const own: typeof parsed.samples = [];
    for (const s of parsed.samples) {
      let labels: Labels | undefined = target.honorLabels ? { ...fixed, ...s.labels } : { ...exportConflicts(s.labels, targetNames), ...fixed };
      let name = s.name;
      if (target.metricRelabel) {
        const { __name__: renamed, ...rest } = relabel({ ...labels, __name__: name }, target.metricRelabel) ?? {};
        labels = renamed ? rest : undefined;
        name = renamed ?? name;
      }
      if (labels) own.push({ ...s, name, labels });
    }
    samples = toSamples(own, {}, started).samples;
  } catch (err) {
    error = (err as Error).name === 'TimeoutError' ? `timeout after ${timeoutMs} ms` : (err as Error).message;
  }
  const durationMs = Date.now() - started;
  const synthetic = (name: string, value: number): Sample => ({ timestampMs: started, service: target.job, instance: target.instance, name, value, labels: target.labels });
  samples.push(
    synthetic('up', error ? 0 : 1),
    synthetic('scrape_duration_seconds', durationMs / 1000),
    synthetic('scrape_samples_scraped', samples.length),
  );
  return { up: !error, samples, durationMs, ...(error ? { error } : {}) };
}
