import { parse as parseYaml } from 'yaml';
import { parseConsulSd, type ConsulSdConfig } from './consul-sd';
import { parseKubernetesSd, type KubernetesSdConfig } from './kubernetes-sd';
import type { Labels } from './types';
import { isRecord } from './guards';
import { formatDuration, parseDuration } from './duration';
import { parseRelabelConfigs, relabel, type RelabelConfig } from './relabel';

/**
 * Scrape targets: the seed's `service_discovery.static.services` (name, endpoints, labels) and Prometheus-style
 * file-based discovery (`[{"targets": ["host:port"], "labels": {"job": "…"}}]`, re-read when the file changes);
 * and Prometheus' own `scrape_configs` (a prometheus.yml's section as it is): static_configs, file_sd_configs
 * (JSON or YAML, `*` in file names), http_sd_configs, relabel_configs, metric_relabel_configs, honor_labels,
 * per-job scrape_interval/scrape_timeout, metrics_path, scheme, params and credentials, with Prometheus' target
 * labels (__address__, __scheme__, __metrics_path__, __param_*, __scrape_interval__, __scrape_timeout__, job).
 * `api_key_role` (our extension) makes the scraper send a Bearer token of that role from the keys file, for
 * targets such as this module's own /metrics.
 */

/** ScrapeTarget is one endpoint to scrape: its URL, the service (job) it belongs to and labels to add. */
export interface ScrapeTarget {
  job: string;
  url: string;
  instance: string;
  labels: Labels;
  apiKeyRole?: string;
  /** Prometheus' honor_labels: the exposition's job/instance/labels win over the target's (else renamed exported_*). */
  honorLabels?: boolean;
  /** scrape_configs: the job's own interval and timeout (else the scraper's), credentials and metric relabeling. */
  intervalMs?: number;
  timeoutMs?: number;
  authorization?: string;
  metricRelabel?: RelabelConfig[];
}

/** TargetGroup is one group of discovered targets (static_configs, a file_sd or http_sd entry) with its labels. */
export interface TargetGroup {
  targets: string[];
  labels: Labels;
}

/** ScrapeJob is one entry of `scrape_configs`, its defaults filled in as Prometheus fills them. */
export interface ScrapeJob {
  jobName: string;
  intervalMs: number;
  timeoutMs: number;
  metricsPath: string;
  scheme: 'http' | 'https';
  params: Record<string, string[]>;
  honorLabels: boolean;
  authorization?: string;
  staticConfigs: TargetGroup[];
  fileSd: string[];
  httpSd: Array<{ url: string; refreshMs: number }>;
  consulSd: ConsulSdConfig[];
  kubernetesSd: KubernetesSdConfig[];
  relabel: RelabelConfig[];
  metricRelabel: RelabelConfig[];
}

/** ScrapeConfig is the parsed scrape file. */
export interface ScrapeConfig {
  targets: ScrapeTarget[];
  fileSdPaths: string[];
  /** Prometheus' scrape_configs, when the file has them. */
  jobs: ScrapeJob[];
}


/** parseSdFile reads a file_sd file: JSON or YAML (a superset of JSON), a list of {targets, labels}. */
export function parseSdFile(text: string, source: string): unknown {
  try {
    return parseYaml(text) as unknown;
  } catch (err) {
    throw new Error(`${source}: neither JSON nor YAML: ${(err as Error).message}`);
  }
}

function stringLabels(value: unknown, field: string): Labels {
  if (value === undefined) return {};
  if (!isRecord(value)) throw new Error(`${field}: expected a map of labels`);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}

function target(job: string, endpoint: string, labels: Labels, field: string, apiKeyRole?: string): ScrapeTarget {
  let url: URL;
  try {
    url = new URL(/^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}/metrics`);
  } catch {
    throw new Error(`${field}: not a URL or host:port: "${endpoint}"`);
  }
  return { job, url: url.toString(), instance: url.host, labels, ...(apiKeyRole ? { apiKeyRole } : {}) };
}

/**
 * expandEnv replaces `${NAME}` and `${NAME:-default}` in a config file's text with the environment's values, so one
 * file serves every deployment (e.g. the API's own address: 127.0.0.1:8080 locally, api:8080 under compose). A
 * variable that is unset and has no default is an error naming it.
 */
export function expandEnv(text: string, env: Readonly<Record<string, string | undefined>>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) => {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    throw new Error(`\${${name}}: the environment variable is not set and has no default (write \${${name}:-value})`);
  });
}

/**
 * parseScrapeConfig reads the scrape YAML (the seed's service_discovery section, plus file_sd paths), after
 * expanding `${NAME:-default}` from `env`.
 */
export function parseScrapeConfig(text: string, env: Readonly<Record<string, string | undefined>> = {}, defaults: ScrapeDefaults = { intervalMs: 15_000, timeoutMs: 10_000 }): ScrapeConfig {
  const doc = parseYaml(expandEnv(text, env)) as unknown;
  const sd = isRecord(doc) && isRecord(doc.service_discovery) ? doc.service_discovery : {};
  const targets: ScrapeTarget[] = [];
  const staticSd = isRecord(sd.static) ? sd.static : {};
  const services = staticSd.services ?? [];
  if (!Array.isArray(services)) throw new Error('service_discovery.static.services: expected a list');
  services.forEach((svc: unknown, i) => {
    const field = `service_discovery.static.services[${i}]`;
    if (!isRecord(svc) || typeof svc.name !== 'string') throw new Error(`${field}.name: required`);
    if (!Array.isArray(svc.endpoints)) throw new Error(`${field}.endpoints: expected a list of URLs`);
    const labels = stringLabels(svc.labels, `${field}.labels`);
    const role = typeof svc.api_key_role === 'string' ? svc.api_key_role : undefined;
    for (const endpoint of svc.endpoints) {
      const t = target(svc.name, String(endpoint), labels, `${field}.endpoints`, role);
      targets.push(svc.honor_labels === true ? { ...t, honorLabels: true } : t);
    }
  });
  const fileSd = isRecord(sd.file_sd) ? sd.file_sd : {};
  const paths = fileSd.files ?? [];
  if (!Array.isArray(paths)) throw new Error('service_discovery.file_sd.files: expected a list of paths');
  return { targets, fileSdPaths: paths.map(String), jobs: parseScrapeJobs(isRecord(doc) ? doc : {}, defaults) };
}

const JOB_FIELDS = new Set(['job_name', 'scrape_interval', 'scrape_timeout', 'metrics_path', 'scheme', 'params', 'honor_labels', 'static_configs', 'file_sd_configs', 'http_sd_configs', 'consul_sd_configs', 'kubernetes_sd_configs', 'relabel_configs', 'metric_relabel_configs', 'authorization', 'bearer_token', 'bearer_token_file', 'basic_auth']);

const duration = (value: unknown, field: string, fallback: number): number => {
  if (value === undefined) return fallback;
  try {
    return parseDuration(String(value));
  } catch (err) {
    throw new Error(`${field}: ${(err as Error).message}`);
  }
};

/** parseGroups reads a list of {targets, labels} (static_configs, a file_sd file, an http_sd answer). */
export function parseGroups(value: unknown, field: string): TargetGroup[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${field}: expected a list of {targets, labels}`);
  return value.map((group: unknown, i) => {
    if (!isRecord(group) || !Array.isArray(group.targets ?? [])) throw new Error(`${field}[${i}].targets: expected a list of host:port`);
    return { targets: ((group.targets ?? []) as unknown[]).map(String), labels: stringLabels(group.labels, `${field}[${i}].labels`) };
  });
}

/** credentials reads a job's authorization / bearer_token / basic_auth into an Authorization header value. */
function credentials(job: Record<string, unknown>, field: string, readFile: (path: string) => string): string | undefined {
  const secret = (value: unknown, file: unknown, at: string) => (file !== undefined ? readFile(String(file)).trim() : value === undefined ? undefined : String(value)) ?? (() => { throw new Error(`${at}: credentials or a file required`); })();
  if (isRecord(job.authorization)) {
    const type = String(job.authorization.type ?? 'Bearer');
    return `${type} ${secret(job.authorization.credentials, job.authorization.credentials_file, `${field}.authorization`)}`;
  }
  if (job.bearer_token !== undefined || job.bearer_token_file !== undefined) return `Bearer ${secret(job.bearer_token, job.bearer_token_file, `${field}.bearer_token`)}`;
  if (isRecord(job.basic_auth)) {
    const password = job.basic_auth.password === undefined && job.basic_auth.password_file === undefined ? '' : secret(job.basic_auth.password, job.basic_auth.password_file, `${field}.basic_auth.password`);
    return `Basic ${Buffer.from(`${String(job.basic_auth.username ?? '')}:${password}`).toString('base64')}`;
  }
  return undefined;
}

/** ScrapeDefaults are what a job without its own interval and timeout gets (Prometheus' `global` section). */
export interface ScrapeDefaults {
  intervalMs: number;
  timeoutMs: number;
  readFile?: (path: string) => string;
}

/** parseScrapeJobs reads `scrape_configs` (and `global`'s interval and timeout) as Prometheus does; faults name their field. */
export function parseScrapeJobs(doc: Record<string, unknown>, defaults: ScrapeDefaults): ScrapeJob[] {
  const list = doc.scrape_configs;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new Error('scrape_configs: expected a list of jobs');
  const global = isRecord(doc.global) ? doc.global : {};
  const globalInterval = duration(global.scrape_interval, 'global.scrape_interval', defaults.intervalMs);
  const globalTimeout = duration(global.scrape_timeout, 'global.scrape_timeout', Math.min(defaults.timeoutMs, globalInterval));
  const readFile = defaults.readFile ?? (() => { throw new Error('credential files are not readable here'); });
  const names = new Set<string>();
  return list.map((job: unknown, i) => {
    const field = `scrape_configs[${i}]`;
    if (!isRecord(job)) throw new Error(`${field}: expected a map`);
    for (const key of Object.keys(job)) if (!JOB_FIELDS.has(key)) throw new Error(`${field}.${key}: not supported (supported: ${[...JOB_FIELDS].join(', ')})`);
    if (typeof job.job_name !== 'string' || !job.job_name) throw new Error(`${field}.job_name: required`);
    if (names.has(job.job_name)) throw new Error(`${field}.job_name: "${job.job_name}" is used by another job`);
    names.add(job.job_name);
    const intervalMs = duration(job.scrape_interval, `${field}.scrape_interval`, globalInterval);
    const timeoutMs = duration(job.scrape_timeout, `${field}.scrape_timeout`, Math.min(globalTimeout, intervalMs));
    if (timeoutMs > intervalMs) throw new Error(`${field}.scrape_timeout: ${formatDuration(timeoutMs)} is longer than the scrape_interval ${formatDuration(intervalMs)}`);
    const scheme = String(job.scheme ?? 'http');
    if (scheme !== 'http' && scheme !== 'https') throw new Error(`${field}.scheme: http or https`);
    const params: Record<string, string[]> = {};
    if (job.params !== undefined) {
      if (!isRecord(job.params)) throw new Error(`${field}.params: expected a map of lists`);
      for (const [k, v] of Object.entries(job.params)) params[k] = (Array.isArray(v) ? v : [v]).map(String);
    }
    const files = (Array.isArray(job.file_sd_configs) ? job.file_sd_configs : job.file_sd_configs === undefined ? [] : undefined)?.flatMap((sd: unknown, j) => {
      if (!isRecord(sd) || !Array.isArray(sd.files)) throw new Error(`${field}.file_sd_configs[${j}].files: expected a list of paths`);
      const bad = sd.files.map(String).find((f) => !/\.(json|ya?ml)$/.test(f));
      if (bad !== undefined) throw new Error(`${field}.file_sd_configs[${j}].files: "${bad}" must end in .json, .yml or .yaml`);
      return sd.files.map(String);
    });
    if (!files) throw new Error(`${field}.file_sd_configs: expected a list`);
    if (job.http_sd_configs !== undefined && !Array.isArray(job.http_sd_configs)) throw new Error(`${field}.http_sd_configs: expected a list`);
    const httpSd = ((job.http_sd_configs ?? []) as unknown[]).map((sd: unknown, j) => {
      if (!isRecord(sd) || typeof sd.url !== 'string') throw new Error(`${field}.http_sd_configs[${j}].url: required`);
      return { url: sd.url, refreshMs: duration(sd.refresh_interval, `${field}.http_sd_configs[${j}].refresh_interval`, 60_000) };
    });
    const authorization = credentials(job, field, readFile);
    return {
      jobName: job.job_name,
      intervalMs,
      timeoutMs,
      metricsPath: String(job.metrics_path ?? '/metrics'),
      scheme,
      params,
      honorLabels: job.honor_labels === true,
      ...(authorization ? { authorization } : {}),
      staticConfigs: parseGroups(job.static_configs, `${field}.static_configs`),
      fileSd: files,
      httpSd,
      consulSd: parseConsulSd(job.consul_sd_configs, `${field}.consul_sd_configs`),
      kubernetesSd: parseKubernetesSd(job.kubernetes_sd_configs, `${field}.kubernetes_sd_configs`),
      relabel: parseRelabelConfigs(job.relabel_configs, `${field}.relabel_configs`),
      metricRelabel: parseRelabelConfigs(job.metric_relabel_configs, `${field}.metric_relabel_configs`),
    };
  });
}

/** HOST_PORT is what Go's net.SplitHostPort accepts: host:port, [v6]:port. */
const HOST_PORT = /^(\[[^\]]*\]|[^:[\]]*):[^:[\]]*$/;

/** DiscoveredTarget is a target as Prometheus' /api/v1/targets shows it: labels before and after relabeling. */
export interface DiscoveredTarget {
  discoveredLabels: Labels;
  /** Undefined when relabeling dropped the target. */
  target?: ScrapeTarget;
  /** The final labels (job and instance included), as Prometheus shows them. */
  labels?: Labels;
}

/**
 * jobTargets turns a job's groups into targets as Prometheus' PopulateLabels does: the group's labels over the
 * job's defaults (__address__, __scheme__, __metrics_path__, __scrape_interval__, __scrape_timeout__, __param_*,
 * job), relabel_configs, then the URL from the __ labels, `instance` from __address__ if unset, and every other
 * label starting with __ removed. A target without an address after relabeling is an error naming it.
 */
export function jobTargets(job: ScrapeJob, groups: readonly TargetGroup[]): DiscoveredTarget[] {
  const out: DiscoveredTarget[] = [];
  for (const group of groups) {
    for (const address of group.targets) {
      const discovered: Labels = { __address__: address, ...group.labels };
      const defaults: Labels = { job: job.jobName, __scrape_interval__: formatDuration(job.intervalMs), __scrape_timeout__: formatDuration(job.timeoutMs), __metrics_path__: job.metricsPath, __scheme__: job.scheme };
      for (const [name, values] of Object.entries(job.params)) if (values[0] !== undefined) defaults[`__param_${name}`] = values[0];
      for (const [name, value] of Object.entries(defaults)) if (!(name in discovered)) discovered[name] = value;
      // A copy: without relabel_configs relabel() gives its input back, and the port added below is not discovered.
      const labels = relabel({ ...discovered }, job.relabel);
      if (!labels) {
        out.push({ discoveredLabels: discovered });
        continue;
      }
      let addr = labels.__address__;
      if (!addr) throw new Error(`job ${job.jobName}: target ${address} has no __address__ after relabeling`);
      // An address without a port gets the scheme's (Prometheus 2's addPort), which `instance` then shows.
      const scheme = labels.__scheme__ ?? job.scheme;
      if (!HOST_PORT.test(addr) && HOST_PORT.test(`${addr}:1234`)) labels.__address__ = addr = `${addr}:${scheme === 'https' ? 443 : 80}`;
      // The job's params, the first value of each replaced by its __param_<name> label (Go's url.Values, sorted).
      const params = Object.fromEntries(Object.entries(job.params).map(([k, v]) => [k, [...v]]));
      for (const [name, value] of Object.entries(labels)) {
        if (!name.startsWith('__param_')) continue;
        const key = name.slice('__param_'.length);
        if (params[key]?.length) params[key]![0] = value;
        else params[key] = [value];
      }
      const query = new URLSearchParams();
      for (const key of Object.keys(params).sort()) for (const v of params[key]!) query.append(key, v);
      const search = query.toString();
      const url = `${scheme}://${addr}${labels.__metrics_path__ ?? job.metricsPath}${search ? `?${search}` : ''}`;
      const intervalMs = labels.__scrape_interval__ ? parseDuration(labels.__scrape_interval__) : job.intervalMs;
      const timeoutMs = labels.__scrape_timeout__ ? parseDuration(labels.__scrape_timeout__) : job.timeoutMs;
      const final: Labels = {};
      for (const [name, value] of Object.entries(labels)) if (!name.startsWith('__')) final[name] = value;
      final.instance ??= addr;
      const { job: jobLabel = job.jobName, instance, ...rest } = final;
      out.push({
        discoveredLabels: discovered,
        labels: final,
        target: {
          job: jobLabel,
          url,
          instance: instance!,
          labels: rest,
          intervalMs,
          timeoutMs,
          ...(job.honorLabels ? { honorLabels: true } : {}),
          ...(job.authorization ? { authorization: job.authorization } : {}),
          ...(job.metricRelabel.length ? { metricRelabel: job.metricRelabel } : {}),
        },
      });
    }
  }
  return out;
}

/** parseFileSd reads a Prometheus file_sd document (JSON or YAML) into targets; the job comes from the `job` label. */
export function parseFileSd(text: string, source: string): ScrapeTarget[] {
  const doc = parseSdFile(text, source);
  if (!Array.isArray(doc)) throw new Error(`${source}: expected a JSON list of {targets, labels}`);
  return doc.flatMap((group: unknown, i) => {
    const field = `${source}[${i}]`;
    if (!isRecord(group) || !Array.isArray(group.targets)) throw new Error(`${field}.targets: expected a list of host:port`);
    const { job, __metrics_path__: path, ...labels } = stringLabels(group.labels, `${field}.labels`);
    if (!job) throw new Error(`${field}.labels.job: required`);
    return group.targets.map((t: unknown) => {
      const host = String(t);
      return target(job, /^https?:\/\//.test(host) ? host : `http://${host}${path ?? '/metrics'}`, labels, `${field}.targets`);
    });
  });
}
