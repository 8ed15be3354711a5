/**
 * bench:open-alerts — open alert workflows at scale (issue 16): the Temporal server on PostgreSQL (the production
 * profile) holding BENCH_OPEN_ALERTS (10,000) open alert workflows, each re-evaluated every 30 s tick, beside the
 * dev server (SQLite in memory, `npm start`'s) holding BENCH_BASELINE_ALERTS (1,000) — measured in the same run, one
 * after the other, on the same machine, each with its own private ClickHouse, Redis and Temporal and the API and a
 * worker as processes. For each: how long the alerts took to open, breach → Slack page p50/p99/max for probes at
 * random moments while they stay open, and the Temporal server's CPU (100 % = one core) and resident memory —
 * PostgreSQL's processes included — over the probe window. Appends to BENCHMARKS.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, freePortBlock, privateServerEnv, services } from '../test/helpers/servers';
import { keepBreaching, log, measureProcesses, percentile, probeLatencies, sleep, startAlertStack, temporalPids, waitGroupBatch, waitOpen, type AlertStack, type ProcessUse } from './alert-stack';
import { appendBenchmark } from './report';

const OPEN = Number(process.env.BENCH_OPEN_ALERTS ?? 10_000);
const BASELINE = Number(process.env.BENCH_BASELINE_ALERTS ?? 1_000);
const PROBES = Number(process.env.BENCH_PROBES ?? 10);
const INTERVAL_MS = 30_000;

const RULES = [
  'bench_rules:',
  '  bench_load:',
  '    - {name: bench_load_high, expression: \'bench_load{service="load"} > 50\', duration: 0s, severity: warning}',
  '  bench_probe:',
  '    - {name: bench_probe_high, expression: \'bench_probe > 50\', duration: 0s, severity: critical}',
  '',
].join('\n');

interface RunFigures extends ProcessUse {
  backend: string;
  open_alerts: number;
  open_seconds: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

/** NotHeld is a run that could not hold its alerts open and page in time: how far it got and what broke. */
interface NotHeld extends ProcessUse {
  backend: string;
  asked: number;
  reached: number;
  running_workflows: number;
  evaluations_timed_out: number;
  failure: string;
}

/** OPEN_TIMEOUT_MS bounds how long the alerts may take to open (BENCH_OPEN_TIMEOUT, minutes). */
const OPEN_TIMEOUT_MS = Number(process.env.BENCH_OPEN_TIMEOUT ?? 10) * 60_000;

/** run holds `count` alerts open on the Temporal of `backend` and measures it. */
async function run(backend: 'dev' | 'postgresql', count: number): Promise<RunFigures | NotHeld> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `pm-bench-open-${backend}-`));
  const env = await privateServerEnv(dir);
  if (backend === 'postgresql') {
    Object.assign(env, { TEMPORAL_BACKEND: 'postgresql', TEMPORAL_ADDRESS: `127.0.0.1:${await freePortBlock(10)}`, POSTGRES_PORT: String(await freePort()) });
  }
  let stack: AlertStack | undefined;
  try {
    log(`${backend}: starting private ClickHouse, Redis and Temporal (${backend === 'dev' ? 'dev server' : 'Temporal server on PostgreSQL'}) in ${dir}`);
    services(['start', 'clickhouse', 'redis', 'temporal'], env);
    stack = await startAlertStack(dir, env, RULES);
    const running = stack;
    const asked = count;
    const loader = keepBreaching(stack, 'bench_load', Array.from({ length: count }, (_, i) => ({ service: 'load', instance: `load-${i}`, value: 90 })));
    const probeWindow = PROBES * 7_300 + 3_000;
    let openMs = 0;
    let latencies: number[];
    let use: ProcessUse;
    try {
      log(`${backend}: waiting for ${count.toLocaleString('en')} alert workflows to open`);
      openMs = await waitOpen(stack, 'bench_load_high', count, OPEN_TIMEOUT_MS);
      log(`${backend}: ${count.toLocaleString('en')} open after ${Math.round(openMs / 1000)} s; waiting for their group's batch to settle`);
      await waitGroupBatch(stack, 'bench_load_high', OPEN_TIMEOUT_MS);
      await sleep(2 * INTERVAL_MS);
      log(`${backend}: steady; ${PROBES} probes at random moments of the cycle while measuring the Temporal server`);
      [latencies, use] = await Promise.all([probeLatencies(stack, 'bench_probe', PROBES), measureProcesses(temporalPids(env), probeWindow)]);
    } catch (err) {
      // Not held: say how far it got and why, measured as it stands.
      const failure = (err as Error).message;
      log(`${backend}: not held — ${failure}; measuring the stack as it stands`);
      const stalled = await measureProcesses(temporalPids(env), 60_000);
      const count = async (query: string) => (await running.temporal.workflow.count(query)).count;
      const notHeld: NotHeld = {
        backend,
        asked: asked,
        reached: await running.redis.scard('alerts:open:bench_load_high'),
        running_workflows: await count("WorkflowType = 'alertLifecycleWorkflow' AND ExecutionStatus = 'Running'"),
        evaluations_timed_out: await count("WorkflowType = 'evaluateRulesWorkflow' AND ExecutionStatus = 'TimedOut'"),
        failure,
        ...stalled,
      };
      await loader.stop();
      log(`${backend}: ${JSON.stringify(notHeld)}`);
      return notHeld;
    }
    await loader.stop();
    const figures: RunFigures = {
      backend,
      open_alerts: count,
      open_seconds: Math.round(openMs / 1000),
      p50_ms: Math.round(percentile(latencies, 50)),
      p99_ms: Math.round(percentile(latencies, 99)),
      max_ms: Math.round(Math.max(...latencies)),
      ...use,
    };
    log(`${backend}: ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    await stack?.close();
    services(['stop', 'clickhouse', 'redis', 'temporal'], env);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  // BENCH_PHASES=postgresql runs one phase while working on it; nothing is appended then (a figure needs both).
  const phases = (process.env.BENCH_PHASES ?? 'dev,postgresql').split(',');
  if (phases.length === 1) {
    const only = phases[0] === 'dev' ? await run('dev', BASELINE) : await run('postgresql', OPEN);
    console.log(JSON.stringify(only, null, 2));
    return;
  }
  const baseline = await run('dev', BASELINE);
  const production = await run('postgresql', OPEN);
  const row = (f: RunFigures | NotHeld, name: string) =>
    'failure' in f
      ? `| ${name} | **not held**: ${f.reached.toLocaleString('en')} of ${f.asked.toLocaleString('en')} open (${f.running_workflows.toLocaleString('en')} workflows running), ${f.evaluations_timed_out} evaluation runs timed out — ${f.failure} | — | — | — | ${f.cpu_percent} % | ${f.rss_mb_mean} / ${f.rss_mb_max} MB |`
      : `| ${name} | ${f.open_alerts.toLocaleString('en')} | ${f.open_seconds} s | ${f.p50_ms} / ${f.p99_ms} / ${f.max_ms} ms | ${f.p99_ms - INTERVAL_MS} ms | ${f.cpu_percent} % | ${f.rss_mb_mean} / ${f.rss_mb_max} MB |`;
  const figure = (f: RunFigures | NotHeld, key: 'p99_ms' | 'open_alerts') => ('failure' in f ? (key === 'open_alerts' ? `${f.reached}/${f.asked}` : 'not-held') : String(f[key]));
  const result = `RESULT pg_open=${figure(production, 'open_alerts')} pg_p99_ms=${figure(production, 'p99_ms')} pg_cpu_percent=${production.cpu_percent} pg_rss_mb=${production.rss_mb_max} dev_open=${figure(baseline, 'open_alerts')} dev_p99_ms=${figure(baseline, 'p99_ms')} dev_cpu_percent=${baseline.cpu_percent} dev_rss_mb=${baseline.rss_mb_max}`;
  console.log(JSON.stringify({ baseline, production }, null, 2));
  console.log(result);
  appendBenchmark(
    'bench:open-alerts',
    `BENCH_OPEN_ALERTS=${OPEN} BENCH_BASELINE_ALERTS=${BASELINE} BENCH_PROBES=${PROBES} npm run bench:open-alerts`,
    [
      '| Temporal | open alert workflows | time to open | breach → Slack page p50 / p99 / max | p99 − 30 s interval | Temporal server CPU (100 % = 1 core; PostgreSQL included) | its memory, mean / max |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      row(production, 'server v1.30.9 on PostgreSQL 15 (production profile)'),
      row(baseline, 'dev server, SQLite in memory (baseline, same run)'),
    ],
    result,
    ' · one API and one worker process each',
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
