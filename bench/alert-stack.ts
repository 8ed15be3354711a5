/**
 * The alerting stack the alert benches drive, as `npm start` runs it: the API and a worker as their own processes
 * over private ClickHouse, Redis and Temporal servers, Slack and SMTP sinks in the bench's process. Also what the
 * benches measure with it: opening N alerts, breach→page probes, and the servers' CPU and memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection, Client } from '@temporalio/client';
import Redis from 'ioredis';
import { migrate } from '../store/migrations';
import { PROJECT_ROOT } from '../store/paths';
import { redisKeys } from '../store/redis';
import { loadConfig, type Config } from '../core/config';
import { FakeSlack } from '../scripts/local-slack';
import { TestSmtp } from '../scripts/local-smtp';
import { freePort } from '../test/helpers/servers';

const TOKEN = 'bench-alerts-service-token-0123456789';
export const log = (message: string) => process.stderr.write(`[bench:alerts] ${message}\n`);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)]!;

/** Series is one labelled series of a pushed metric. */
export interface Series {
  service: string;
  instance: string;
  value: number;
}

/** AlertStack is a running stack: push samples, watch Redis, Temporal and the Slack sink. */
export interface AlertStack {
  config: Config;
  redis: Redis;
  temporal: Client;
  slack: FakeSlack;
  /** When each Slack message (by ts) was first posted. */
  posted: Map<string, number>;
  push(name: string, series: Series[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * startAlertStack starts the API and a worker on the servers of `env` (started by the caller) with `rulesYaml`,
 * and resolves once the API answers. `extra` adds settings.
 */
export async function startAlertStack(dir: string, env: Record<string, string>, rulesYaml: string, extra: Record<string, string> = {}): Promise<AlertStack> {
  const children: ChildProcess[] = [];
  const slack = new FakeSlack('xoxb-bench');
  const smtp = new TestSmtp();
  await Promise.all([slack.start(), smtp.start()]);
  const posted = new Map<string, number>();
  slack.onMessage = (m, edited) => {
    if (!edited) posted.set(m.ts, Date.now());
  };
  writeFileSync(path.join(dir, 'rules.yaml'), rulesYaml);
  writeFileSync(path.join(dir, 'keys.json'), JSON.stringify({ keys: [{ name: 'bench', token: TOKEN, role: 'service' }] }));
  const apiPort = await freePort();
  const stackEnv = {
    ...env,
    CLICKHOUSE_DATABASE: 'bench_alerts',
    MONITORING_RULES_PATH: path.join(dir, 'rules.yaml'),
    MONITORING_API_KEYS_FILE: path.join(dir, 'keys.json'),
    API_PORT: String(apiPort),
    SLACK_BOT_TOKEN: slack.token,
    SLACK_API_URL: slack.url,
    SMTP_URL: smtp.url,
    ALERT_LINK_SECRET: 'bench-link-secret-0123456789',
    ALERT_EVALUATION_INTERVAL: '30s',
    WORKER_METRICS_PORT: '0',
    ...extra,
  };
  const config = loadConfig(stackEnv);
  await migrate(config);
  for (const script of ['api/server.js', 'workers/worker.js']) {
    children.push(spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', script)], { env: { ...process.env, ...stackEnv }, stdio: ['ignore', 'ignore', 'inherit'] }));
  }
  for (let i = 0; !(await fetch(`http://127.0.0.1:${apiPort}/healthz`).then((r) => r.ok, () => false)); i++) {
    if (i > 300) throw new Error('the API did not start');
    await sleep(100);
  }
  const redis = new Redis(env.REDIS_URL!);
  const temporal = new Client({ connection: await Connection.connect({ address: env.TEMPORAL_ADDRESS! }), namespace: config.temporal.namespace });
  return {
    config,
    redis,
    temporal,
    slack,
    posted,
    async push(name, series) {
      // Large loads go in parts: the API takes up to MONITORING_MAX_SAMPLES_PER_REQUEST per request.
      for (let i = 0; i < series.length; i += 5_000) {
        const response = await fetch(`http://127.0.0.1:${apiPort}/api/v1/internal/monitoring/metrics`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ samples: series.slice(i, i + 5_000).map((s) => ({ name, value: s.value, labels: { service: s.service, instance: s.instance } })) }),
        });
        if (response.status !== 202) throw new Error(`push answered ${response.status}: ${await response.text()}`);
      }
    },
    async close() {
      for (const child of children) child.kill('SIGTERM');
      await Promise.allSettled([redis.quit(), temporal.connection.close(), slack.stop(), smtp.stop()]);
    },
  };
}

/** keepBreaching pushes `series` of `name` every 15 s until the returned stop() is called. */
export function keepBreaching(stack: AlertStack, name: string, series: Series[]): { stop: () => Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      await stack.push(name, series);
      await sleep(15_000);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** waitOpen waits until `count` alerts of `rule` are open, drawing progress; rejects after `timeoutMs`. */
export async function waitOpen(stack: AlertStack, rule: string, count: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const open = await stack.redis.scard(redisKeys.openAlerts(rule));
    if (process.stderr.isTTY) process.stderr.write(`\r  ${open}/${count} open`);
    if (open >= count) break;
    if (Date.now() - started > timeoutMs) throw new Error(`only ${open} of ${count} alerts opened in ${Math.round(timeoutMs / 1000)} s`);
    await sleep(1000);
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  return Date.now() - started;
}

/** waitGroupBatch waits until the grouped notification of `rule`'s alerts has gone out. */
export async function waitGroupBatch(stack: AlertStack, rule: string, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!stack.slack.messages.some((m) => String(m.metadata?.event_payload.group_id ?? '') !== '' && JSON.stringify(m.blocks).includes(rule))) {
    if (Date.now() - started > timeoutMs) throw new Error(`the ${rule} group never sent its batch`);
    await sleep(1000);
  }
}

/**
 * probeLatencies pushes `count` breaching samples of `metric` for new services at random moments (one every ~7 s)
 * and measures each one's breach → first Slack page.
 */
export async function probeLatencies(stack: AlertStack, metric: string, count: number): Promise<number[]> {
  const latencies: number[] = [];
  let seq = 0;
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      await sleep(i * 7_300 + Math.random() * 3_000);
      const service = `probe-${++seq}-${Date.now()}`;
      const sentAt = Date.now();
      await stack.push(metric, [{ service, instance: `${service}-0`, value: 99 }]);
      for (;;) {
        const message = stack.slack.messages.find((m) => JSON.stringify(m.blocks).includes(service));
        if (message) {
          latencies.push(stack.posted.get(message.ts)! - sentAt);
          return;
        }
        if (Date.now() - sentAt > 120_000) throw new Error(`probe ${service} was not notified in 2 minutes`);
        await sleep(20);
      }
    }),
  );
  return latencies;
}

/** ProcessUse is what a set of processes used over a window: CPU as a share of one core, resident memory. */
export interface ProcessUse {
  cpu_percent: number;
  rss_mb_mean: number;
  rss_mb_max: number;
}

const CLOCK_TICKS = 100;
function ticksAndRss(pid: number): { ticks: number; rssKb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const rss = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { ticks: Number(fields[11]) + Number(fields[12]), rssKb: Number(rss?.[1] ?? 0) };
  } catch {
    return undefined;
  }
}

/** descendants lists `pid` and every process under it (PostgreSQL's backends are its postmaster's children). */
function withChildren(pid: number): number[] {
  const all = [pid];
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    for (const child of children) all.push(...withChildren(child));
  } catch {
    // gone
  }
  return all;
}

/**
 * measureProcesses samples the processes under `roots` once a second for `durationMs`: their summed CPU (100 % =
 * one core busy) and summed resident memory. A process that exits or starts meanwhile counts while it lives.
 */
export async function measureProcesses(roots: number[], durationMs: number): Promise<ProcessUse> {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const rss: number[] = [];
  const started = Date.now();
  while (Date.now() - started < durationMs) {
    let total = 0;
    for (const pid of roots.flatMap(withChildren)) {
      const sample = ticksAndRss(pid);
      if (!sample) continue;
      if (!first.has(pid)) first.set(pid, sample.ticks);
      last.set(pid, sample.ticks);
      total += sample.rssKb;
    }
    rss.push(total / 1024);
    await sleep(1000);
  }
  const seconds = (Date.now() - started) / 1000;
  let ticks = 0;
  for (const [pid, end] of last) ticks += end - first.get(pid)!;
  return {
    cpu_percent: Number(((ticks / CLOCK_TICKS / seconds) * 100).toFixed(1)),
    rss_mb_mean: Math.round(rss.reduce((a, b) => a + b, 0) / Math.max(1, rss.length)),
    rss_mb_max: Math.round(Math.max(...rss)),
  };
}

/** temporalPids are the root processes of the Temporal a services.sh env runs: its server, and PostgreSQL's postmaster. */
export function temporalPids(env: Record<string, string>): number[] {
  const pids = [Number(readFileSync(path.join(env.MONITORING_LOCAL_DIR!, 'pids', 'temporal.pid'), 'utf8').trim())];
  try {
    pids.push(Number(readFileSync(path.join(env.MONITORING_LOCAL_DIR!, 'postgres', 'data', 'postmaster.pid'), 'utf8').split('\n')[0]));
  } catch {
    // the dev server has no PostgreSQL
  }
  return pids;
}
