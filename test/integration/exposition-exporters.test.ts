import { spawn, type ChildProcess } from 'node:child_process';
import { scrapeTarget } from '../../activities/scrape';
import { expositionFormat, parsePromText } from '../../core/prom-text';
import { sql } from '../../core/escape';
import { bearer, startTestApi, type TestApi } from '../helpers/api';
import { startPrometheus, type RealPrometheus } from '../helpers/prometheus';
import { freePort } from '../helpers/servers';
import { eventually, uniqueName } from '../helpers/stack';

/**
 * Real exporters' expositions, in both formats as each negotiates them by Accept: Prometheus' own /metrics and
 * node-exporter's (Debian's, installed by scripts/services.sh) parse without a fault; our scraper scrapes
 * node-exporter; its OpenMetrics body posted to the ingest API is stored whole, and the same body broken in one
 * place is refused whole, naming the line.
 */
const ACCEPT = {
  prometheus: 'text/plain;version=0.0.4',
  openmetrics: 'application/openmetrics-text;version=1.0.0',
} as const;

describe("real exporters' expositions", () => {
  let nodeExporter: ChildProcess;
  let nodeUrl: string;
  let prometheus: RealPrometheus;
  let api: TestApi;

  beforeAll(async () => {
    const port = await freePort();
    nodeExporter = spawn('prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    nodeUrl = `http://127.0.0.1:${port}/metrics`;
    prometheus = await startPrometheus(() => 'global: {scrape_interval: 1h}\n');
    api = await startTestApi();
    await eventually(async () => {
      expect((await fetch(nodeUrl)).ok).toBe(true);
      expect((await fetch(`${prometheus.url}/metrics`)).ok).toBe(true);
    }, 20_000);
  });
  afterAll(async () => {
    nodeExporter?.kill('SIGTERM');
    prometheus?.dispose();
    await api?.close();
  });

  const exposition = async (url: string, format: keyof typeof ACCEPT) => {
    const response = await fetch(url, { headers: { accept: ACCEPT[format] } });
    const contentType = response.headers.get('content-type') ?? '';
    const text = await response.text();
    return { text, contentType, format: expositionFormat(text, contentType) };
  };

  // Both ask for either format; these versions (node-exporter 1.5, Prometheus 2.42) answer OpenMetrics only where
  // built to, else text 0.0.4 — each body is read in the format its Content-Type names. (OpenMetrics as client
  // libraries write it is tested in test/unit/prom-text-clients.test.ts.)
  it.each([
    ['node-exporter', 'prometheus'],
    ['node-exporter', 'openmetrics'],
    ['Prometheus', 'prometheus'],
    ['Prometheus', 'openmetrics'],
  ] as const)("%s's exposition, asked for %s, parses without a fault", async (exporter, format) => {
    const got = await exposition(exporter === 'Prometheus' ? `${prometheus.url}/metrics` : nodeUrl, format);
    expect(got.format).toBe(got.contentType.startsWith('application/openmetrics-text') ? 'openmetrics' : 'prometheus');
    const parsed = parsePromText(got.text, got.format);
    expect(parsed.errors).toEqual([]);
    expect(parsed.samples.length).toBeGreaterThan(50);
    expect(Object.values(parsed.types)).toEqual(expect.arrayContaining(['counter', 'gauge', exporter === 'Prometheus' ? 'histogram' : 'gauge']));
  });

  it('scrapes node-exporter: its series under the target\'s job and instance, up = 1', async () => {
    const job = uniqueName('node');
    const result = await scrapeTarget({ job, url: nodeUrl, instance: 'node-1:9100', labels: { team: 'sre' } }, 5000);
    expect(result.error).toBeUndefined();
    expect(result.up).toBe(true);
    const cpu = result.samples.filter((s) => s.name === 'node_cpu_seconds_total');
    expect(cpu.length).toBeGreaterThan(0);
    expect(cpu[0]).toMatchObject({ service: job, instance: 'node-1:9100', labels: expect.objectContaining({ team: 'sre', cpu: expect.any(String), mode: expect.any(String) }) });
  });

  it("stores node-exporter's exposition pushed whole, and refuses it whole when one line breaks the format", async () => {
    const service = uniqueName('push');
    const { text, contentType } = await exposition(nodeUrl, 'prometheus');
    const parsed = parsePromText(text, 'prometheus');
    const post = (body: string) =>
      api.app.inject({ method: 'POST', url: `/api/v1/internal/monitoring/metrics?service=${service}`, headers: { ...bearer('service'), 'content-type': contentType }, payload: body });
    const count = async () => {
      const result = await api.clickhouse.query({ ...sql`SELECT count() AS n FROM performance_events WHERE service_name = ${service}`, format: 'JSONEachRow' });
      return Number((await result.json<{ n: number }>())[0]!.n);
    };
    // The first family's first sample again at the end: the family's lines are no longer one group.
    const lines = text.split('\n');
    const firstSample = lines.findIndex((l) => l && !l.startsWith('#'));
    const broken = [...lines, lines[firstSample]].join('\n');
    const refused = await post(broken);
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ error: 'invalid_exposition', field: 'body', message: expect.stringContaining(`line ${lines.length + 1}: metric family`) });
    expect(await count()).toBe(0);
    const stored = await post(text);
    expect(stored.statusCode).toBe(202);
    const { accepted, rejected } = stored.json();
    // Every sample stored, but NaN values (which the store refuses, each named).
    expect(accepted + rejected.length).toBe(parsed.samples.length);
    expect(rejected.every((r: { error: string }) => r.error.includes('NaN'))).toBe(true);
    expect(await count()).toBe(accepted);
  });
});
