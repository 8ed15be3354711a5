/**
 * Service discovery that watches a registry rather than reading a file: Consul (core/consul-sd.ts) and Kubernetes
 * (core/kubernetes-sd.ts). Each configured registry gets one watcher, which keeps its latest target groups and
 * calls `onChange` when they change, so the scraper reloads at once instead of at its next interval:
 * - Consul: a blocking query on /v1/catalog/services (`index` + `wait` = the refresh interval) returns as soon as
 *   a registration changes, else after the refresh interval; then each wanted service's instances are read from
 *   /v1/health/service/{name}. A change of registrations is seen at once, a change of health within one refresh.
 * - Kubernetes: each resource the role needs (pods; services; endpoints with their services and pods), in each
 *   namespace or in all, is listed and then watched (`watch=1&resourceVersion=…`, the API's stream of ADDED /
 *   MODIFIED / DELETED events); a watch that ends is resumed from its last version, one the server no longer has
 *   (410 Gone) is listed again. A change is seen as soon as its event arrives.
 * An unreachable registry keeps the last targets (logged) and is asked again after a pause.
 */
import type { TargetGroup } from '../core/scrape-config';
import { consulGroup, consulWants, type ConsulHealthEntry, type ConsulSdConfig } from '../core/consul-sd';
import { endpointsGroups, podGroups, resourcesOf, serviceGroups, type Endpoints, type KubernetesSdConfig, type Pod, type Service } from '../core/kubernetes-sd';

/** WatcherOptions: what to call when a registry's targets change, and where to log. */
export interface WatcherOptions {
  onChange: () => void;
  log: (message: string) => void;
}

interface Watcher {
  /** The first answer (or failure) is in: the targets are as good as they will be at start. */
  ready: Promise<void>;
  groups(): TargetGroup[];
  stop(): void;
}

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

/** consulWatcher runs the Consul watch loop for one consul_sd_configs entry until stopped. */
function consulWatcher(config: ConsulSdConfig, options: WatcherOptions): Watcher {
  const controller = new AbortController();
  const base = `${config.scheme}://${config.server}${config.pathPrefix}`;
  const headers: Record<string, string> = config.token ? { 'x-consul-token': config.token } : {};
  let groups: TargetGroup[] = [];
  let index = 0;
  let datacenter = config.datacenter;
  const get = async (path: string, params: URLSearchParams, timeoutMs: number): Promise<Response> => {
    const response = await fetch(`${base}${path}?${params}`, { headers, signal: AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)]) });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response;
  };
  const common = () => {
    const params = new URLSearchParams();
    if (datacenter) params.set('dc', datacenter);
    if (config.allowStale) params.set('stale', '');
    for (const [k, v] of Object.entries(config.nodeMeta)) params.append('node-meta', `${k}:${v}`);
    return params;
  };
  const refresh = async () => {
    if (!datacenter) {
      const self = (await (await get('/v1/agent/self', new URLSearchParams(), 10_000)).json()) as { Config?: { Datacenter?: string } };
      datacenter = self.Config?.Datacenter ?? '';
    }
    const params = common();
    params.set('index', String(index));
    params.set('wait', `${Math.max(1, Math.round(config.refreshMs / 1000))}s`);
    const response = await get('/v1/catalog/services', params, config.refreshMs + 15_000);
    const next = Number(response.headers.get('x-consul-index') ?? 0);
    // An index that goes backwards (a restored or new Consul) starts the blocking from scratch, as Consul advises.
    index = Number.isFinite(next) && next >= index ? next : 0;
    const services = (await response.json()) as Record<string, string[] | null>;
    const found: TargetGroup[] = [];
    for (const name of Object.keys(services).sort()) {
      if (!consulWants(config, name, services[name] ?? [])) continue;
      const health = common();
      for (const tag of config.tags) health.append('tag', tag);
      const entries = (await (await get(`/v1/health/service/${encodeURIComponent(name)}`, health, 15_000)).json()) as ConsulHealthEntry[];
      found.push(...consulGroup(config, datacenter ?? '', name, entries));
    }
    if (JSON.stringify(found) !== JSON.stringify(groups)) {
      groups = found;
      options.onChange();
    }
  };
  let first: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (first = resolve));
  void (async () => {
    while (!controller.signal.aborted) {
      const started = Date.now();
      try {
        await refresh();
      } catch (err) {
        if (controller.signal.aborted) break;
        options.log(`consul_sd ${base}: ${(err as Error).message}; keeping the last targets`);
        await pause(Math.min(config.refreshMs, 5_000), controller.signal);
      }
      first();
      // A server that does not block (or answers an unchanged index at once) is not asked more than once a second.
      if (Date.now() - started < 1_000) await pause(1_000, controller.signal);
    }
  })();
  return { ready, groups: () => groups, stop: () => controller.abort() };
}

type KubeObject = { metadata: { name: string; namespace: string; resourceVersion?: string } };
const ROLE_OF = { pods: 'pod', services: 'service', endpoints: 'endpoints' } as const;

/** kubernetesWatcher lists and watches what one kubernetes_sd_configs entry needs until stopped. */
function kubernetesWatcher(config: KubernetesSdConfig, options: WatcherOptions): Watcher {
  const controller = new AbortController();
  const headers: Record<string, string> = { accept: 'application/json', ...(config.authorization ? { authorization: config.authorization } : {}) };
  const stores = { pods: new Map<string, Pod>(), services: new Map<string, Service>(), endpoints: new Map<string, Endpoints>() };
  let groups: TargetGroup[] = [];
  const key = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;
  const recompute = () => {
    const found =
      config.role === 'pod'
        ? [...stores.pods.values()].flatMap(podGroups)
        : config.role === 'service'
          ? [...stores.services.values()].flatMap(serviceGroups)
          : [...stores.endpoints.values()].flatMap((ep) => endpointsGroups(ep, stores.services, stores.pods));
    if (JSON.stringify(found) !== JSON.stringify(groups)) {
      groups = found;
      options.onChange();
    }
  };
  const selectorQuery = (resource: keyof typeof stores) => {
    const params = new URLSearchParams();
    const selector = config.selectors.find((s) => s.role === ROLE_OF[resource]);
    if (selector?.label) params.set('labelSelector', selector.label);
    if (selector?.field) params.set('fieldSelector', selector.field);
    return params;
  };
  const run = async (resource: keyof typeof stores, path: string, listed: () => void) => {
    const store = stores[resource] as Map<string, KubeObject>;
    const mine = new Set<string>();
    while (!controller.signal.aborted) {
      try {
        const list = await fetch(`${config.apiServer}${path}?${selectorQuery(resource)}`, { headers, signal: AbortSignal.any([controller.signal, AbortSignal.timeout(30_000)]) });
        if (!list.ok) throw new Error(`list ${path}: HTTP ${list.status}`);
        const body = (await list.json()) as { metadata: { resourceVersion: string }; items: KubeObject[] };
        for (const k of mine) store.delete(k);
        mine.clear();
        for (const item of body.items) {
          // A list's items carry no kind; their namespace is the path's (or their own in an all-namespaces list).
          store.set(key(item), item);
          mine.add(key(item));
        }
        recompute();
        listed();
        let version = body.metadata.resourceVersion;
        for (;;) {
          const params = selectorQuery(resource);
          params.set('watch', '1');
          params.set('resourceVersion', version);
          params.set('allowWatchBookmarks', 'true');
          params.set('timeoutSeconds', '300');
          const watch = await fetch(`${config.apiServer}${path}?${params}`, { headers, signal: controller.signal });
          if (watch.status === 410) break;
          if (!watch.ok || !watch.body) throw new Error(`watch ${path}: HTTP ${watch.status}`);
          let gone = false;
          let buffered = '';
          const decoder = new TextDecoder();
          for await (const chunk of watch.body as unknown as AsyncIterable<Uint8Array>) {
            buffered += decoder.decode(chunk, { stream: true });
            let newline: number;
            while ((newline = buffered.indexOf('\n')) >= 0) {
              const line = buffered.slice(0, newline).trim();
              buffered = buffered.slice(newline + 1);
              if (!line) continue;
              const event = JSON.parse(line) as { type: string; object: KubeObject & { code?: number } };
              if (event.type === 'ERROR') {
                gone = event.object.code === 410;
                if (!gone) throw new Error(`watch ${path}: ${JSON.stringify(event.object)}`);
                break;
              }
              if (event.object.metadata?.resourceVersion) version = event.object.metadata.resourceVersion;
              if (event.type === 'BOOKMARK') continue;
              if (event.type === 'DELETED') {
                store.delete(key(event.object));
                mine.delete(key(event.object));
              } else {
                store.set(key(event.object), event.object);
                mine.add(key(event.object));
              }
              recompute();
            }
            if (gone) break;
          }
          if (gone) break;
        }
      } catch (err) {
        if (controller.signal.aborted) break;
        options.log(`kubernetes_sd ${config.apiServer}${path}: ${(err as Error).message}; keeping the last targets`);
        listed();
        await pause(2_000, controller.signal);
      }
    }
  };
  const paths = resourcesOf(config.role).flatMap((resource) =>
    (config.namespaces.length > 0 ? config.namespaces.map((ns) => `/api/v1/namespaces/${encodeURIComponent(ns)}/${resource}`) : [`/api/v1/${resource}`]).map((path) => ({ resource, path })),
  );
  const ready = Promise.all(paths.map(({ resource, path }) => new Promise<void>((resolve) => void run(resource, path, resolve)))).then(() => undefined);
  return { ready, groups: () => groups, stop: () => controller.abort() };
}

/** DiscoveryWatchers keeps one watcher per distinct registry configuration, started on first use. */
export class DiscoveryWatchers {
  private readonly watchers = new Map<string, Watcher>();

  constructor(private readonly options: WatcherOptions) {}

  /** consul gives a consul_sd_configs entry's current groups, starting its watcher (and waiting for its first answer) if new. */
  consul(config: ConsulSdConfig): Promise<TargetGroup[]> {
    return this.groups(DiscoveryWatchers.consulKey(config), () => consulWatcher(config, this.options));
  }

  /** kubernetes gives a kubernetes_sd_configs entry's current groups, starting its watcher (and waiting for its first lists) if new. */
  kubernetes(config: KubernetesSdConfig): Promise<TargetGroup[]> {
    return this.groups(DiscoveryWatchers.kubernetesKey(config), () => kubernetesWatcher(config, this.options));
  }

  private async groups(key: string, start: () => Watcher): Promise<TargetGroup[]> {
    let watcher = this.watchers.get(key);
    if (!watcher) {
      watcher = start();
      this.watchers.set(key, watcher);
      await watcher.ready;
    }
    return watcher.groups();
  }

  /** retain stops the watchers of configurations no longer in use. */
  retain(inUse: ReadonlySet<string>): void {
    for (const [key, watcher] of this.watchers) {
      if (inUse.has(key)) continue;
      watcher.stop();
      this.watchers.delete(key);
    }
  }

  /** keyOf names a configuration as retain() takes it. */
  static consulKey(config: ConsulSdConfig): string {
    return `consul:${JSON.stringify(config)}`;
  }

  static kubernetesKey(config: KubernetesSdConfig): string {
    return `kubernetes:${JSON.stringify(config)}`;
  }

  stop(): void {
    for (const watcher of this.watchers.values()) watcher.stop();
    this.watchers.clear();
  }
}
