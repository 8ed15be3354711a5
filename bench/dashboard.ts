/**
 * bench:dashboard — 100 concurrent users (autocannon, one API key each: 50 admins, 50 viewers of 2 services) on
 * the dashboard and performance endpoints for 60 s while live ingestion runs (20 services × 3 instances pushing
 * system and application metrics every second), against an API process on private ClickHouse and Redis servers
 * holding the last hour of those services' samples. Baseline in the same run: the same load for 30 s with answers
 * not shared between callers (MONITORING_DASHBOARD_CACHE=0s), i.e. every request queries Redis and ClickHouse.
 * Prints p50/p95/p99 and errors of each, appends them to BENCHMARKS.md, and ends with
 * `RESULT p95_ms=… p99_ms=… errors=… baseline_p95_ms=…`. BENCH_DURATION (s, default 60) shortens a trial run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { migrate } from '../store/migrations';
import { PROJECT_ROOT } from '../store/paths';
import type { ApiKey } from '../core/auth';
import { loadConfig } from '../core/config';
import { freePort, privateServerEnv, services } from '../test/helpers/servers';
import { appendBenchmark } from './report';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 60);
const BASELINE_S = Math.max(10, Math.round(DURATION_S / 2));
const USERS = 100;
const SERVICES = Array.from({ length: 20 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
const INSTANCES = 3;
const INGEST_TOKEN = 'bench-dashboard-service-token-0123456789';
const log = (message: string) => process.stderr.write(`[bench:dashboard] ${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1))] ?? NaN;

/** The users' keys: half admins (every service), half viewers of two services each. */
const USER_KEYS: ApiKey[] = Array.from({ length: USERS }, (_, i) =>
  i % 2 === 0
    ? { name: `admin-${i}`, token: `bench-admin-${i}-token-0123456789`, role: 'admin' }
    : { name: `viewer-${i}`, token: `bench-viewer-${i}-token-0123456789`, role: 'viewer', services: [SERVICES[i % 20]!, SERVICES[(i + 7) % 20]!] },
);

/** envelopes are one push of every service and instance at `atMs`: system and application metrics. */
function envelopes(atMs: number, k: number): unknown[] {
  const timestamp = new Date(atMs).toISOString();
  return SERVICES.flatMap((service, s) =>
    Array.from({ length: INSTANCES }, (_, i) => [
      { system_metrics: { timestamp, service_name: service, instance_id: `${service}-${i}`, metrics: { cpu_usage_percent: 40 + ((s * 7 + i * 3 + k) % 50), memory_usage_percent: 55 + ((s + k) % 30), disk_usage_percent: 45 } } },
      {
        application_metrics: {
          timestamp,
          service_name: service,
          instance_id: `${service}-${i}`,
          metrics: { requests_per_second: 20 + ((s + i + k) % 15), response_time_p50_ms: 15 + (k % 5), response_time_p95_ms: 40 + ((s + k) % 20), error_rate_percent: 0.1 + ((k + s) % 4) / 10, active_users: 100 + s },
        },
      },
    ]).flat(),
  );
}

interface LoadFigures {
  requests: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  errors: number;
  non2xx: number;
  rps: number;
}

/** load runs the users against the API for `seconds`, measuring every response's latency. */
async function load(url: string, seconds: number): Promise<LoadFigures> {
  const latencies: number[] = [];
  let next = 0;
  const paths = [
    '/api/v1/public/monitoring/dashboard',
    '/api/v1/public/monitoring/performance',
    '/api/v1/public/monitoring/dashboard',
    '/api/v1/public/monitoring/performance?from=now-15m&metric=cpu_usage_percent,requests_per_second',
    '/api/v1/public/monitoring/dashboard?type=services',
    '/api/v1/public/monitoring/performance?from=now-24h',
  ];
  const options: autocannon.Options = {
    url,
    connections: USERS,
    duration: seconds,
    requests: paths.map((p) => ({
      method: 'GET' as const,
      path: p,
      // The context is the connection's: each simulated user keeps its own key.
      setupRequest: (request: autocannon.Request, context: object) => {
        const user = context as { token?: string };
        user.token ??= USER_KEYS[next++ % USERS]!.token;
        return { ...request, headers: { ...request.headers, authorization: `Bearer ${user.token}` } };
      },
    })),
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (err, answer) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(answer)));
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
  return {
    requests: result.requests.total,
    p50_ms: Number(percentile(latencies, 50).toFixed(1)),
    p95_ms: Number(percentile(latencies, 95).toFixed(1)),
    p99_ms: Number(percentile(latencies, 99).toFixed(1)),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    rps: Math.round(result.requests.average),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-bench-dashboard-'));
  const env = await privateServerEnv(dir);
  const children: ChildProcess[] = [];
  try {
    log(`starting private ClickHouse and Redis in ${dir}`);
    services(['start', 'clickhouse', 'redis'], env);
    writeFileSync(path.join(dir, 'keys.json'), JSON.stringify({ keys: [{ name: 'ingest', token: INGEST_TOKEN, role: 'service' }, ...USER_KEYS] }));
    const stackEnv = { ...env, CLICKHOUSE_DATABASE: 'bench_dashboard', MONITORING_API_KEYS_FILE: path.join(dir, 'keys.json'), TEMPORAL_ADDRESS: '127.0.0.1:1' };
    await migrate(loadConfig(stackEnv));

    const startApi = async (extra: Record<string, string>) => {
      const port = await freePort();
      const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'api', 'server.js')], { env: { ...process.env, ...stackEnv, ...extra, API_PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
      children.push(child);
      const url = `http://127.0.0.1:${port}`;
      for (let i = 0; !(await fetch(`${url}/healthz`).then((r) => r.ok, () => false)); i++) {
        if (i > 300) throw new Error('the API did not start');
        await sleep(100);
      }
      return { url, stop: () => child.kill('SIGTERM') };
    };
    const push = async (url: string, body: unknown[]) => {
      const response = await fetch(`${url}/api/v1/internal/monitoring/metrics`, { method: 'POST', headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (response.status !== 202) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
    };

    // The last hour of every series, every 15 s, through the API (so the rollups fill as in production).
    const history = await startApi({});
    const now = Date.now();
    log('filling the last hour: 20 services × 3 instances × 8 metrics every 15 s');
    for (let k = 240; k > 0; k -= 20) {
      const body: unknown[] = [];
      for (let j = 0; j < 20; j++) body.push(...envelopes(now - (k - j) * 15_000, k - j));
      await push(history.url, body);
      process.stderr.write(`\r  ${240 - k + 20}/240 pushes`);
    }
    process.stderr.write('\n');
    history.stop();

    const run = async (label: string, extra: Record<string, string>, seconds: number) => {
      const api = await startApi(extra);
      let ingesting = true;
      let pushes = 0;
      const ingest = (async () => {
        for (let k = 0; ingesting; k++) {
          await push(api.url, envelopes(Date.now(), k));
          pushes++;
          await sleep(1000);
        }
      })();
      log(`${label}: ${USERS} users for ${seconds} s with live ingestion`);
      try {
        const figures = await load(api.url, seconds);
        log(`${label}: ${figures.requests} requests (${figures.rps}/s), p50 ${figures.p50_ms} ms, p95 ${figures.p95_ms} ms, p99 ${figures.p99_ms} ms, errors ${figures.errors}, non-2xx ${figures.non2xx}; ${pushes} ingest pushes`);
        return { ...figures, pushes };
      } finally {
        ingesting = false;
        await ingest;
        api.stop();
      }
    };
    const baseline = await run('baseline (answers not shared)', { MONITORING_DASHBOARD_CACHE: '0s' }, BASELINE_S);
    const shipped = await run('shipped (answers shared 2 s per scope)', {}, DURATION_S);

    const errors = shipped.errors + shipped.non2xx;
    const result = `RESULT p95_ms=${shipped.p95_ms} p99_ms=${shipped.p99_ms} errors=${errors} baseline_p95_ms=${baseline.p95_ms} ratio_vs_baseline=${(baseline.p95_ms / Math.max(0.1, shipped.p95_ms)).toFixed(2)}`;
    console.log(result);
    appendBenchmark(
      'bench:dashboard',
      'npm run bench:dashboard',
      [
        `${USERS} users (one key each: 50 admins, 50 viewers of 2 services), dashboard and performance endpoints in turn, live ingestion of 20 services × 3 instances every second; 1 hour of history.`,
        '',
        '| run | duration | requests | req/s | p50 | p95 | p99 | errors + non-2xx |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |',
        `| shipped (answers shared 2 s per scope) | ${DURATION_S} s | ${shipped.requests} | ${shipped.rps} | ${shipped.p50_ms} ms | **${shipped.p95_ms} ms** | ${shipped.p99_ms} ms | ${errors} |`,
        `| baseline: every request reads Redis and ClickHouse (MONITORING_DASHBOARD_CACHE=0s) | ${BASELINE_S} s | ${baseline.requests} | ${baseline.rps} | ${baseline.p50_ms} ms | ${baseline.p95_ms} ms | ${baseline.p99_ms} ms | ${baseline.errors + baseline.non2xx} |`,
      ],
      result,
    );
  } finally {
    for (const child of children) child.kill('SIGTERM');
    services(['stop', 'clickhouse', 'redis'], env);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error('[bench:dashboard] failed:', err);
  process.exit(1);
});
