import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import type Redis from 'ioredis';
import { connectRedis, createClickHouse } from '../store/clients';
import { fromRoot } from '../store/paths';
import { createRedisStore } from '../store/redis';
import { SampleWriter } from '../store/sample-writer';
import { scrapeTarget } from '../activities/scrape';
import { parseKeysFile } from '../core/auth';
import { loadConfig, type Config } from '../core/config';
import { fnv1a64 } from '../core/fingerprint';
import { jobTargets, parseFileSd, parseScrapeConfig, type ScrapeJob, type ScrapeTarget, type TargetGroup } from '../core/scrape-config';
import { discoverGroups, type HttpSdCache } from '../activities/discovery';
import { DiscoveryWatchers } from '../activities/discovery-watchers';
import { Gauge, Registry } from 'prom-client';
import { countedFrom, gaugedFrom } from '../store/process-metrics';
import { processLogger, startMetrics } from './observability';

/** ScraperOptions are the scraper's inputs: where targets come from, how often, and where samples go. */
export interface ScraperOptions {
  configPath: string;
  intervalMs: number;
  timeoutMs: number;
  writer: SampleWriter;
  redis: Redis;
  realtimeTtlSeconds: number;
  /** Tokens by role for targets with api_key_role (this module's own /metrics). */
  tokens: Record<string, string>;
  log?: (message: string) => void;
}

/**
 * Scraper is the Metrics Collector: it scrapes every target each interval (its job's, else the scraper's) — each at
 * a fixed offset within the interval derived from its job and URL, so targets spread out like Prometheus' — with a
 * timeout, so a slow or down target (up=0) never delays another. Targets are discovered again every interval
 * (file_sd files re-read, http_sd asked after its refresh interval); a target whose settings changed restarts.
 */
export class Scraper {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private targets = new Map<string, ScrapeTarget>();
  private reloadTimer: NodeJS.Timeout | undefined;
  private readonly realtime;
  private stopped = false;
  /** Last scrape outcome per target (job and URL), for status, tests and the scraper's own /metrics. */
  readonly lastResults = new Map<string, { url: string; up: boolean; at: number; error?: string; samples: number; job: string; instance: string }>();
  /** Counters since start, for the scraper's own /metrics. */
  readonly stats = { scrapes: 0, failedScrapes: 0, samples: 0, storageFailures: 0 };

  constructor(private readonly options: ScraperOptions) {
    this.realtime = createRedisStore({ redis: options.redis, realtimeTtlSeconds: options.realtimeTtlSeconds });
  }

  /** currentTargets lists the targets being scraped now. */
  currentTargets(): ScrapeTarget[] {
    return [...this.targets.values()];
  }

  /** start loads the targets and begins scraping. */
  async start(): Promise<void> {
    await this.reload();
    this.reloadTimer = setInterval(() => this.changed(), this.options.intervalMs);
  }

  /** stop ends every timer and registry watch; scrapes in flight finish on their own. */
  stop(): void {
    this.stopped = true;
    this.watchers.stop();
    if (this.reloadTimer) clearInterval(this.reloadTimer);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private log(message: string): void {
    (this.options.log ?? console.log)(`[scraper] ${message}`);
  }

  /** A registry's targets changed: reload now (once at a time; a change during a reload reloads again after it). */
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private changed(): void {
    if (this.stopped) return;
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = this.reload()
      .catch((err: unknown) => this.log(`target reload failed: ${(err as Error).message}`))
      .finally(() => {
        this.reloading = undefined;
        if (this.reloadAgain) {
          this.reloadAgain = false;
          this.changed();
        }
      });
  }

  private readonly watchers = new DiscoveryWatchers({ onChange: () => this.changed(), log: (m) => this.log(m) });

  private async reload(): Promise<void> {
    const text = await readFile(this.options.configPath, 'utf8');
    const config = parseScrapeConfig(text, process.env, { intervalMs: this.options.intervalMs, timeoutMs: this.options.timeoutMs, readFile: (file) => readFileSync(fromRoot(file), 'utf8') });
    const fromFiles: ScrapeTarget[] = [];
    for (const file of config.fileSdPaths) {
      const path = fromRoot(file);
      const exists = await stat(path).then(() => true, () => false);
      if (exists) fromFiles.push(...parseFileSd(await readFile(path, 'utf8'), file));
    }
    const fromJobs: ScrapeTarget[] = [];
    for (const job of config.jobs) {
      try {
        for (const found of jobTargets(job, await this.groupsOf(job))) if (found.target) fromJobs.push(found.target);
      } catch (err) {
        // One job's bad discovery keeps its targets as they were; the other jobs go on.
        this.log(`job ${job.jobName}: ${(err as Error).message}`);
        fromJobs.push(...[...this.targets.values()].filter((t) => t.job === job.jobName));
      }
    }
    this.watchers.retain(new Set(config.jobs.flatMap((job) => [...job.consulSd.map(DiscoveryWatchers.consulKey), ...job.kubernetesSd.map(DiscoveryWatchers.kubernetesKey)])));
    const next = new Map([...config.targets, ...fromFiles, ...fromJobs].map((t) => [targetKey(t), t]));
    const same = next.size === this.targets.size && [...next].every(([key, t]) => settings(this.targets.get(key)) === settings(t));
    if (same && this.targets.size > 0) return;
    for (const [key, timer] of this.timers) {
      if (settings(next.get(key)) !== settings(this.targets.get(key))) {
        clearTimeout(timer);
        this.timers.delete(key);
      }
    }
    this.targets = next;
    for (const [key, target] of next) if (!this.timers.has(key)) this.schedule(target);
    this.log(`${next.size} targets: ${[...next.values()].map((t) => `${t.job}@${t.instance}`).join(', ')}`);
  }

  /** The last good answer of each http_sd URL and when to ask again. */
  private readonly httpSd: HttpSdCache = new Map();

  private groupsOf(job: ScrapeJob): Promise<TargetGroup[]> {
    return discoverGroups(job, { cache: this.httpSd, timeoutMs: this.options.timeoutMs, log: (m) => this.log(m), resolve: fromRoot, watchers: this.watchers });
  }

  private schedule(target: ScrapeTarget): void {
    const key = targetKey(target);
    const interval = target.intervalMs ?? this.options.intervalMs;
    const offset = Number.parseInt(fnv1a64(key).slice(0, 8), 16) % interval;
    const next = () => interval - ((Date.now() - offset) % interval);
    const tick = async () => {
      if (this.stopped || this.targets.get(key) !== target) return;
      this.timers.set(key, setTimeout(() => void tick(), next()));
      await this.scrape(target);
    };
    this.timers.set(key, setTimeout(() => void tick(), next()));
  }

  private async scrape(target: ScrapeTarget): Promise<void> {
    const token = target.apiKeyRole ? this.options.tokens[target.apiKeyRole] : undefined;
    const result = await scrapeTarget(target, target.timeoutMs ?? this.options.timeoutMs, token);
    // A target's failure is logged when it starts or its reason changes, not at every scrape.
    if (result.error && this.lastResults.get(targetKey(target))?.error !== result.error) this.log(`${target.job}@${target.instance} down: ${result.error}`);
    this.lastResults.set(targetKey(target), { url: target.url, up: result.up, at: Date.now(), samples: result.samples.length, job: target.job, instance: target.instance, ...(result.error ? { error: result.error } : {}) });
    this.stats.scrapes++;
    if (!result.up) this.stats.failedScrapes++;
    this.stats.samples += result.samples.length;
    try {
      await this.options.writer.write(result.samples);
      await this.realtime.writeRealtime(result.samples, Date.now()).catch(() => undefined);
    } catch (err) {
      // Prometheus too loses a scrape its storage cannot take; the next scrape comes one interval later.
      this.stats.storageFailures++;
      this.log(`storing ${result.samples.length} samples of ${target.url} failed: ${(err as Error).message}`);
    }
  }
}

/** settings is a target's whole configuration as text, its relabeling regexes included (a changed one restarts it). */
const settings = (t: ScrapeTarget | undefined) => JSON.stringify(t, (_key, value: unknown) => (value instanceof RegExp ? `/${value.source}/${value.flags}` : value));

/** targetKey tells targets apart: one URL may be scraped under two jobs. */
const targetKey = (t: ScrapeTarget) => `${t.job}\u0000${t.url}`;

/**
 * scraperRegistry is the scraper's own metrics: each target's last outcome (as Prometheus' `up` and
 * `scrape_samples_scraped` say it), scrapes, failures and samples since start, and the rows waiting for ClickHouse.
 */
export function scraperRegistry(scraper: Scraper, writer: SampleWriter): Registry {
  const registry = new Registry();
  const perTarget = (name: string, help: string, value: (r: { up: boolean; samples: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['job', 'instance'],
      registers: [registry],
      collect() {
        this.reset();
        for (const r of scraper.lastResults.values()) this.set({ job: r.job, instance: r.instance }, value(r));
      },
    });
  perTarget('monitoring_scrape_target_up', 'Whether the last scrape of the target succeeded (1) or not (0)', (r) => (r.up ? 1 : 0));
  perTarget('monitoring_scrape_target_samples', 'Samples of the last scrape of the target', (r) => r.samples);
  const counter = (name: string, help: string, read: () => number) => countedFrom(registry, name, help, read);
  counter('monitoring_scrapes_total', 'Scrapes since start', () => scraper.stats.scrapes);
  counter('monitoring_scrape_failures_total', 'Scrapes that found the target down since start', () => scraper.stats.failedScrapes);
  counter('monitoring_scrape_samples_total', 'Samples scraped since start', () => scraper.stats.samples);
  counter('monitoring_scrape_storage_failures_total', 'Scrapes whose samples ClickHouse did not take', () => scraper.stats.storageFailures);
  gaugedFrom(registry, 'monitoring_ingest_queue_rows', 'Scraped samples waiting for their ClickHouse insert', () => writer.queuedRows);
  return registry;
}

/** tokensByRole picks one token per role from the keys file, for targets that need one. */
async function tokensByRole(config: Config): Promise<Record<string, string>> {
  try {
    const keys = parseKeysFile(await readFile(fromRoot(config.apiKeysFile), 'utf8'));
    return Object.fromEntries(keys.reverse().map((k) => [k.role, k.token]));
  } catch {
    return {};
  }
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const clickhouse: ClickHouseClient = createClickHouse(config);
  const redis = await connectRedis(config, 'scraper');
  const writer = new SampleWriter(clickhouse, config.clickhouse.database, {
    batchSize: config.monitoring.batchSize,
    flushIntervalMs: config.monitoring.batchFlushIntervalMs,
    maxQueuedRows: config.monitoring.maxQueuedRows,
    maxConcurrentInserts: 2,
  });
  const logger = processLogger('scraper');
  const scraper = new Scraper({
    log: (message) => logger.info(message.replace(/^\[scraper\] /, '')),
    configPath: fromRoot(process.env.MONITORING_SCRAPE_CONFIG ?? 'config/scrape.yaml'),
    intervalMs: config.monitoring.scrapeIntervalMs,
    timeoutMs: Math.min(10_000, config.monitoring.scrapeIntervalMs),
    writer,
    redis,
    realtimeTtlSeconds: config.monitoring.cacheTtlSeconds,
    tokens: await tokensByRole(config),
  });
  await scraper.start();
  const metrics = await startMetrics({ env: process.env, name: 'SCRAPER_METRICS_PORT', fallback: 9465, registry: scraperRegistry(scraper, writer), logger });
  logger.info(`scraping every ${config.monitoring.scrapeIntervalMs / 1000} s${metrics.port ? `; metrics on :${metrics.port}/metrics` : ''}`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      scraper.stop();
      metrics.server?.close();
      void writer
        .flush()
        .then(() => Promise.allSettled([clickhouse.close(), redis.quit()]))
        .then(() => process.exit(0));
    });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    processLogger('scraper').error('fatal', { error: (err as Error)?.stack ?? String(err) });
    process.exit(1);
  });
}
