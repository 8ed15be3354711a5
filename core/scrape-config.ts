import { parse as parseYaml } from 'yaml';
import type { Labels } from './types';
import { isRecord } from './guards';

/**
 * Scrape targets: the seed's `service_discovery.static.services` (name, endpoints, labels) and Prometheus-style
 * file-based discovery (`[{"targets": ["host:port"], "labels": {"job": "…"}}]`, re-read when the file changes).
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
}

/** ScrapeConfig is the parsed scrape file. */
export interface ScrapeConfig {
  targets: ScrapeTarget[];
  fileSdPaths: string[];
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
export function parseScrapeConfig(text: string, env: Readonly<Record<string, string | undefined>> = {}): ScrapeConfig {
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
    for (const endpoint of svc.endpoints) targets.push(target(svc.name, String(endpoint), labels, `${field}.endpoints`, role));
  });
  const fileSd = isRecord(sd.file_sd) ? sd.file_sd : {};
  const paths = fileSd.files ?? [];
  if (!Array.isArray(paths)) throw new Error('service_discovery.file_sd.files: expected a list of paths');
  return { targets, fileSdPaths: paths.map(String) };
}

/** parseFileSd reads a Prometheus file_sd JSON document into targets; the job comes from the `job` label. */
export function parseFileSd(text: string, source: string): ScrapeTarget[] {
  const doc = JSON.parse(text) as unknown;
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
