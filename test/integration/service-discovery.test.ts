import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { discoverGroups } from '../../activities/discovery';
import { DiscoveryWatchers } from '../../activities/discovery-watchers';
import { jobTargets, parseScrapeConfig } from '../../core/scrape-config';
import type { Labels } from '../../core/types';
import { SampleWriter } from '../../store/sample-writer';
import { Scraper } from '../../workers/scraper';
import { startTestApi, TEST_KEYS, type TestApi } from '../helpers/api';
import { consulEntry, FakeConsul } from '../helpers/fake-consul';
import { FakeKubernetes } from '../helpers/fake-kubernetes';
import type { Pod } from '../../core/kubernetes-sd';
import { eventually, uniqueName } from '../helpers/stack';

/**
 * scrapingFixture is what the "followed by the scraper" tests share: exporters serving one line on free ports, an API
 * for the scraper's storage, and a scraper on a scrape_configs file whose own rediscovery interval is long (60 s), so
 * only the registry watch can bring a change in time.
 */
function scrapingFixture(job: string) {
  let api: TestApi | undefined;
  let scraper: Scraper | undefined;
  const exporters: Server[] = [];
  const url = (port: number) => `http://127.0.0.1:${port}/metrics`;
  return {
    async exporter(): Promise<number> {
      const server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end('sd_demo_up 1\n');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      exporters.push(server);
      return (server.address() as AddressInfo).port;
    },
    /** start runs a scraper on `yaml` (a scrape file). */
    async start(yaml: string): Promise<Scraper> {
      api = await startTestApi();
      const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-sd-'));
      writeFileSync(path.join(dir, 'scrape.yaml'), yaml);
      const writer = new SampleWriter(api.clickhouse, api.config.clickhouse.database, { batchSize: 50_000, flushIntervalMs: 100, maxQueuedRows: 1_000_000, maxConcurrentInserts: 2 });
      scraper = new Scraper({ configPath: path.join(dir, 'scrape.yaml'), intervalMs: 60_000, timeoutMs: 500, writer, redis: api.redis, realtimeTtlSeconds: 60, tokens: { service: TEST_KEYS.service.token }, log: () => undefined });
      await scraper.start();
      return scraper;
    },
    /** scraped is the target's last successful scrape, if any. */
    scraped: (port: number) => [...(scraper?.lastResults.values() ?? [])].find((r) => r.job === job && r.url === url(port) && r.up),
    /** scraping says whether the target is among the scraper's targets now. */
    scraping: (port: number) => (scraper?.currentTargets() ?? []).some((t) => t.url === url(port)),
    instances: () => (scraper?.currentTargets() ?? []).filter((t) => t.job === job).map((t) => t.instance).sort(),
    async close(): Promise<void> {
      scraper?.stop();
      for (const s of exporters) s.close();
      await api?.close();
    },
  };
}

/**
 * Consul service discovery (issue 19): consul_sd_configs as Prometheus reads them, against a server speaking
 * Consul's HTTP API (test/helpers/fake-consul.ts: no Consul server can be had here). The targets carry the labels
 * Prometheus documents; the scraper follows registrations through Consul's blocking queries: a new instance is
 * scraped, a removed one is not, each within one refresh interval.
 */
describe('consul_sd_configs', () => {
  const consul = new FakeConsul('dc-eu');
  beforeAll(async () => {
    await consul.start();
    consul.register(consulEntry({ id: 'web-1', service: 'web', node: 'node-a', nodeAddress: '10.0.0.1', port: 8080, tags: ['prod', 'v1'], meta: { version: '1.2.3', 'owner.team': 'ml' }, nodeMeta: { rack: 'r1' } }));
    consul.register(consulEntry({ id: 'web-2', service: 'web', node: 'node-b', nodeAddress: '10.0.0.2', address: '172.16.0.9', port: 8081, tags: ['prod', 'v2'], checks: [['serfHealth', 'passing'], ['service:web-2', 'warning']] }));
    consul.register(consulEntry({ id: 'db-1', service: 'db', node: 'node-c', nodeAddress: '10.0.0.3', port: 5432, tags: ['prod'], checks: [['serfHealth', 'passing'], ['service:db-1', 'critical']] }));
    consul.register(consulEntry({ id: 'cache-1', service: 'cache', node: 'node-a', nodeAddress: '10.0.0.1', port: 6379, tags: ['dev'] }));
    consul.register(consulEntry({ id: 'batch-1', service: 'batch', node: 'node-d', nodeAddress: '10.0.0.4', port: 9000, tags: ['prod'], checks: [['_node_maintenance', 'critical']] }));
  });
  afterAll(() => consul.stop());

  describe('targets and labels', () => {
    // Debian's Prometheus is built without Consul and Kubernetes discovery (its config refuses consul_sd_configs), so
    // the expected labels here are those of Prometheus' documentation of consul_sd_config, written out.
    const config = [
      'global: {scrape_interval: 1h}',
      'scrape_configs:',
      '  - job_name: consul-prod',
      '    consul_sd_configs:',
      `      - {server: '${'${CONSUL}'}', tags: [prod], refresh_interval: 5s}`,
      '    relabel_configs:',
      "      - {source_labels: [__meta_consul_health], regex: critical|maintenance, action: drop}",
      '      - {source_labels: [__meta_consul_service], target_label: service}',
      "      - {source_labels: [__meta_consul_tags], regex: '.*,(v[0-9]+),.*', target_label: version}",
      '      - {regex: __meta_consul_service_metadata_(.+), action: labelmap}',
      '  - job_name: consul-web-only',
      '    consul_sd_configs:',
      `      - {server: '${'${CONSUL}'}', services: [web], datacenter: dc-eu, node_meta: {rack: r1}, tag_separator: ';'}`,
      '',
    ].join('\n');

    it('discovers each instance with the __meta_consul_* labels Prometheus documents, filtered by service, tags and node metadata', async () => {
      const watchers = new DiscoveryWatchers({ onChange: () => undefined, log: () => undefined });
      try {
        const found: Record<string, { discovered: Labels; labels?: Labels; url?: string }> = {};
        for (const job of parseScrapeConfig(config.replaceAll('${CONSUL}', consul.address), {}, { intervalMs: 15_000, timeoutMs: 10_000 }).jobs) {
          for (const t of jobTargets(job, await discoverGroups(job, { cache: new Map(), timeoutMs: 5000, log: () => undefined, watchers }))) {
            found[`${job.jobName} ${t.discoveredLabels.__meta_consul_service_id}`] = { discovered: t.discoveredLabels, ...(t.labels ? { labels: t.labels, url: t.target!.url } : {}) };
          }
        }
        expect(Object.keys(found).sort()).toEqual(['consul-prod batch-1', 'consul-prod db-1', 'consul-prod web-1', 'consul-prod web-2', 'consul-web-only web-1']);
        // The service's own address wins over its node's; tags between separators; health from the checks.
        expect(found['consul-prod web-2']!.discovered).toEqual({
          __address__: '172.16.0.9:8081',
          __meta_consul_address: '10.0.0.2',
          __meta_consul_dc: 'dc-eu',
          __meta_consul_health: 'warning',
          __meta_consul_namespace: '',
          __meta_consul_node: 'node-b',
          __meta_consul_partition: '',
          __meta_consul_service: 'web',
          __meta_consul_service_address: '172.16.0.9',
          __meta_consul_service_id: 'web-2',
          __meta_consul_service_port: '8081',
          __meta_consul_tagged_address_lan: '10.0.0.2',
          __meta_consul_tagged_address_wan: '10.0.0.2',
          __meta_consul_tags: ',prod,v2,',
          __metrics_path__: '/metrics',
          __scheme__: 'http',
          __scrape_interval__: '1h',
          __scrape_timeout__: '10s',
          job: 'consul-prod',
        });
        expect(found['consul-prod web-2']).toMatchObject({ labels: { instance: '172.16.0.9:8081', job: 'consul-prod', service: 'web', version: 'v2' }, url: 'http://172.16.0.9:8081/metrics' });
        // Node and service metadata, sanitized names; the node's address when the service has none.
        expect(found['consul-prod web-1']!.discovered).toMatchObject({ __address__: '10.0.0.1:8080', __meta_consul_metadata_rack: 'r1', __meta_consul_service_metadata_owner_team: 'ml', __meta_consul_health: 'passing' });
        // (labelmap comes last: the service's `version` metadata replaces the tag-derived label)
        expect(found['consul-prod web-1']!.labels).toMatchObject({ owner_team: 'ml', version: '1.2.3' });
        // A failing check: critical; a node in maintenance: maintenance; both dropped by the relabeling.
        expect(found['consul-prod db-1']).toEqual({ discovered: expect.objectContaining({ __meta_consul_health: 'critical' }) });
        expect(found['consul-prod batch-1']).toEqual({ discovered: expect.objectContaining({ __meta_consul_health: 'maintenance' }) });
        // services + node_meta + datacenter: only web-1 (rack r1), its tags joined by the job's separator.
        expect(found['consul-web-only web-1']!.discovered).toMatchObject({ __meta_consul_tags: ';prod;v1;', __meta_consul_dc: 'dc-eu' });
        expect(consul.requests.some((r) => r.startsWith('/v1/health/service/web?') && r.includes('node-meta=rack%3Ar1') && r.includes('dc=dc-eu'))).toBe(true);
      } finally {
        watchers.stop();
      }
    }, 60_000);
  });

  describe('followed by the scraper', () => {
    const job = uniqueName('consul-job');
    const fixture = scrapingFixture(job);
    afterAll(() => fixture.close());

    it('scrapes an instance once it registers and stops once it deregisters, each within one refresh', async () => {
      const [portA, portB] = [await fixture.exporter(), await fixture.exporter()];
      consul.register(consulEntry({ id: 'live-a', service: 'live', node: 'node-l', nodeAddress: '127.0.0.1', port: portA, tags: ['scrape'] }));
      const refreshMs = 3_000;
      await fixture.start(['scrape_configs:', `  - job_name: ${job}`, '    scrape_interval: 1s', '    scrape_timeout: 500ms', '    consul_sd_configs:', `      - {server: '${consul.address}', tags: [scrape], refresh_interval: ${refreshMs / 1000}s}`, ''].join('\n'));
      await eventually(async () => expect(fixture.scraped(portA)).toBeDefined(), 5_000, 100);

      const registeredAt = Date.now();
      consul.register(consulEntry({ id: 'live-b', service: 'live', node: 'node-l', nodeAddress: '127.0.0.1', port: portB, tags: ['scrape'] }));
      // Among the targets within one refresh; then scraped at its next tick (1 s interval).
      await eventually(async () => expect(fixture.scraping(portB)).toBe(true), refreshMs, 50);
      const appearedMs = Date.now() - registeredAt;
      await eventually(async () => expect(fixture.scraped(portB)).toBeDefined(), 5_000, 50);

      const deregisteredAt = Date.now();
      consul.deregister('live-a');
      await eventually(async () => expect(fixture.scraping(portA)).toBe(false), refreshMs, 50);
      const goneMs = Date.now() - deregisteredAt;
      const lastScrape = fixture.scraped(portA)!.at;
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(fixture.scraped(portA)!.at).toBe(lastScrape);
      expect(fixture.instances()).toEqual([`127.0.0.1:${portB}`]);
      console.log(`[consul_sd] a registration among the targets after ${appearedMs} ms, a deregistration dropped after ${goneMs} ms (refresh ${refreshMs} ms)`);
      // The watch is Consul's blocking query on the catalog, not polling.
      expect(consul.requests.some((r) => /^\/v1\/catalog\/services\?.*index=[1-9]/.test(r) && /wait=3s/.test(r))).toBe(true);
    }, 60_000);
  });
});

/**
 * Kubernetes service discovery (issue 19): kubernetes_sd_configs (roles pod, service, endpoints) against a server
 * speaking the Kubernetes API's list and watch (test/helpers/fake-kubernetes.ts: no API server can run here), with
 * the labels Prometheus documents; the scraper follows pods as they come and go, through the watch.
 */
describe('kubernetes_sd_configs', () => {
  const kube = new FakeKubernetes('kube-token-0123');
  const pod = (name: string, ip: string, port: number, labels: Record<string, string> = { app: 'web' }, ready = 'True'): Pod => ({
    metadata: { name, namespace: 'trading', uid: `uid-${name}`, labels, annotations: { 'prometheus.io/scrape': 'true' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'web-7d9f', controller: true }] },
    spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'trading/web:1.4', ports: [{ name: 'metrics', containerPort: port, protocol: 'TCP' }] }, { name: 'sidecar', image: 'envoy:1.30' }] },
    status: { podIP: ip, hostIP: '192.168.1.10', phase: 'Running', conditions: [{ type: 'Ready', status: ready }] },
  });
  beforeAll(async () => {
    await kube.start();
    kube.apply('pods', pod('web-1', '10.1.0.5', 9100) as never);
    kube.apply('pods', { ...pod('batch-1', '10.1.0.6', 9200, { app: 'batch' }, 'False'), metadata: { name: 'batch-1', namespace: 'jobs', labels: { app: 'batch' } } } as never);
    kube.apply('services', { metadata: { name: 'web', namespace: 'trading', labels: { tier: 'front' } }, spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } } as never);
    kube.apply('endpoints', { metadata: { name: 'web', namespace: 'trading' }, subsets: [{ addresses: [{ ip: '10.1.0.5', nodeName: 'node-1', targetRef: { kind: 'Pod', name: 'web-1', namespace: 'trading' } }], notReadyAddresses: [{ ip: '10.1.0.7' }], ports: [{ name: 'metrics', port: 9100, protocol: 'TCP' }] }] } as never);
  });
  afterAll(() => kube.stop());

  it('discovers pods, services and endpoints with the __meta_kubernetes_* labels Prometheus documents', async () => {
    const config = [
      'scrape_configs:',
      ...(['pod', 'service', 'endpoints'] as const).flatMap((role) => [
        `  - job_name: k8s-${role}`,
        '    kubernetes_sd_configs:',
        `      - {role: ${role}, api_server: '${kube.url}', bearer_token: kube-token-0123${role === 'pod' ? ', namespaces: {names: [trading]}' : ''}}`,
      ]),
      '',
    ].join('\n');
    const watchers = new DiscoveryWatchers({ onChange: () => undefined, log: () => undefined });
    try {
      const found: Record<string, Labels> = {};
      for (const job of parseScrapeConfig(config, {}, { intervalMs: 15_000, timeoutMs: 10_000 }).jobs) {
        for (const t of jobTargets(job, await discoverGroups(job, { cache: new Map(), timeoutMs: 5000, log: () => undefined, watchers }))) found[`${job.jobName} ${t.discoveredLabels.__address__}`] = t.discoveredLabels;
      }
      // Pods of the namespace asked only: a target per container port, a portless container at the pod's IP.
      expect(Object.keys(found).filter((k) => k.startsWith('k8s-pod')).sort()).toEqual(['k8s-pod 10.1.0.5', 'k8s-pod 10.1.0.5:9100']);
      expect(found['k8s-pod 10.1.0.5:9100']).toMatchObject({
        __meta_kubernetes_namespace: 'trading',
        __meta_kubernetes_pod_name: 'web-1',
        __meta_kubernetes_pod_ip: '10.1.0.5',
        __meta_kubernetes_pod_label_app: 'web',
        __meta_kubernetes_pod_labelpresent_app: 'true',
        __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
        __meta_kubernetes_pod_annotationpresent_prometheus_io_scrape: 'true',
        __meta_kubernetes_pod_container_name: 'app',
        __meta_kubernetes_pod_container_image: 'trading/web:1.4',
        __meta_kubernetes_pod_container_init: 'false',
        __meta_kubernetes_pod_container_port_name: 'metrics',
        __meta_kubernetes_pod_container_port_number: '9100',
        __meta_kubernetes_pod_container_port_protocol: 'TCP',
        __meta_kubernetes_pod_ready: 'true',
        __meta_kubernetes_pod_phase: 'Running',
        __meta_kubernetes_pod_node_name: 'node-1',
        __meta_kubernetes_pod_host_ip: '192.168.1.10',
        __meta_kubernetes_pod_uid: 'uid-web-1',
        __meta_kubernetes_pod_controller_kind: 'ReplicaSet',
        __meta_kubernetes_pod_controller_name: 'web-7d9f',
      });
      expect(found['k8s-service web.trading.svc:80']).toMatchObject({ __meta_kubernetes_service_name: 'web', __meta_kubernetes_service_cluster_ip: '10.96.0.10', __meta_kubernetes_service_port_name: 'http', __meta_kubernetes_service_port_protocol: 'TCP', __meta_kubernetes_service_type: 'ClusterIP', __meta_kubernetes_service_label_tier: 'front' });
      // An endpoint backed by a pod carries the pod's and its service's labels; a not-ready address says so.
      expect(found['k8s-endpoints 10.1.0.5:9100']).toMatchObject({ __meta_kubernetes_endpoints_name: 'web', __meta_kubernetes_endpoint_ready: 'true', __meta_kubernetes_endpoint_node_name: 'node-1', __meta_kubernetes_endpoint_address_target_kind: 'Pod', __meta_kubernetes_endpoint_address_target_name: 'web-1', __meta_kubernetes_endpoint_port_name: 'metrics', __meta_kubernetes_pod_name: 'web-1', __meta_kubernetes_pod_container_name: 'app', __meta_kubernetes_service_name: 'web' });
      expect(found['k8s-endpoints 10.1.0.7:9100']).toMatchObject({ __meta_kubernetes_endpoint_ready: 'false' });
    } finally {
      watchers.stop();
    }
  }, 60_000);

  describe('followed by the scraper', () => {
    const job = uniqueName('k8s-job');
    const fixture = scrapingFixture(job);
    afterAll(() => fixture.close());

    it('scrapes a pod once it is created and stops once it is deleted, through the watch; a lost watch lists again', async () => {
      const [portA, portB, portC] = [await fixture.exporter(), await fixture.exporter(), await fixture.exporter()];
      kube.apply('pods', pod('live-a', '127.0.0.1', portA, { app: 'live' }) as never);
      await fixture.start(
        [
          'scrape_configs:',
          `  - job_name: ${job}`,
          '    scrape_interval: 1s',
          '    scrape_timeout: 500ms',
          '    kubernetes_sd_configs:',
          `      - {role: pod, api_server: '${kube.url}', authorization: {credentials: kube-token-0123}, namespaces: {names: [trading]}, selectors: [{role: pod, label: app=live}]}`,
          '    relabel_configs:',
          "      - {source_labels: [__meta_kubernetes_pod_container_port_name], regex: metrics, action: keep}",
          '',
        ].join('\n'),
      );
      await eventually(async () => expect(fixture.scraped(portA)).toBeDefined(), 5_000, 100);

      let since = Date.now();
      kube.apply('pods', pod('live-b', '127.0.0.1', portB, { app: 'live' }) as never);
      await eventually(async () => expect(fixture.scraping(portB)).toBe(true), 3_000, 50);
      const appearedMs = Date.now() - since;
      await eventually(async () => expect(fixture.scraped(portB)).toBeDefined(), 5_000, 50);
      since = Date.now();
      kube.remove('pods', 'trading', 'live-a');
      await eventually(async () => expect(fixture.scraping(portA)).toBe(false), 3_000, 50);
      const goneMs = Date.now() - since;
      // The API server loses the watches and forgets its history meanwhile: the watch resumes, is told 410 Gone,
      // lists again — and a pod created in between is found.
      kube.dropWatches(true);
      kube.apply('pods', pod('live-c', '127.0.0.1', portC, { app: 'live' }) as never);
      await eventually(async () => expect(fixture.scraped(portC)).toBeDefined(), 8_000, 100);
      expect(fixture.instances()).toEqual([`127.0.0.1:${portB}`, `127.0.0.1:${portC}`].sort());
      console.log(`[kubernetes_sd] a pod among the targets ${appearedMs} ms after it was created, dropped ${goneMs} ms after it was deleted`);
      expect(kube.requests.some((r) => r.startsWith('/api/v1/namespaces/trading/pods?') && r.includes('watch=1') && r.includes('labelSelector=app%3Dlive'))).toBe(true);
    }, 60_000);
  });
});
