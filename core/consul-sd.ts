/**
 * Consul service discovery as Prometheus' `consul_sd_configs` does it (discovery/consul): the catalog's services,
 * filtered by name and tags, and each one's instances from the health endpoint, as target groups with Prometheus'
 * `__meta_consul_*` labels, so a relabeling written for Prometheus works unchanged. The HTTP side (blocking queries
 * on the catalog, one health query per service) is activities/discovery-watchers.ts; this file is the pure part.
 * Wire format: Consul's HTTP API, /v1/catalog/services (a map of service name to tags, `X-Consul-Index`) and
 * /v1/health/service/{name} (entries of Node, Service and Checks).
 */
import type { Labels } from './types';
import type { TargetGroup } from './scrape-config';
import { parseDuration } from './duration';
import { configEntries, isRecord } from './guards';

/** ConsulSdConfig is one entry of a job's consul_sd_configs, Prometheus' defaults filled in. */
export interface ConsulSdConfig {
  /** host:port of the agent (Prometheus' default localhost:8500). */
  server: string;
  scheme: 'http' | 'https';
  pathPrefix: string;
  /** Unset: the agent's own datacenter (from /v1/agent/self). */
  datacenter?: string;
  token?: string;
  /** Only these services (empty: all). */
  services: string[];
  /** Only services carrying all of these tags. */
  tags: string[];
  nodeMeta: Record<string, string>;
  allowStale: boolean;
  refreshMs: number;
  tagSeparator: string;
}

const FIELDS = new Set(['server', 'scheme', 'path_prefix', 'datacenter', 'token', 'services', 'tags', 'node_meta', 'allow_stale', 'refresh_interval', 'tag_separator']);

/** parseConsulSd reads a job's consul_sd_configs; faults name their field. */
export function parseConsulSd(value: unknown, field: string): ConsulSdConfig[] {
  return configEntries(value, field, FIELDS).map(({ entry: sd, at }) => {
    const list = (v: unknown, name: string) => {
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v)) throw new Error(`${at}.${name}: expected a list`);
      return v.map(String);
    };
    const scheme = String(sd.scheme ?? 'http');
    if (scheme !== 'http' && scheme !== 'https') throw new Error(`${at}.scheme: http or https`);
    let refreshMs = 30_000;
    if (sd.refresh_interval !== undefined) {
      try {
        refreshMs = parseDuration(String(sd.refresh_interval));
      } catch (err) {
        throw new Error(`${at}.refresh_interval: ${(err as Error).message}`);
      }
    }
    if (sd.node_meta !== undefined && !isRecord(sd.node_meta)) throw new Error(`${at}.node_meta: expected a map`);
    return {
      server: String(sd.server ?? 'localhost:8500'),
      scheme,
      pathPrefix: String(sd.path_prefix ?? ''),
      ...(sd.datacenter !== undefined ? { datacenter: String(sd.datacenter) } : {}),
      ...(sd.token !== undefined ? { token: String(sd.token) } : {}),
      services: list(sd.services, 'services'),
      tags: list(sd.tags, 'tags'),
      nodeMeta: Object.fromEntries(Object.entries((sd.node_meta as Record<string, unknown> | undefined) ?? {}).map(([k, v]) => [k, String(v)])),
      allowStale: sd.allow_stale !== false,
      refreshMs,
      tagSeparator: String(sd.tag_separator ?? ','),
    };
  });
}

/** consulWants says whether a catalog service is discovered: named (when names are given) and carrying every tag. */
export function consulWants(config: ConsulSdConfig, name: string, tags: readonly string[]): boolean {
  if (config.services.length > 0 && !config.services.includes(name)) return false;
  return config.tags.every((t) => tags.includes(t));
}

/** ConsulHealthEntry is one element of /v1/health/service/{name}'s answer (the fields discovery reads). */
export interface ConsulHealthEntry {
  Node: { Node: string; Address: string; Datacenter?: string; TaggedAddresses?: Record<string, string> | null; Meta?: Record<string, string> | null };
  Service: { ID: string; Service: string; Tags?: string[] | null; Address: string; Port: number; Meta?: Record<string, string> | null; Namespace?: string; Partition?: string };
  Checks?: Array<{ CheckID: string; Status: string }> | null;
}

/** aggregatedStatus is Consul's summary of an instance's checks (its Go client's HealthChecks.AggregatedStatus). */
export function aggregatedStatus(checks: ConsulHealthEntry['Checks']): string {
  let warning = false;
  let critical = false;
  let maintenance = false;
  for (const check of checks ?? []) {
    if (check.CheckID === '_node_maintenance' || check.CheckID.startsWith('_service_maintenance:')) maintenance = true;
    else if (check.Status === 'warning') warning = true;
    else if (check.Status === 'critical') critical = true;
    else if (check.Status !== 'passing') return '';
  }
  // Passing checks, or none at all: passing.
  return maintenance ? 'maintenance' : critical ? 'critical' : warning ? 'warning' : 'passing';
}

/** sanitizeLabelName is Prometheus' strutil.SanitizeLabelName: every character outside [a-zA-Z0-9_] becomes `_`. */
export const sanitizeLabelName = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, '_');

/** joinHostPort is Go's net.JoinHostPort: an IPv6 host in brackets. */
export const joinHostPort = (host: string, port: string | number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** consulGroup is one service's target group, one target per instance, with Prometheus' labels. */
export function consulGroup(config: ConsulSdConfig, datacenter: string, service: string, entries: readonly ConsulHealthEntry[]): TargetGroup[] {
  return entries.map((entry) => {
    const sep = config.tagSeparator;
    const host = entry.Service.Address !== '' ? entry.Service.Address : entry.Node.Address;
    const labels: Labels = {
      __meta_consul_service: service,
      __meta_consul_dc: datacenter,
      __meta_consul_address: entry.Node.Address,
      __meta_consul_node: entry.Node.Node,
      __meta_consul_namespace: entry.Service.Namespace ?? '',
      __meta_consul_partition: entry.Service.Partition ?? '',
      __meta_consul_tags: `${sep}${(entry.Service.Tags ?? []).join(sep)}${sep}`,
      __meta_consul_service_address: entry.Service.Address,
      __meta_consul_service_port: String(entry.Service.Port),
      __meta_consul_service_id: entry.Service.ID,
      __meta_consul_health: aggregatedStatus(entry.Checks),
    };
    for (const [k, v] of Object.entries(entry.Node.Meta ?? {})) labels[`__meta_consul_metadata_${sanitizeLabelName(k)}`] = v;
    for (const [k, v] of Object.entries(entry.Service.Meta ?? {})) labels[`__meta_consul_service_metadata_${sanitizeLabelName(k)}`] = v;
    for (const [k, v] of Object.entries(entry.Node.TaggedAddresses ?? {})) labels[`__meta_consul_tagged_address_${sanitizeLabelName(k)}`] = v;
    return { targets: [joinHostPort(host, entry.Service.Port)], labels };
  });
}
