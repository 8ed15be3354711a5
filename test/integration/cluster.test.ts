import { createClient } from '@clickhouse/client';
import { migrate } from '../../store/migrations';
import { sql } from '../../core/escape';
import { bearer, startTestApi, type TestApi } from '../helpers/api';
import { privateClickHouseCluster } from '../helpers/servers';
import { testConfig, uniqueName } from '../helpers/stack';

/**
 * ClickHouse as a cluster (issue 7, scenario 6; DESIGN.md's cluster path without replication, which the embedded
 * engine cannot host — see README "ClickHouse on a cluster"): two 26.9 engines as the shards of one cluster, the
 * module's tables `Distributed` over their `_local` parts, and the same SQL. Samples pushed through the API land on
 * both shards, exactly once, and read back whole — raw, rolled up and on the dashboard; a whole shard down is a 503
 * and a degraded dashboard, and the retries store every sample once. (`npm run test:cluster` runs the ingestion and
 * query suites on such a cluster.)
 */
describe('ClickHouse as two shards behind Distributed tables', () => {
  let cluster: Awaited<ReturnType<typeof privateClickHouseCluster>>;
  let api: TestApi;
  const service = uniqueName('sharded');

  beforeAll(async () => {
    cluster = await privateClickHouseCluster();
    await migrate(testConfig(cluster.env));
    api = await startTestApi(cluster.env);
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    cluster?.dispose();
  });

  it('spreads samples over both shards, stores each once, and answers the queries whole', async () => {
    const now = Date.now();
    const samples = Array.from({ length: 1_000 }, (_, i) => ({
      name: 'cpu_usage_percent',
      value: i,
      labels: { service, instance: `${service}-${i % 50}` },
      timestamp: now - 60_000 + (i % 60) * 1_000,
    }));
    const pushed = await api.app.inject({ method: 'POST', url: '/api/v1/internal/monitoring/metrics', headers: { ...bearer('service'), 'idempotency-key': 'cluster-1' }, payload: { samples } });
    expect(pushed.statusCode).toBe(202);
    expect(pushed.json()).toMatchObject({ accepted: 1_000 });

    // Each shard's local table holds a part; together exactly the samples sent.
    const database = testConfig(cluster.env).clickhouse.database;
    const perShard: number[] = [];
    for (const url of cluster.shardUrls) {
      const shard = createClient({ url, database });
      const result = await shard.query({ ...sql`SELECT count() AS n FROM performance_events_local WHERE service_name = ${service}`, format: 'JSONEachRow' });
      perShard.push(Number((await result.json<{ n: string }>())[0]!.n));
      await shard.close();
    }
    const total = await api.clickhouse.query({
      ...sql`SELECT count() AS n, uniqExact(metric_value) AS distinct_values, sum(metric_value) AS s FROM performance_events WHERE service_name = ${service}`,
      format: 'JSONEachRow',
    });
    const [{ n, distinct_values, s }] = await total.json<{ n: string; distinct_values: string; s: number }>();
    const rollup = await api.clickhouse.query({
      ...sql`SELECT countMerge(samples) AS n, maxMerge(max_value) AS max FROM performance_rollup_1m WHERE service_name = ${service} AND metric_name = 'cpu_usage_percent'`,
      format: 'JSONEachRow',
    });
    const [rolled] = await rollup.json<{ n: string; max: number }>();
    const performance = await api.app.inject({ url: `/api/v1/public/monitoring/performance?service=${service}&metric=cpu_usage_percent&from=now-10m&stats=max`, headers: bearer('admin') });
    expect(performance.statusCode).toBe(200);
    const series = performance.json().series as Array<{ max: number[] }>;
    process.stderr.write(`[cluster] 1,000 samples through the API: shards hold ${perShard.join(' + ')}, Distributed reads ${n} (${distinct_values} distinct), the 1-minute rollup counts ${rolled!.n}\n`);

    expect(perShard.every((c) => c > 0)).toBe(true);
    expect(perShard[0]! + perShard[1]!).toBe(1_000);
    expect([Number(n), Number(distinct_values), Number(s)]).toEqual([1_000, 1_000, (999 * 1_000) / 2]);
    expect([Number(rolled!.n), Number(rolled!.max)]).toEqual([1_000, 999]);
    expect(Math.max(...series.flatMap((x) => x.max))).toBe(999);
  });

  it('answers 503 while a whole shard is down, the dashboard says storage is degraded, and the retries store every sample once', async () => {
    const down = `${service}-down`;
    const now = Date.now();
    const samples = Array.from({ length: 200 }, (_, i) => ({ name: 'cpu_usage_percent', value: i, labels: { service: down, instance: `${down}-${i % 20}` }, timestamp: now - 30_000 + i * 100 }));
    const push = () => api.app.inject({ method: 'POST', url: '/api/v1/internal/monitoring/metrics', headers: { ...bearer('service'), 'idempotency-key': 'shard-down-1' }, payload: { samples } });
    cluster.shards[1]!.stop();
    try {
      const refused = await push();
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBeDefined();
      const dashboard = await api.app.inject({ url: `/api/v1/public/monitoring/dashboard?service=${down}`, headers: bearer('admin') });
      expect(dashboard.statusCode).toBe(200);
      expect(dashboard.json().dashboard_data.degraded).toContain('storage');
    } finally {
      cluster.shards[1]!.start();
    }
    // A client that honours Retry-After sends the same body under the same key until it is accepted.
    let accepted;
    for (let attempt = 0; attempt < 60; attempt++) {
      accepted = await push();
      if (accepted.statusCode === 202) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    expect(accepted?.statusCode).toBe(202);
    const [stored] = await (
      await api.clickhouse.query({ ...sql`SELECT count() AS n, uniqExact(metric_value) AS distinct_values FROM performance_events WHERE service_name = ${down}`, format: 'JSONEachRow' })
    ).json<{ n: number; distinct_values: number }>();
    process.stderr.write(`[cluster] a shard down: 503 and a degraded dashboard; after it returned, ${stored!.n} of 200 stored (${stored!.distinct_values} distinct)\n`);
    expect([Number(stored!.n), Number(stored!.distinct_values)]).toEqual([200, 200]);
  }, 120_000);
});
