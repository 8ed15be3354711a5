import { parsePromText, toSamples } from '../core/prom-text';
import type { ScrapeTarget } from '../core/scrape-config';
import type { Sample } from '../core/types';

/** ScrapeResult is what one scrape produced: the target's samples plus Prometheus' synthetic series. */
export interface ScrapeResult {
  up: boolean;
  samples: Sample[];
  error?: string;
  durationMs: number;
}

/**
 * scrapeTarget fetches a target's exposition within the timeout and returns its samples — labelled with the job
 * (service), instance and target labels — plus `up`, `scrape_duration_seconds` and `scrape_samples_scraped`, as
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
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const text = await response.text();
    const parsed = parsePromText(text, (response.headers.get('content-type') ?? '').startsWith('application/openmetrics-text') || undefined);
    // A scraped series keeps its own labels; the target's job and instance name its service, as honor_labels: false.
    const stripped = parsed.samples.map((s) => {
      const { job: _job, instance: _instance, service: _service, ...own } = s.labels;
      return { ...s, labels: own };
    });
    samples = toSamples(stripped, { service: target.job, instance: target.instance, labels: target.labels }, started).samples;
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
