/**
 * `npm run soak` (issue 7, scenario 9): the whole stack — private ClickHouse, Redis and Temporal, the API, a worker
 * with every Schedule, and the demo load (incidents included, so alerts fire and notify) — for SOAK_MINUTES (10),
 * sampling the resident memory (RSS) of the API and the worker every 10 s. After a warm-up (the first fifth), the
 * least-squares slope of each process' RSS is reported, and its live heap (heap snapshots after a full GC, at the end
 * of the warm-up and at the end) must grow less than SOAK_MAX_SLOPE_MB_PER_MIN (1 MB/min: 1.4 GB a day would be a
 * leak). Prints both, a sparkline and what grew most; appends to BENCHMARKS.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate } from '../store/migrations';
import { PROJECT_ROOT } from '../store/paths';
import { loadConfig } from '../core/config';
import { freePort, privateServerEnv, services } from '../test/helpers/servers';
import { heapGrowth, takeHeapSnapshot, type LiveHeap } from './heap-snapshot';
import { appendBenchmark } from './report';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const MAX_SLOPE = Number(process.env.SOAK_MAX_SLOPE_MB_PER_MIN ?? 1);
const SAMPLE_MS = 10_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (text: string) => process.stderr.write(`[soak] ${text}\n`);

/** rssMb reads a process' resident set size from /proc. */
function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

/** slope is the least-squares slope of y over x. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx;
}

/** sparkline draws at most 60 bars (means of equal stretches of the samples). */
const sparkline = (all: readonly number[]) => {
  const width = Math.min(60, all.length);
  const values = Array.from({ length: width }, (_, i) => {
    const part = all.slice(Math.floor((i * all.length) / width), Math.floor(((i + 1) * all.length) / width));
    return part.reduce((a, v) => a + v, 0) / part.length;
  });
  const bars = '▁▂▃▄▅▆▇█';
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return values.map((v) => bars[hi === lo ? 0 : Math.round(((v - lo) / (hi - lo)) * 7)]).join('');
};

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-soak-'));
  const env = await privateServerEnv(dir);
  const children: ChildProcess[] = [];
  try {
    log(`starting private ClickHouse, Redis and Temporal in ${dir}`);
    services(['start', 'clickhouse', 'redis', 'temporal'], env);
    const apiPort = await freePort();
    writeFileSync(path.join(dir, 'keys.json'), JSON.stringify({ keys: [{ name: 'demo', token: 'soak-service-token-0123456789', role: 'service' }, { name: 'admin', token: 'soak-admin-token-0123456789', role: 'admin' }] }));
    const stackEnv: Record<string, string> = {
      ...env,
      CLICKHOUSE_DATABASE: 'soak',
      MONITORING_API_KEYS_FILE: path.join(dir, 'keys.json'),
      API_PORT: String(apiPort),
      ALERT_LINK_SECRET_FILE: path.join(dir, 'link-secret'),
      TEMPORAL_TASK_QUEUE: 'soak',
    };
    await migrate(loadConfig(stackEnv));
    const start = (name: string, script: string) => {
      // SIGURG writes a heap snapshot into the soak's folder (the live heap after a full GC); not SIGUSR2, which stops
      // a Temporal worker.
      const child = spawn(process.execPath, ['--heapsnapshot-signal=SIGURG', `--diagnostic-dir=${dir}`, path.join(PROJECT_ROOT, 'dist', script)], {
        env: { ...process.env, ...stackEnv },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(child);
      log(`${name} started (pid ${child.pid})`);
      return child;
    };
    const api = start('api', 'api/server.js');
    for (let i = 0; !(await fetch(`http://127.0.0.1:${apiPort}/healthz`).then((r) => r.ok, () => false)); i++) {
      if (i > 300) throw new Error('the API did not start');
      await sleep(100);
    }
    const worker = start('worker', 'workers/worker.js');
    start('demo', 'scripts/demo-load.js');

    const samples: Array<{ minute: number; api: number; worker: number }> = [];
    const began = Date.now();
    // The live heap (after a full GC) of each process when the warm-up ends and at the end: RSS can grow while
    // the heap is steady (allocator, caches of native code); a leak grows the live heap.
    const heaps: Partial<Record<'api' | 'worker', LiveHeap[]>> = { api: [], worker: [] };
    const snapshot = async () => {
      heaps.api!.push(await takeHeapSnapshot(api.pid!, dir));
      heaps.worker!.push(await takeHeapSnapshot(worker.pid!, dir));
    };
    let warmedUp = false;
    while (Date.now() - began < MINUTES * 60_000) {
      await sleep(SAMPLE_MS);
      const minute = (Date.now() - began) / 60_000;
      if (!warmedUp && minute >= MINUTES / 5) {
        warmedUp = true;
        await snapshot();
      }
      const sample = { minute, api: rssMb(api.pid!), worker: rssMb(worker.pid!) };
      samples.push(sample);
      const width = 30;
      const done = Math.min(width, Math.round((minute / MINUTES) * width));
      process.stderr.write(`\r[soak] [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${minute.toFixed(1)}/${MINUTES} min  api ${sample.api.toFixed(0)} MB  worker ${sample.worker.toFixed(0)} MB   `);
    }
    process.stderr.write('\n');
    await snapshot();
    const steady = samples.filter((s) => s.minute >= MINUTES / 5);
    const result = (name: 'api' | 'worker') => {
      const points = steady.map((s) => [s.minute, s[name]] as const);
      const values = samples.map((s) => s[name]);
      const [heapStart, heapEnd] = heaps[name]!;
      const heapMinutes = (MINUTES * 4) / 5;
      return {
        name,
        slope: Number(slope(points).toFixed(3)),
        first: Number(points[0]![1].toFixed(1)),
        last: Number(points[points.length - 1]![1].toFixed(1)),
        max: Number(Math.max(...values).toFixed(1)),
        spark: sparkline(values),
        heapStart: Number(heapStart!.totalMb.toFixed(1)),
        heapEnd: Number(heapEnd!.totalMb.toFixed(1)),
        heapSlope: Number(((heapEnd!.totalMb - heapStart!.totalMb) / heapMinutes).toFixed(3)),
        growth: heapGrowth(heapStart!, heapEnd!),
      };
    };
    const results = [result('api'), result('worker')];
    for (const r of results) {
      log(`${r.name}: RSS ${r.first} → ${r.last} MB after warm-up (max ${r.max}), slope ${r.slope} MB/min (bound ${MAX_SLOPE}) ${r.spark}`);
      log(`${r.name}: live heap ${r.heapStart} → ${r.heapEnd} MB (${r.heapSlope} MB/min); grew most: ${r.growth.map((g) => `${g.name} ${g.kb} kB`).join(', ')}`);
    }
    // The bound holds for the live heap (the leak signal); RSS is reported beside it.
    const pass = results.every((r) => r.heapSlope < MAX_SLOPE);
    const line = `RESULT soak_minutes=${MINUTES} api_rss_slope_mb_per_min=${results[0]!.slope} worker_rss_slope_mb_per_min=${results[1]!.slope} api_heap_slope_mb_per_min=${results[0]!.heapSlope} worker_heap_slope_mb_per_min=${results[1]!.heapSlope} bound=${MAX_SLOPE} ${pass ? 'PASS' : 'FAIL'}`;
    console.log(line);
    appendBenchmark(
      'soak',
      'npm run soak',
      [
        `${MINUTES} min of the whole stack under the demo load (private servers); RSS every ${SAMPLE_MS / 1000} s, slope after the first fifth (least squares); ` +
          'live heap from heap snapshots (after a full GC) at the end of the warm-up and at the end — the bound applies to it.',
        '',
        '| process | RSS after warm-up → end (MB) | max (MB) | RSS slope (MB/min) | live heap (MB) | heap slope (MB/min) | bound | RSS over time |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |',
        ...results.map((r) => `| ${r.name} | ${r.first} → ${r.last} | ${r.max} | ${r.slope} | ${r.heapStart} → ${r.heapEnd} | ${r.heapSlope} | < ${MAX_SLOPE} | ${r.spark} |`),
        '',
        ...results.map((r) => `${r.name}: grew most between the snapshots — ${r.growth.map((g) => `${g.name} ${g.kb} kB`).join(', ')}.`),
      ],
      line,
    );
    if (!pass) process.exitCode = 1;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await sleep(2000);
    services(['stop', 'clickhouse', 'redis', 'temporal'], env);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
