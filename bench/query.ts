/**
 * bench:query — PromQL range queries as a Grafana dashboard asks them, answered by our query API (ClickHouse + the
 * in-memory evaluator) and by Prometheus itself (Debian's 2.42, installed like the project's services), on the same
 * series in the same run: both receive the same remote-write requests (Prometheus with its remote-write receiver),
 * then each query runs BENCH_QUERY_RUNS times against each, 4 at a time; p50/p95 and the ratio of our p95 to
 * Prometheus'. Answers are compared too (every value equal within 1e-6), so a fast wrong answer cannot pass.
 * BENCH_QUERY_SERIES (default 2,000) sets the fleet; 50 minutes of 15-second samples. Appends to BENCHMARKS.md.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../core/config';
import { migrate } from '../store/migrations';
import { PROJECT_ROOT } from '../store/paths';
import { freePort, privateServerEnv, services } from '../test/helpers/servers';
import { appendBenchmark } from './report';
import { snappyLiterals, writeRequest, type EncodedSeries } from './remote-write-encode';

const TOKEN = 'bench-query-admin-token-0123456789';
const SERIES = Number(process.env.BENCH_QUERY_SERIES ?? 2000);
const RUNS = Number(process.env.BENCH_QUERY_RUNS ?? 20);
const CONCURRENCY = 4;
const STEP_MS = 15_000;
const SPAN_MS = 50 * 60_000;
const log = (message: string) => process.stderr.write(`[bench:query] ${message}\n`);
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;

/** fleet builds the bench's series: per service and instance a CPU gauge, a request counter by code and a latency histogram. */
function fleet(nowMs: number): EncodedSeries[] {
  const perInstance = 1 + 2 + 6; // cpu, requests{code=200|500}, latency buckets (5 + Inf)
  const instances = Math.max(1, Math.round(SERIES / perInstance));
  const out: EncodedSeries[] = [];
  const start = Math.floor((nowMs - SPAN_MS) / STEP_MS) * STEP_MS;
  const times = Array.from({ length: SPAN_MS / STEP_MS }, (_, k) => start + k * STEP_MS);
  for (let i = 0; i < instances; i++) {
    const service = `svc-${String(i % 20).padStart(2, '0')}`;
    const base = { job: service, instance: `${service}-${Math.floor(i / 20)}:9100` };
    // + i / 1000: no two instances tie. Prometheus breaks topk's ties by the order of its inner result, a Go map's
    // (random), so with ties neither engine's pick would be "the" answer.
    out.push({ labels: { __name__: 'bench_cpu_percent', ...base }, samples: times.map((t, k) => [t, 20 + ((i * 7 + k * 3) % 60) + Math.sin(k / 9) * 5 + i / 1000]) });
    for (const [code, share] of [['200', 0.98], ['500', 0.02]] as const) {
      out.push({ labels: { __name__: 'bench_requests_total', ...base, code }, samples: times.map((t, k) => [t, Math.floor(k * (50 + (i % 13)) * share * 15)]) });
    }
    const bounds = ['0.05', '0.1', '0.25', '0.5', '1', '+Inf'];
    bounds.forEach((le, b) => {
      const cumulative = [0.5, 0.8, 0.93, 0.98, 0.995, 1][b]!;
      out.push({ labels: { __name__: 'bench_latency_seconds_bucket', ...base, le }, samples: times.map((t, k) => [t, Math.floor(k * 100 * cumulative)]) });
    });
  }
  return out;
}

async function waitFor(url: string, headers: Record<string, string> = {}): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await fetch(url, { headers }).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

async function main(): Promise<void> {
  // `npm run bench:query` installs the baseline (scripts/services.sh install: Debian's prometheus) before this runs.
  try {
    execFileSync('prometheus', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('prometheus is not installed: run the bench with `npm run bench:query`, which installs it (apt-get install prometheus); there is no figure without the baseline');
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-bench-query-'));
  const [apiPort, promPort] = await Promise.all([freePort(), freePort()]);
  const env = await privateServerEnv(dir);
  let api: ChildProcess | undefined;
  let prometheus: ChildProcess | undefined;
  try {
    log(`starting private ClickHouse and Redis, the API and Prometheus in ${dir}`);
    services(['start', 'clickhouse', 'redis'], env);
    const keysFile = path.join(dir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [{ name: 'bench', token: TOKEN, role: 'admin' }] }));
    const serverEnv = { ...env, CLICKHOUSE_DATABASE: 'bench_query', API_PORT: String(apiPort), MONITORING_API_KEYS_FILE: keysFile, MONITORING_MAX_BODY_BYTES: String(64 * 1024 * 1024), MONITORING_RATE_LIMIT_PER_MINUTE: '1000000' };
    await migrate(loadConfig(serverEnv));
    api = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'api', 'server.js')], { env: { ...process.env, ...serverEnv }, stdio: 'ignore' });
    writeFileSync(path.join(dir, 'prometheus.yml'), 'global: {scrape_interval: 1m}\n');
    prometheus = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'prom')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--web.enable-remote-write-receiver'], { stdio: 'ignore' });
    const auth = { authorization: `Bearer ${TOKEN}` };
    await Promise.all([waitFor(`http://127.0.0.1:${apiPort}/healthz`), waitFor(`http://127.0.0.1:${promPort}/-/ready`)]);
    const version = /version ([\d.]+)/.exec(execFileSync('prometheus', ['--version'], { encoding: 'utf8' }))?.[1] ?? '';

    const nowMs = Date.now();
    const series = fleet(nowMs);
    const points = series.reduce((n, s) => n + s.samples.length, 0);
    log(`writing ${series.length} series × ${series[0]!.samples.length} points = ${points} samples to both (remote write)`);
    for (let k = 0; k < series.length; k += 100) {
      const body = Buffer.from(snappyLiterals(writeRequest(series.slice(k, k + 100))));
      const headers = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
      const [ours, theirs] = await Promise.all([
        fetch(`http://127.0.0.1:${apiPort}/api/v1/write`, { method: 'POST', headers: { ...headers, ...auth }, body }),
        fetch(`http://127.0.0.1:${promPort}/api/v1/write`, { method: 'POST', headers, body }),
      ]);
      if (ours.status !== 204 || theirs.status !== 204) throw new Error(`remote write answered ${ours.status} (ours) and ${theirs.status} (Prometheus): ${await theirs.text()}`);
      process.stderr.write(`\r  ${Math.min(k + 100, series.length)}/${series.length}`);
    }
    process.stderr.write('\n');

    const end = Math.floor(nowMs / 1000) - 60;
    const start = end - 45 * 60;
    const queries = [
      ['selector, one service', 'bench_cpu_percent{job="svc-03"}'],
      ['avg by service', 'avg by (job) (bench_cpu_percent)'],
      ['rate, sum by service', 'sum by (job) (rate(bench_requests_total[5m]))'],
      ['error ratio', 'sum by (job) (rate(bench_requests_total{code="500"}[5m])) / sum by (job) (rate(bench_requests_total[5m]))'],
      ['histogram_quantile p95', 'histogram_quantile(0.95, sum by (le, job) (rate(bench_latency_seconds_bucket[5m])))'],
      ['topk of instances', 'topk(5, max by (instance) (bench_cpu_percent))'],
    ] as const;
    const ask = async (base: string, headers: Record<string, string>, query: string) => {
      const started = performance.now();
      const response = await fetch(`${base}/api/v1/query_range`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query, start: String(start), end: String(end), step: '15' }).toString(),
      });
      const body = (await response.json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } };
      if (body.status !== 'success') throw new Error(`${base}: ${query}: ${body.error}`);
      return { ms: performance.now() - started, result: body.data.result };
    };
    const rows: string[] = [];
    const figures: Record<string, number> = {};
    let mismatches = 0;
    const allOurs: number[] = [];
    const allTheirs: number[] = [];
    for (const [name, query] of queries) {
      // Same answers first (sorted by labels), then the timing.
      const key = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort());
      const [a, b] = await Promise.all([ask(`http://127.0.0.1:${apiPort}`, auth, query), ask(`http://127.0.0.1:${promPort}`, {}, query)]);
      const theirsByKey = new Map(b.result.map((r) => [key(r.metric), r.values]));
      let differs = a.result.length !== b.result.length;
      const why: string[] = differs ? [`${a.result.length} series here, ${b.result.length} in Prometheus`] : [];
      for (const r of a.result) {
        const other = theirsByKey.get(key(r.metric));
        const at = other ? r.values.findIndex(([t, v], i) => t !== other[i]?.[0] || Math.abs(Number(v) - Number(other[i]![1])) > 1e-6 * Math.max(1, Math.abs(Number(v)))) : 0;
        if (!other || other.length !== r.values.length || at >= 0) {
          differs = true;
          if (why.length < 3) why.push(`${key(r.metric)}: ${other ? `${r.values.length} vs ${other.length} points, first apart at ${JSON.stringify(r.values[at])} vs ${JSON.stringify(other[at])}` : 'not in Prometheus'}`);
        }
      }
      if (differs) {
        mismatches++;
        log(`${name}: answers differ — ${why.join('; ')}`);
      }
      const timings: Record<'ours' | 'theirs', number[]> = { ours: [], theirs: [] };
      for (const [who, base, headers] of [['ours', `http://127.0.0.1:${apiPort}`, auth], ['theirs', `http://127.0.0.1:${promPort}`, {}]] as const) {
        let next = 0;
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next++ < RUNS) timings[who].push((await ask(base, headers, query)).ms);
          }),
        );
      }
      allOurs.push(...timings.ours);
      allTheirs.push(...timings.theirs);
      const [op50, op95, tp50, tp95] = [percentile(timings.ours, 50), percentile(timings.ours, 95), percentile(timings.theirs, 50), percentile(timings.theirs, 95)];
      log(`${name}: ours p50 ${op50.toFixed(1)} / p95 ${op95.toFixed(1)} ms, Prometheus p50 ${tp50.toFixed(1)} / p95 ${tp95.toFixed(1)} ms, ${a.result.length} series${differs ? ', ANSWERS DIFFER' : ''}`);
      rows.push(`| ${name} | \`${query}\` | ${a.result.length} | ${op50.toFixed(1)} / ${op95.toFixed(1)} | ${tp50.toFixed(1)} / ${tp95.toFixed(1)} | ${(op95 / tp95).toFixed(2)} | ${differs ? 'no' : 'yes'} |`);
    }
    figures.ours_p95_ms = Number(percentile(allOurs, 95).toFixed(1));
    figures.prometheus_p95_ms = Number(percentile(allTheirs, 95).toFixed(1));
    figures.ratio = Number((figures.ours_p95_ms / figures.prometheus_p95_ms).toFixed(2));
    const result = `RESULT ours_p95_ms=${figures.ours_p95_ms} prometheus_p95_ms=${figures.prometheus_p95_ms} ratio=${figures.ratio} answers_differ=${mismatches}`;
    console.log(result);
    appendBenchmark(
      'bench:query',
      `BENCH_QUERY_SERIES=${SERIES} BENCH_QUERY_RUNS=${RUNS} npm run bench:query`,
      [
        `${series.length} series (${points} samples, 15 s apart over 50 minutes) remote-written to both; each query_range over 45 minutes at a 15 s step (181 points), ${RUNS} times, ${CONCURRENCY} at a time, as Grafana POSTs it. Baseline: Prometheus ${version} (Debian), same machine, same run.`,
        '',
        '| query | expression | series | ours p50 / p95 ms | Prometheus p50 / p95 ms | p95 ratio | same answer |',
        '| --- | --- | --- | --- | --- | --- | --- |',
        ...rows,
        '',
        `All queries: our p95 ${figures.ours_p95_ms} ms, Prometheus' ${figures.prometheus_p95_ms} ms (ratio ${figures.ratio}).`,
      ],
      result,
    );
    if (mismatches > 0) throw new Error(`${mismatches} queries answered differently from Prometheus`);
  } finally {
    api?.kill('SIGTERM');
    prometheus?.kill('SIGTERM');
    services(['stop', 'clickhouse', 'redis'], env);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
