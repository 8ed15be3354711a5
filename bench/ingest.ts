/**
 * bench:ingest — how fast samples go from a client's socket to ClickHouse through the API, against the raw
 * ClickHouse insert ceiling and VictoriaMetrics, measured in the same run on the same samples.
 *   raw     : the samples as TabSeparated, 100k-row inserts straight into performance_events (materialized views on)
 *   json    : POST /metrics {"samples": [...]} bodies of 10k samples, 4 connections, answered after the insert
 *   otlp    : the same as OTLP/HTTP protobuf ExportMetricsServiceRequests to POST /v1/metrics
 *   text    : the same as Prometheus text
 *   victoriametrics : the same Prometheus text into Debian's victoria-metrics /api/v1/import/prometheus, then flushed
 *                     (installed by `npm run bench:ingest` like the project's services; the bench fails without it)
 *   latency : ingest-to-queryable of single probes while a background client keeps pushing
 *   storage : bytes per sample on disk after the raw phase's merges, in today's schema and in the retired 18.16-era
 *             schema (DateTime + UInt16 ms, Nested labels, plain String, no codecs) on the same engine and samples
 * BENCH_SAMPLES (default 1.2 M) sets the size. Appends the figures to BENCHMARKS.md.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createClickHouse } from '../store/clients';
import { migrate } from '../store/migrations';
import { PROJECT_ROOT } from '../store/paths';
import { PERFORMANCE_EVENT_COLUMNS } from '../core/sample-row';
import { loadConfig } from '../core/config';
import { freePort, privateServerEnv, services } from '../test/helpers/servers';
import { chunk, envelopesBody, jsonBody, promBody, scrapeSamples, SERIES, tsvBody } from './data';
import { otlpMetricsBody } from './otlp-encode';
import { appendBenchmark } from './report';

const run = promisify(execFile);
const TOKEN = 'bench-service-token-0123456789';
// Many services push at once in production; 8 connections of 10k-sample bodies stand for them.
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const log = (message: string) => process.stderr.write(`[bench:ingest] ${message}\n`);
const rate = (n: number, seconds: number) => Math.round(n / seconds);

/** cpuSeconds reads a process's user+system CPU time from /proc (Linux), to split a phase's cost between processes. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;

async function main(): Promise<void> {
  const target = Number(process.env.BENCH_SAMPLES ?? 1_200_000);
  const scrapes = Math.max(1, Math.round(target / SERIES));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-bench-'));
  const [apiPort, vmPort] = await Promise.all([freePort(), freePort()]);
  // Temporal is not started here: only ClickHouse and Redis serve ingestion.
  const env = { ...(await privateServerEnv(dir)), MONITORING_MAX_QUEUED_ROWS: '2000000' };
  let vm: ReturnType<typeof spawn> | undefined;
  try {
    log(`starting private ClickHouse and Redis in ${dir}`);
    services(['start', 'clickhouse', 'redis'], env);
    const clickhousePid = Number(readFileSync(path.join(dir, 'pids', 'clickhouse.pid'), 'utf8'));
    const cpu = () => ({ clickhouse: cpuSeconds(clickhousePid), node: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6 });
    const cpuSince = (before: ReturnType<typeof cpu>) => {
      const now = cpu();
      return `CPU: ClickHouse ${(now.clickhouse - before.clickhouse).toFixed(1)} s, this driver ${(now.node - before.node).toFixed(1)} s`;
    };
    const t0 = Date.now() - scrapes * 15_000;
    log(`generating ${scrapes} scrapes × ${SERIES} series = ${scrapes * SERIES} samples`);
    const samples = Array.from({ length: scrapes }, (_, k) => scrapeSamples(k, t0)).flat();
    const n = samples.length;

    // The raw ceiling, measured at the start and again at the end of the run (the faster counts: the ratio is never
    // flattered by a slow baseline).
    const tsvChunks = chunk(samples, 100_000).map(tsvBody);
    const rawPhase = async (database: string): Promise<number> => {
      const rawConfig = loadConfig({ ...env, CLICKHOUSE_DATABASE: database });
      await migrate(rawConfig);
      const rawClient = createClickHouse(rawConfig);
      log(`raw (${database}): ${tsvChunks.length} TabSeparated inserts of 100k rows`);
      const cpuBefore = cpu();
      const rawStarted = performance.now();
      for (const [i, body] of tsvChunks.entries()) {
        await rawClient.insert({ table: 'performance_events', values: Readable.from([body], { objectMode: false }), format: 'TabSeparated', columns: [...PERFORMANCE_EVENT_COLUMNS] });
        process.stderr.write(`\r  ${i + 1}/${tsvChunks.length}`);
      }
      const seconds = (performance.now() - rawStarted) / 1000;
      process.stderr.write('\n');
      await rawClient.close();
      log(`raw (${database}): ${rate(n, seconds)} samples/s; ${cpuSince(cpuBefore)}`);
      return seconds;
    };
    const rawFirst = await rawPhase('bench_raw');
    const storage = await storagePhase(loadConfig({ ...env, CLICKHOUSE_DATABASE: 'bench_raw' }), samples);

    // the API, JSON and text
    const bodiesFile = path.join(dir, 'bodies.json');
    const keysFile = path.join(dir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [{ name: 'bench', token: TOKEN, role: 'service' }] }));
    // The API runs as its own process (dist/api/server.js, as `npm start` runs it), apart from this driver's heap.
    const apiPhase = async (name: string, database: string, contentType: string, bodies: Array<string | Uint8Array>, route = '/api/v1/internal/monitoring/metrics') => {
      const serverEnv = { ...env, CLICKHOUSE_DATABASE: database, API_PORT: String(apiPort), MONITORING_MAX_BODY_BYTES: String(64 * 1024 * 1024), MONITORING_API_KEYS_FILE: keysFile };
      const config = loadConfig(serverEnv);
      await migrate(config);
      const clickhouse = createClickHouse(config);
      // BENCH_API_NODE_FLAGS passes flags to the API process alone (for example --cpu-prof to profile it).
      const nodeFlags = (process.env.BENCH_API_NODE_FLAGS ?? '').split(' ').filter(Boolean);
      const server = spawn(process.execPath, [...nodeFlags, path.join(PROJECT_ROOT, 'dist', 'api', 'server.js')], { env: { ...process.env, ...serverEnv }, stdio: 'ignore' });
      for (let i = 0; ; i++) {
        if (await fetch(`http://127.0.0.1:${apiPort}/healthz`).then((r) => r.ok, () => false)) break;
        if (i > 300) throw new Error('the API did not start');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Binary bodies travel to the client in base64 (it decodes them by their content type).
      writeFileSync(bodiesFile, JSON.stringify(bodies.map((b) => (typeof b === 'string' ? b : Buffer.from(b).toString('base64')))));
      const serverCpu = cpuSeconds(server.pid!);
      const chCpu = cpuSeconds(clickhousePid);
      log(`${name}: ${bodies.length} bodies of ${Math.round(n / bodies.length)} samples, ${CONNECTIONS} connections`);
      const { stdout } = await run(process.execPath, [path.join(__dirname, 'ingest-client.js'), `http://127.0.0.1:${apiPort}${route}`, contentType, TOKEN, String(CONNECTIONS), bodiesFile], { maxBuffer: 1 << 20 });
      const result = JSON.parse(stdout) as { seconds: number; failures: number; statuses: Record<string, number> };
      const cpuText = `CPU: ClickHouse ${(cpuSeconds(clickhousePid) - chCpu).toFixed(1)} s, API process ${(cpuSeconds(server.pid!) - serverCpu).toFixed(1)} s`;
      const [{ count }] = await (await clickhouse.query({ query: 'SELECT count() AS count FROM performance_events', format: 'JSONEachRow' })).json<{ count: string }>();
      const selfMetrics = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      const batches = Number(/^monitoring_ingest_batches_total (\d+)/m.exec(selfMetrics)?.[1] ?? 0);
      const insertSeconds = Number(/^monitoring_ingest_insert_seconds_total ([\d.e+-]+)/m.exec(selfMetrics)?.[1] ?? 0);
      log(`${name}: ${rate(n, result.seconds)} samples/s, stored ${count}/${n} in ${batches} inserts (${Math.round(n / Math.max(batches, 1))} rows each, ${insertSeconds.toFixed(1)} s inserting of ${result.seconds.toFixed(1)} s), answers ${JSON.stringify(result.statuses)}; ${cpuText}`);
      if (Number(count) !== n) throw new Error(`${name}: stored ${count} of ${n} samples`);
      const stop = async () => {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGTERM');
        await exited;
        await clickhouse.close();
      };
      return { seconds: result.seconds, clickhouse, stop };
    };
    // JSON as services push it (the seed's system_metrics envelopes, one per instance and scrape), then as generic
    // {"samples"} with labels on every sample (the costliest JSON shape per sample).
    const json = await apiPhase('json envelopes', 'bench_json', 'application/json', chunk(samples, 10_020).map(envelopesBody));
    await json.stop();
    const jsonBodies = chunk(samples, 10_000).map(jsonBody);
    const jsonSamples = await apiPhase('json samples', 'bench_json_samples', 'application/json', jsonBodies);
    await jsonSamples.stop();
    // OTLP/HTTP protobuf, as an OpenTelemetry SDK's periodic reader or a Collector exports it.
    const otlp = await apiPhase('otlp protobuf', 'bench_otlp', 'application/x-protobuf', chunk(samples, 10_000).map(otlpMetricsBody), '/v1/metrics');
    await otlp.stop();
    const textBodies = chunk(samples, 10_000).map(promBody);
    const text = await apiPhase('text', 'bench_text', 'text/plain; version=0.0.4', textBodies);

    // ingest-to-queryable latency under a background push, on the text phase's app
    log('latency: 100 probes while a background client pushes JSON');
    writeFileSync(bodiesFile, JSON.stringify(jsonBodies.slice(0, 40)));
    const background = run(process.execPath, [path.join(__dirname, 'ingest-client.js'), `http://127.0.0.1:${apiPort}/api/v1/internal/monitoring/metrics`, 'application/json', TOKEN, '1', bodiesFile], { maxBuffer: 1 << 20 });
    const latencies: number[] = [];
    for (let i = 0; i < 100; i++) {
      const value = 1_000_000 + i;
      const probeStarted = performance.now();
      const response = await fetch(`http://127.0.0.1:${apiPort}/api/v1/internal/monitoring/metrics`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ samples: [{ name: 'bench_probe', value, labels: { service: 'bench' } }] }),
      });
      if (response.status !== 202) throw new Error(`probe answered ${response.status}`);
      for (;;) {
        const rows = await (
          await text.clickhouse.query({ query: "SELECT count() AS c FROM performance_events WHERE metric_name = 'bench_probe' AND metric_value = {value:Float64}", query_params: { value }, format: 'JSONEachRow' })
        ).json<{ c: string }>();
        if (Number(rows[0]?.c) === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      latencies.push(performance.now() - probeStarted);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await background;
    await text.stop();
    log(`latency: p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms`);

    // VictoriaMetrics, the fastest peer, on the same Prometheus text
    const vmBin = ['victoria-metrics', '/usr/bin/victoria-metrics'].find((b) => {
      try {
        execFileSync('bash', ['-c', `command -v ${b}`], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    });
    // The baseline is part of the measurement: without it there is no ratio to report.
    if (!vmBin) throw new Error('victoria-metrics is not installed; run the bench with `npm run bench:ingest`, which installs it (apt-get install victoria-metrics)');
    let vmSeconds: number;
    let vmVersion = 'VictoriaMetrics';
    {
      vm = spawn(vmBin, [`-httpListenAddr=127.0.0.1:${vmPort}`, `-storageDataPath=${path.join(dir, 'vm')}`, '-retentionPeriod=100y'], { stdio: 'ignore' });
      for (let i = 0; i < 100; i++) {
        if (await fetch(`http://127.0.0.1:${vmPort}/health`).then((r) => r.ok, () => false)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Its own metrics name its version; Debian's build leaves them empty, and its package says it instead.
      const vmMetrics = await (await fetch(`http://127.0.0.1:${vmPort}/metrics`)).text();
      vmVersion = /vm_app_version\{[^}]*version="([^"]+)"/.exec(vmMetrics)?.[1] ?? `VictoriaMetrics ${packageVersion('victoria-metrics') ?? ''}`.trim();
      writeFileSync(bodiesFile, JSON.stringify(textBodies));
      log(`victoriametrics: ${textBodies.length} bodies, ${CONNECTIONS} connections, then force_flush`);
      const started = performance.now();
      await run(process.execPath, [path.join(__dirname, 'ingest-client.js'), `http://127.0.0.1:${vmPort}/api/v1/import/prometheus`, 'text/plain', '', String(CONNECTIONS), bodiesFile], { maxBuffer: 1 << 20 });
      await fetch(`http://127.0.0.1:${vmPort}/internal/force_flush`);
      vmSeconds = (performance.now() - started) / 1000;
      log(`victoriametrics: ${rate(n, vmSeconds)} samples/s`);
    }

    const rawSeconds = Math.min(rawFirst, await rawPhase('bench_raw_again'));
    const figures = {
      samples: n,
      raw_samples_per_s: rate(n, rawSeconds),
      samples_per_s: rate(n, json.seconds),
      json_samples_per_s: rate(n, jsonSamples.seconds),
      text_samples_per_s: rate(n, text.seconds),
      otlp_samples_per_s: rate(n, otlp.seconds),
      victoriametrics_samples_per_s: rate(n, vmSeconds),
      ratio_vs_raw: Number((rawSeconds / json.seconds).toFixed(2)),
      json_samples_ratio_vs_raw: Number((rawSeconds / jsonSamples.seconds).toFixed(2)),
      text_ratio_vs_raw: Number((rawSeconds / text.seconds).toFixed(2)),
      ratio_vs_victoriametrics: Number((vmSeconds / json.seconds).toFixed(2)),
      text_ratio_vs_victoriametrics: Number((vmSeconds / text.seconds).toFixed(2)),
      otlp_ratio_vs_raw: Number((rawSeconds / otlp.seconds).toFixed(2)),
      otlp_ratio_vs_victoriametrics: Number((vmSeconds / otlp.seconds).toFixed(2)),
      bytes_per_sample: storage.now,
      bytes_per_sample_old_schema: storage.old,
      p50_ms: Math.round(percentile(latencies, 50)),
      p99_ms: Math.round(percentile(latencies, 99)),
    };
    console.log(JSON.stringify(figures, null, 2));
    const result = `RESULT samples_per_s=${figures.samples_per_s} ratio_vs_raw=${figures.ratio_vs_raw} ratio_vs_victoriametrics=${figures.ratio_vs_victoriametrics} otlp_ratio_vs_victoriametrics=${figures.otlp_ratio_vs_victoriametrics} p99_ms=${figures.p99_ms} bytes_per_sample=${storage.now} bytes_per_sample_old_schema=${storage.old}`;
    console.log(result);
    appendBenchmark('bench:ingest', `BENCH_SAMPLES=${target} BENCH_CONNECTIONS=${CONNECTIONS} npm run bench:ingest`, [
        '| path | samples/s | vs raw ClickHouse |',
        '| --- | --- | --- |',
        `| raw ClickHouse TabSeparated, 100k-row inserts (faster of two runs) | ${figures.raw_samples_per_s} | 1.00 |`,
        `| API, JSON seed envelopes (system_metrics, 60 metrics each), bodies of ~10k samples | ${figures.samples_per_s} | ${figures.ratio_vs_raw} |`,
        `| API, JSON {"samples"} with labels per sample, bodies of 10k | ${figures.json_samples_per_s} | ${figures.json_samples_ratio_vs_raw} |`,
        `| API, Prometheus text bodies of 10k | ${figures.text_samples_per_s} | ${figures.text_ratio_vs_raw} |`,
        `| API, OTLP/HTTP protobuf (gauges, a resource per instance), bodies of 10k | ${figures.otlp_samples_per_s} | ${figures.otlp_ratio_vs_raw} |`,
        `| ${vmVersion} import (Prometheus text) | ${figures.victoriametrics_samples_per_s} | ${(rawSeconds / vmSeconds).toFixed(2)} |`,
        '',
        `Against VictoriaMetrics in the same run: seed envelopes ${figures.ratio_vs_victoriametrics}×, generic JSON ${Number((vmSeconds / jsonSamples.seconds).toFixed(2))}×, Prometheus text ${figures.text_ratio_vs_victoriametrics}×, OTLP protobuf ${figures.otlp_ratio_vs_victoriametrics}×.`,
        `Ingest-to-queryable (single-sample probes under a background push): p50 ${figures.p50_ms} ms, p99 ${figures.p99_ms} ms.`,
        `Storage, the raw phase's ${n} samples after OPTIMIZE FINAL: ${storage.now} bytes/sample on disk in today's schema (DateTime64 + DoubleDelta, Gorilla, LowCardinality, Map), ${storage.old} in the retired 18.16-era schema on the same engine (${storage.detail}).`,
    ], result);
  } finally {
    vm?.kill('SIGKILL');
    services(['stop', 'clickhouse', 'redis'], env);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** packageVersion is a Debian package's installed version, if dpkg knows it. */
function packageVersion(name: string): string | undefined {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * storagePhase measures bytes per sample on disk: the raw phase's table, and the same samples in the 18.16-era schema
 * (the baseline this project ran on until the move to current ClickHouse), each merged to one part per partition.
 */
async function storagePhase(config: ReturnType<typeof loadConfig>, samples: ReturnType<typeof scrapeSamples>): Promise<{ now: number; old: number; detail: string }> {
  const clickhouse = createClickHouse(config);
  try {
    await clickhouse.command({
      query: `CREATE TABLE IF NOT EXISTS performance_events_old (timestamp DateTime, timestamp_ms UInt16, service_name String, instance_id String, event_type String,
        metric_name String, metric_value Float64, labels Nested(key String, value String), duration_ms UInt32, user_id String, correlation_id String,
        ingest_id String, ingest_seq UInt32) ENGINE = MergeTree() PARTITION BY toYYYYMM(timestamp) ORDER BY (metric_name, service_name, instance_id, timestamp)`,
    });
    for (const part of chunk(samples, 100_000)) {
      const rows = part.map((s) => {
        const keys = Object.keys(s.labels).sort();
        return `${Math.floor(s.timestampMs / 1000)}\t${s.timestampMs % 1000}\t${s.service}\t${s.instance}\tmetric\t${s.name}\t${s.value}\t[${keys.map((k) => `'${k}'`).join(',')}]\t[${keys.map((k) => `'${s.labels[k]}'`).join(',')}]\t0\t\t\t\t0\n`;
      });
      await clickhouse.insert({ table: 'performance_events_old', values: Readable.from([rows.join('')], { objectMode: false }), format: 'TabSeparated' });
    }
    const perSample = async (table: string) => {
      await clickhouse.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
      const [row] = await (
        await clickhouse.query({
          query: 'SELECT sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = {db:String} AND table = {table:String} AND active',
          query_params: { db: config.clickhouse.database, table },
          format: 'JSONEachRow',
        })
      ).json<{ rows: number; bytes: number }>();
      return { rows: Number(row?.rows), bytes: Number(row?.bytes) };
    };
    const now = await perSample('performance_events');
    const old = await perSample('performance_events_old');
    if (now.rows !== samples.length || old.rows !== samples.length) throw new Error(`storage: ${now.rows} and ${old.rows} rows of ${samples.length}`);
    const round = (x: number) => Number(x.toFixed(2));
    log(`storage: ${round(now.bytes / now.rows)} bytes/sample now, ${round(old.bytes / old.rows)} in the 18.16-era schema`);
    return { now: round(now.bytes / now.rows), old: round(old.bytes / old.rows), detail: `${(now.bytes / 1048576).toFixed(1)} MiB against ${(old.bytes / 1048576).toFixed(1)} MiB` };
  } finally {
    await clickhouse.close();
  }
}

main().catch((err) => {
  console.error('[bench:ingest] failed:', err);
  process.exit(1);
});
