import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SampleWriter } from '../../store/sample-writer';
import { sql } from '../../core/escape';
import { Scraper } from '../../workers/scraper';
import { startTestApi, TEST_KEYS, type TestApi } from '../helpers/api';
import { freePort } from '../helpers/servers';
import { eventually, uniqueName } from '../helpers/stack';

describe('Scraper against a real node-exporter and the module\'s own /metrics', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-scrape-'));
  const job = uniqueName('node');
  const selfJob = uniqueName('monitoring');
  const deadJob = uniqueName('dead');
  const relabeledJob = uniqueName('relabeled');
  let exporter: ChildProcess;
  let api: TestApi;
  let scraper: Scraper;
  let exporterPort: number;

  beforeAll(async () => {
    exporterPort = await freePort();
    exporter = spawn('prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${exporterPort}`, '--collector.disable-defaults', '--collector.loadavg', '--collector.meminfo', '--collector.cpu'], { stdio: 'ignore' });
    api = await startTestApi();
    const apiPort = await freePort();
    await api.app.listen({ port: apiPort, host: '127.0.0.1' });
    const deadPort = await freePort();
    writeFileSync(path.join(dir, 'targets.json'), JSON.stringify([{ targets: [`127.0.0.1:${deadPort}`], labels: { job: deadJob, team: 'sre' } }]));
    writeFileSync(
      path.join(dir, 'scrape.yaml'),
      [
        'service_discovery:',
        '  static:',
        '    services:',
        `      - name: ${job}`,
        `        endpoints: ["http://127.0.0.1:${exporterPort}/metrics"]`,
        '        labels: {tier: infra}',
        `      - name: ${selfJob}`,
        `        endpoints: ["http://127.0.0.1:${apiPort}/metrics"]`,
        '        api_key_role: service',
        '  file_sd:',
        `    files: ["${path.join(dir, 'targets.json')}"]`,
        // Prometheus' own scrape_configs in the same file: the exporter again, relabeled.
        'scrape_configs:',
        `  - job_name: ${relabeledJob}`,
        '    scrape_interval: 1s',
        '    scrape_timeout: 500ms',
        `    static_configs: [{targets: ["127.0.0.1:${exporterPort}"], labels: {rack: r1}}]`,
        '    relabel_configs:',
        "      - {source_labels: [__address__], regex: '(.*):\\d+', target_label: host}",
        '    metric_relabel_configs:',
        "      - {source_labels: [__name__], regex: 'node_load1|node_cpu_seconds_total', action: keep}",
        '      - {source_labels: [mode], target_label: cpu_mode}',
        '      - {regex: mode, action: labeldrop}',
      ].join('\n'),
    );
    const writer = new SampleWriter(api.clickhouse, api.config.clickhouse.database, { batchSize: 50_000, flushIntervalMs: 100, maxQueuedRows: 1_000_000, maxConcurrentInserts: 2 });
    scraper = new Scraper({
      configPath: path.join(dir, 'scrape.yaml'),
      intervalMs: 1000,
      timeoutMs: 500,
      writer,
      redis: api.redis,
      realtimeTtlSeconds: 60,
      tokens: { service: TEST_KEYS.service.token },
      log: () => undefined,
    });
    await scraper.start();
  });
  afterAll(async () => {
    scraper?.stop();
    exporter?.kill('SIGKILL');
    await api?.close();
  }, 120_000);

  const upOf = async (service: string, since = 0) =>
    (
      await (
        await api.clickhouse.query({
          ...sql`SELECT metric_value AS up FROM performance_events WHERE metric_name = 'up' AND service_name = ${service}
                  AND toUnixTimestamp64Milli(timestamp) >= ${since} ORDER BY timestamp`,
          format: 'JSONEachRow',
        })
      ).json<{ up: number }>()
    ).map((r) => r.up);
  const count = async (service: string, metric: string, minValue = Number.NEGATIVE_INFINITY) =>
    Number(
      (
        await (
          await api.clickhouse.query({
            ...sql`SELECT count() AS n FROM performance_events WHERE service_name = ${service} AND metric_name = ${metric} AND metric_value > ${minValue === Number.NEGATIVE_INFINITY ? -1e308 : minValue}`,
            format: 'JSONEachRow',
          })
        ).json<{ n: string }>()
      )[0]?.n,
    );

  it('stores the exporter\'s series with the job as service, target labels and up=1; a down target yields up=0 without blocking the others', async () => {
    await eventually(async () => {
      expect(await count(job, 'node_load1')).toBeGreaterThan(0);
      expect(await upOf(job)).toContain(1);
      expect(await upOf(selfJob)).toContain(1);
      expect(await upOf(deadJob)).toContain(0);
    }, 15_000);
    const [row] = await (
      await api.clickhouse.query({
        ...sql`SELECT instance_id, CAST(mapKeys(labels), 'Array(String)') AS k, mapValues(labels) AS v FROM performance_events WHERE service_name = ${job} AND metric_name = 'node_load1' LIMIT 1`,
        format: 'JSONEachRow',
      })
    ).json<{ instance_id: string; k: string[]; v: string[] }>();
    expect(row).toEqual({ instance_id: `127.0.0.1:${exporterPort}`, k: ['tier'], v: ['infra'] });
    // The module's /metrics counts its own scrapes, so from the second scrape on its request histogram has data.
    await eventually(async () =>
      expect(await count(selfJob, 'monitoring_http_request_duration_seconds_count')).toBeGreaterThan(0),
    );
    expect(await count(job, 'scrape_samples_scraped', 10)).toBeGreaterThan(0);
  });

  it("scrapes a scrape_configs job with its relabel_configs and metric_relabel_configs applied", async () => {
    const rows = await eventually(async () => {
      const result = await api.clickhouse.query({
        ...sql`SELECT metric_name, instance_id, CAST(labels, 'Map(String, String)') AS labels FROM performance_events WHERE service_name = ${relabeledJob} AND metric_name NOT IN ('up', 'scrape_duration_seconds', 'scrape_samples_scraped')`,
        format: 'JSONEachRow',
      });
      const found = await result.json<{ metric_name: string; instance_id: string; labels: Record<string, string> }>();
      expect(found.some((r) => r.metric_name === 'node_cpu_seconds_total')).toBe(true);
      return found;
    });
    expect([...new Set(rows.map((r) => r.metric_name))].sort()).toEqual(['node_cpu_seconds_total', 'node_load1']);
    for (const row of rows) {
      expect(row.instance_id).toBe(`127.0.0.1:${exporterPort}`);
      expect(row.labels).toMatchObject({ rack: 'r1', host: '127.0.0.1' });
      expect(row.labels).not.toHaveProperty('mode');
      if (row.metric_name === 'node_cpu_seconds_total') expect(row.labels.cpu_mode).toEqual(expect.any(String));
    }
  });

  it('turns up to 0 within one interval of the exporter stopping', async () => {
    exporter.kill('SIGKILL');
    const stoppedAt = Date.now();
    await eventually(async () => expect(await upOf(job, stoppedAt)).toContain(0), 4_000, 200);
    // This job's target (the relabeled job scrapes the same URL at its own offset).
    expect([...scraper.lastResults.values()].find((r) => r.job === job && r.url === `http://127.0.0.1:${exporterPort}/metrics`)).toMatchObject({ up: false });
  });

  it('re-reads the file_sd file when it changes', async () => {
    const newJob = uniqueName('added');
    writeFileSync(path.join(dir, 'targets.json'), JSON.stringify([{ targets: [`127.0.0.1:${await freePort()}`], labels: { job: newJob } }]));
    await eventually(async () => expect(await upOf(newJob)).toContain(0), 6_000, 200);
  });
});
