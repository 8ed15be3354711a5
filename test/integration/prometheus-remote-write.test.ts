import { execFile, spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { snappyDecode } from '../../core/remote-write';
import { migrate } from '../../store/migrations';
import { snappyLiterals, writeRequest } from '../../bench/remote-write-encode';
import { startTestApi, TEST_KEYS, type TestApi } from '../helpers/api';
import { startPrometheus, type RealPrometheus } from '../helpers/prometheus';
import { freePort, privateClickHouse } from '../helpers/servers';
import { eventually, testConfig, uniqueName } from '../helpers/stack';

const run = promisify(execFile);

/**
 * Remote write from a real Prometheus (Debian's 2.42, started here): it scrapes itself every second and
 * remote-writes into /api/v1/write with a service key; what it wrote is then queried from both — `promtool query`
 * against Prometheus' own API and against ours — and the answers must be equal. Bad bodies are refused as
 * Prometheus expects (400: not retried), without a key nothing is taken.
 */
describe('remote write from a real Prometheus', () => {
  let api: TestApi;
  let prometheus: RealPrometheus;
  let apiUrl: string;
  let nodeExporter: ChildProcess;
  const job = uniqueName('prom-rw');
  const nodeJob = uniqueName('node');

  beforeAll(async () => {
    api = await startTestApi();
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    apiUrl = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    // Prometheus scrapes itself and a real node-exporter (Debian's), and remote-writes both to us.
    const nodePort = await freePort();
    nodeExporter = spawn('prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${nodePort}`, '--collector.disable-defaults', '--collector.loadavg', '--collector.cpu', '--collector.meminfo'], { stdio: 'ignore' });
    prometheus = await startPrometheus((port) =>
      [
        'global: {scrape_interval: 1s, evaluation_interval: 1s}',
        'scrape_configs:',
        `  - job_name: ${job}`,
        `    static_configs: [{targets: ["127.0.0.1:${port}"]}]`,
        `  - job_name: ${nodeJob}`,
        `    static_configs: [{targets: ["127.0.0.1:${nodePort}"]}]`,
        'remote_write:',
        `  - url: ${apiUrl}/api/v1/write`,
        `    authorization: {credentials: ${TEST_KEYS.service.token}}`,
        '    queue_config: {batch_send_deadline: 500ms, min_backoff: 100ms, max_backoff: 1s}',
      ].join('\n'),
    );
  }, 60_000);

  afterAll(async () => {
    nodeExporter?.kill('SIGTERM');
    prometheus?.dispose();
    await api?.close();
  });

  const ours = () => `http://admin:${TEST_KEYS.admin.token}@${apiUrl.replace('http://', '')}`;
  const promtool = async (url: string, ...args: string[]) => JSON.parse((await run('promtool', ['query', ...args.slice(0, -1), '-o', 'json', url, args[args.length - 1]!])).stdout) as unknown;

  it('stores what Prometheus remote-writes, and answers promtool as Prometheus itself does', async () => {
    // Wait until ten seconds of scrapes have reached us.
    const started = Date.now();
    let seen = 0;
    while (Date.now() - started < 45_000) {
      const result = await api.app.inject({ method: 'GET', url: `/api/v1/query?query=${encodeURIComponent(`count_over_time(up{job="${job}"}[1m])`)}`, headers: { authorization: `Bearer ${TEST_KEYS.admin.token}` } });
      seen = Number(result.json().data?.result?.[0]?.value?.[1] ?? 0);
      if (seen >= 10) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    if (seen < 10) throw new Error(`remote write did not arrive (${seen} samples of up); Prometheus said:\n${prometheus.log()}`);
    // An instant a few seconds back: every sample before it has been sent (batches go out every 500 ms).
    const at = String(Math.floor(Date.now() / 1000) - 3);
    const queries = [
      `up{job="${job}"}`,
      `prometheus_build_info{job="${job}"}`,
      `sum by (job) (rate(prometheus_http_requests_total{job="${job}"}[5s]))`,
      `count by (job) (prometheus_tsdb_head_series{job="${job}"} > 0)`,
      `max_over_time(scrape_samples_scraped{job="${job}"}[10s])`,
      `label_replace(up{job="${job}"}, "host", "$1", "instance", "(.*):.*")`,
      // node-exporter's series, scraped by Prometheus: the usual CPU-busy and memory expressions.
      `100 * (1 - avg by (job) (rate(node_cpu_seconds_total{job="${nodeJob}", mode="idle"}[5s])))`,
      `node_memory_MemAvailable_bytes{job="${nodeJob}"} / node_memory_MemTotal_bytes{job="${nodeJob}"}`,
      `node_load1{job="${nodeJob}"}`,
    ];
    for (const query of queries) {
      const theirs = await promtool(prometheus.url, 'instant', `--time=${at}`, query);
      const mine = await promtool(ours(), 'instant', `--time=${at}`, query);
      expect({ query, result: mine }).toEqual({ query, result: theirs });
      expect((theirs as unknown[]).length).toBeGreaterThan(0);
    }
    const rangeArgs = [`--start=${Number(at) - 8}`, `--end=${at}`, '--step=1s'];
    const range = `sum by (job) (up{job="${job}"})`;
    expect(await promtool(ours(), 'range', ...rangeArgs, range)).toEqual(await promtool(prometheus.url, 'range', ...rangeArgs, range));
  }, 90_000);

  it('refuses what is not a remote-write body (400, not retried) and takes nothing without a key', async () => {
    const post = (payload: Buffer, headers: Record<string, string>) =>
      api.app.inject({ method: 'POST', url: '/api/v1/write', payload, headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', ...headers } });
    const auth = { authorization: `Bearer ${TEST_KEYS.service.token}` };
    const garbage = await post(Buffer.from('not snappy at all'), auth);
    expect(garbage.statusCode).toBe(400);
    expect(garbage.json().message).toMatch(/not a remote-write request: snappy/);
    // A snappy block whose protobuf lies about a field's length.
    const lying = await post(Buffer.from([2, 4, 0x0a, 0x7f]), auth);
    expect(lying.statusCode).toBe(400);
    expect(lying.json().message).toMatch(/protobuf/);
    expect((await post(Buffer.from([0]), { ...auth, 'content-encoding': 'gzip' })).statusCode).toBe(415);
    expect((await post(Buffer.from([0]), {})).statusCode).toBe(401);
    // An empty WriteRequest (Prometheus' keep-alive): nothing to store, no error.
    expect((await post(Buffer.from([0]), auth)).statusCode).toBe(204);
    expect(snappyDecode(Buffer.from([0]), 10)).toHaveLength(0);
  });

  it('loses nothing through a ClickHouse outage: 503 with Retry-After meanwhile, Prometheus retries, every sample stored after', async () => {
    const clickhouse = await privateClickHouse();
    const overrides = { CLICKHOUSE_URL: clickhouse.url, CLICKHOUSE_CLUSTER: '', MONITORING_QUERY_TIMEOUT: '3s' };
    await migrate(testConfig(overrides));
    const outageApi = await startTestApi(overrides);
    await outageApi.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(outageApi.app.server.address() as AddressInfo).port}`;
    const outageJob = uniqueName('rw-outage');
    const writer = await startPrometheus((port) =>
      [
        'global: {scrape_interval: 1s}',
        'scrape_configs:',
        `  - job_name: ${outageJob}`,
        `    static_configs: [{targets: ["127.0.0.1:${port}"]}]`,
        'remote_write:',
        `  - url: ${url}/api/v1/write`,
        `    authorization: {credentials: ${TEST_KEYS.service.token}}`,
        '    queue_config: {batch_send_deadline: 500ms, min_backoff: 100ms, max_backoff: 1s}',
      ].join('\n'),
    );
    const count = async (base: string, atSeconds: number) => {
      const result = (await promtool(base, 'instant', `--time=${atSeconds}`, `count_over_time(up{job="${outageJob}"}[2m])`)) as Array<{ value: [number, string] }>;
      return Number(result[0]?.value[1] ?? 0);
    };
    const ourBase = `http://admin:${TEST_KEYS.admin.token}@${url.replace('http://', '')}`;
    try {
      await eventually(async () => expect(await count(ourBase, Math.floor(Date.now() / 1000))).toBeGreaterThanOrEqual(3), 30_000, 500);
      clickhouse.stop();
      // While storage is down a remote-write request is answered 503 with Retry-After (Prometheus retries it).
      const body = Buffer.from(snappyLiterals(writeRequest([{ labels: { __name__: 'probe', job: outageJob }, samples: [[Date.now(), 1]] }])));
      const down = await outageApi.app.inject({ method: 'POST', url: '/api/v1/write', payload: body, headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', authorization: `Bearer ${TEST_KEYS.service.token}` } });
      expect(down.statusCode).toBe(503);
      expect(Number(down.headers['retry-after'])).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 8_000));
      clickhouse.start();
      // Everything Prometheus scraped up to a moment after the restart reaches us: the same count of `up` samples.
      const at = Math.floor(Date.now() / 1000) + 2;
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const theirs = await count(writer.url, at);
      await eventually(async () => expect(await count(ourBase, at)).toBe(theirs), 60_000, 1_000);
      expect(theirs).toBeGreaterThan(10);
      // Prometheus did meet the outage: it retried samples.
      const retried = (await promtool(writer.url, 'instant', 'sum(prometheus_remote_storage_samples_retried_total)')) as Array<{ value: [number, string] }>;
      expect(Number(retried[0]?.value[1] ?? 0)).toBeGreaterThan(0);
    } finally {
      writer.dispose();
      await outageApi.close();
      clickhouse.dispose();
    }
  }, 150_000);
});
