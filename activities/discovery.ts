import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseGroups, parseSdFile, type ScrapeJob, type TargetGroup } from '../core/scrape-config';
import type { DiscoveryWatchers } from './discovery-watchers';

/** HttpSdCache holds each http_sd URL's last good answer and when to ask it again. */
export type HttpSdCache = Map<string, { groups: TargetGroup[]; nextAt: number }>;

/** DiscoveryOptions: the http_sd cache, the request timeout, where to log, how to resolve a relative file path. */
export interface DiscoveryOptions {
  cache: HttpSdCache;
  timeoutMs: number;
  log: (message: string) => void;
  resolve?: (file: string) => string;
  /** The registry watchers (Consul, Kubernetes) of the process; needed by jobs that use them. */
  watchers?: DiscoveryWatchers;
}

/**
 * discoverGroups finds a scrape_configs job's target groups as Prometheus does: its static_configs; each
 * file_sd file (JSON or YAML; a `*` in the file name matches any characters) with `__meta_filepath`; and each
 * http_sd URL's JSON answer with `__meta_url`, asked again after its refresh_interval — an unreachable or bad
 * answer keeps the last good one (logged); each consul_sd_configs entry's current targets from its watcher
 * (activities/discovery-watchers.ts).
 */
export async function discoverGroups(job: ScrapeJob, options: DiscoveryOptions): Promise<TargetGroup[]> {
  const groups = [...job.staticConfigs];
  for (const pattern of job.fileSd) {
    for (const file of await globFiles(options.resolve ? options.resolve(pattern) : pattern)) {
      const found = parseGroups(parseSdFile(await readFile(file, 'utf8'), file), file);
      groups.push(...found.map((g) => ({ ...g, labels: { __meta_filepath: file, ...g.labels } })));
    }
  }
  for (const sd of job.httpSd) {
    const cached = options.cache.get(sd.url);
    if (!cached || cached.nextAt <= Date.now()) {
      try {
        const response = await fetch(sd.url, { signal: AbortSignal.timeout(options.timeoutMs) });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const found = parseGroups(await response.json(), sd.url).map((g) => ({ ...g, labels: { __meta_url: sd.url, ...g.labels } }));
        options.cache.set(sd.url, { groups: found, nextAt: Date.now() + sd.refreshMs });
      } catch (err) {
        options.log(`http_sd ${sd.url}: ${(err as Error).message}; keeping the last targets`);
      }
    }
    groups.push(...(options.cache.get(sd.url)?.groups ?? []));
  }
  for (const sd of job.consulSd) {
    if (!options.watchers) throw new Error(`job ${job.jobName}: consul_sd_configs needs the scraper's watchers`);
    groups.push(...(await options.watchers.consul(sd)));
  }
  for (const sd of job.kubernetesSd) {
    if (!options.watchers) throw new Error(`job ${job.jobName}: kubernetes_sd_configs needs the scraper's watchers`);
    groups.push(...(await options.watchers.kubernetes(sd)));
  }
  return groups;
}

/** globFiles lists the files a file_sd path names: itself, or with `*` in its last part the files it matches. */
export async function globFiles(pattern: string): Promise<string[]> {
  const base = path.basename(pattern);
  if (!base.includes('*')) return (await stat(pattern).then(() => true, () => false)) ? [pattern] : [];
  const dir = path.dirname(pattern);
  const re = new RegExp(`^${base.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => re.test(n)).sort().map((n) => path.join(dir, n));
}
