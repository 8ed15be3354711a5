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
import { eventually, uniqueName } from '../helpers/stack';

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
    let api: TestApi;
    let scraper: Scraper;
    const exporters: Server[] = [];
    const job = uniqueName('consul-job');

    /** exporter serves a one-line exposition on a free port. */
    const exporter = async (): Promise<number> => {
      const server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end('sd_demo_up 1\n');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      exporters.push(server);
      return (server.address() as AddressInfo).port;
    };

    beforeAll(async () => {
      api = await startTestApi();
    });
    afterAll(async () => {
      scraper?.stop();
      for (const s of exporters) s.close();
      await api?.close();
    });

    it('scrapes an instance once it registers and stops once it deregisters, each within one refresh', async () => {
      const [portA, portB] = [await exporter(), await exporter()];
      consul.register(consulEntry({ id: 'live-a', service: 'live', node: 'node-l', nodeAddress: '127.0.0.1', port: portA, tags: ['scrape'] }));
      const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-consul-'));
      const refreshMs = 3_000;
      writeFileSync(
        path.join(dir, 'scrape.yaml'),
        ['scrape_configs:', `  - job_name: ${job}`, '    scrape_interval: 1s', '    scrape_timeout: 500ms', '    consul_sd_configs:', `      - {server: '${consul.address}', tags: [scrape], refresh_interval: ${refreshMs / 1000}s}`, ''].join('\n'),
      );
      const writer = new SampleWriter(api.clickhouse, api.config.clickhouse.database, { batchSize: 50_000, flushIntervalMs: 100, maxQueuedRows: 1_000_000, maxConcurrentInserts: 2 });
      // The scraper's own rediscovery interval is long (60 s): only the watch can bring the changes in time.
      scraper = new Scraper({ configPath: path.join(dir, 'scrape.yaml'), intervalMs: 60_000, timeoutMs: 500, writer, redis: api.redis, realtimeTtlSeconds: 60, tokens: { service: TEST_KEYS.service.token }, log: () => undefined });
      await scraper.start();
      const scraped = (port: number) => [...scraper.lastResults.values()].find((r) => r.job === job && r.url === `http://127.0.0.1:${port}/metrics` && r.up);
      await eventually(async () => expect(scraped(portA)).toBeDefined(), 5_000, 100);

      const registeredAt = Date.now();
      consul.register(consulEntry({ id: 'live-b', service: 'live', node: 'node-l', nodeAddress: '127.0.0.1', port: portB, tags: ['scrape'] }));
      await eventually(async () => expect(scraped(portB)).toBeDefined(), refreshMs, 50);
      const appearedMs = Date.now() - registeredAt;

      const deregisteredAt = Date.now();
      consul.deregister('live-a');
      await eventually(async () => expect(scraper.currentTargets().some((t) => t.url === `http://127.0.0.1:${portA}/metrics`)).toBe(false), refreshMs, 50);
      const goneMs = Date.now() - deregisteredAt;
      const lastScrape = scraped(portA)!.at;
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(scraped(portA)!.at).toBe(lastScrape);
      expect(scraper.currentTargets().filter((t) => t.job === job).map((t) => t.instance)).toEqual([`127.0.0.1:${portB}`]);
      console.log(`[consul_sd] a registration scraped after ${appearedMs} ms, a deregistration dropped after ${goneMs} ms (refresh ${refreshMs} ms)`);
      // The watch is Consul's blocking query on the catalog, not polling.
      expect(consul.requests.some((r) => /^\/v1\/catalog\/services\?.*index=[1-9]/.test(r) && /wait=3s/.test(r))).toBe(true);
    }, 60_000);
  });
});
