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

  it('turns up to 0 within one interval of the exporter stopping', async () => {
    exporter.kill('SIGKILL');
    const stoppedAt = Date.now();
    await eventually(async () => expect(await upOf(job, stoppedAt)).toContain(0), 4_000, 200);
    expect(scraper.lastResults.get(`http://127.0.0.1:${exporterPort}/metrics`)).toMatchObject({ up: false });
  });

  it('re-reads the file_sd file when it changes', async () => {
    const newJob = uniqueName('added');
    writeFileSync(path.join(dir, 'targets.json'), JSON.stringify([{ targets: [`127.0.0.1:${await freePort()}`], labels: { job: newJob } }]));
    await eventually(async () => expect(await upOf(newJob)).toContain(0), 6_000, 200);
  });
});
