import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { discoverGroups } from '../../activities/discovery';
import { jobTargets, parseScrapeConfig } from '../../core/scrape-config';
import type { Labels } from '../../core/types';
import { startPrometheus, type RealPrometheus } from '../helpers/prometheus';
import { eventually } from '../helpers/stack';

/**
 * Prometheus' scrape_configs read by us as by Prometheus: one file — static_configs, file_sd YAML files matched by
 * a glob, http_sd from a local server, params, honor_labels, and relabel_configs using every action — is loaded by
 * a real Prometheus (2.42) and by our parser and discovery; the targets each keeps (labels before and after
 * relabeling, scrape URL) and drops must be the same. Prometheus' side is its /api/v1/targets.
 */
interface PromTarget {
  discoveredLabels: Labels;
  labels?: Labels;
  scrapeUrl?: string;
}

describe('scrape_configs: our targets are the ones Prometheus derives from the same file', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-scrapecfg-'));
  let sd: Server;
  let prometheus: RealPrometheus;
  let config: string;

  beforeAll(async () => {
    writeFileSync(path.join(dir, 'targets-a.yml'), "- targets: ['10.1.0.1:9100', '10.1.0.2:9100']\n  labels: {env: Staging, team: db}\n- targets: ['cache-7:6379']\n");
    writeFileSync(path.join(dir, 'targets-b.json'), JSON.stringify([{ targets: ['10.2.0.1:8080'], labels: { env: 'PROD' } }]));
    writeFileSync(path.join(dir, 'other.yml'), "- targets: ['never:1']\n");
    sd = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([{ targets: ['api-1:8080', 'api-2:8080'], labels: { role: 'cache', zone: 'eu' } }, { targets: ['batch-1:8080'], labels: { role: 'batch' } }]));
    });
    await new Promise<void>((resolve) => sd.listen(0, '127.0.0.1', resolve));
    const sdUrl = `http://127.0.0.1:${(sd.address() as AddressInfo).port}/sd`;
    config = [
      'global: {scrape_interval: 1h, scrape_timeout: 10s}',
      'scrape_configs:',
      '  - job_name: nodes',
      '    scrape_interval: 30s',
      '    scrape_timeout: 5s',
      '    metrics_path: /probe',
      '    params: {module: [http_2xx, extra], debug: ["true"]}',
      '    static_configs:',
      "      - targets: ['10.0.0.1:9100', '10.0.0.2:9100', 'db-3']",
      '        labels: {env: Prod, team: ml}',
      '    file_sd_configs:',
      `      - files: ['${dir}/targets-*.yml', '${dir}/targets-*.json']`,
      '    relabel_configs:',
      "      - {source_labels: [__address__], regex: '10\\.0\\.0\\.2:.*', action: drop}",
      "      - {source_labels: [__address__], regex: '([^:]+)(?::\\d+)?', target_label: host, replacement: '${1}'}",
      '      - {source_labels: [env], target_label: env, action: lowercase}',
      '      - {source_labels: [team], target_label: TEAM, action: uppercase}',
      '      - {source_labels: [__address__], target_label: __param_target}',
      '      - {source_labels: [__address__], target_label: shard, modulus: 4, action: hashmod}',
      "      - {source_labels: [team], regex: '(.+)', target_label: __tmp_team}",
      "      - {regex: '__tmp_(.+)', action: labelmap, replacement: 'copy_$1'}",
      '      - {source_labels: [team], target_label: copy_team, action: keepequal}',
      "      - {source_labels: [env], regex: 'prod', target_label: __scheme__, replacement: https}",
      "      - {regex: 'TEAM', action: labeldrop}",
      '  - job_name: discovered',
      '    honor_labels: true',
      '    http_sd_configs:',
      `      - url: ${sdUrl}`,
      '    relabel_configs:',
      "      - {source_labels: [__meta_url], regex: '.*/(sd)', target_label: source}",
      "      - {source_labels: [role], regex: 'cache', action: keep}",
      "      - {source_labels: [__address__], regex: '(.*):(.*)', target_label: __address__, replacement: '${1}:9${2}'}",
      "      - {source_labels: [zone], target_label: job, replacement: 'discovered-$1'}",
      "      - {regex: '__.*|job|role|zone', action: labelkeep}",
      '',
    ].join('\n');
    prometheus = await startPrometheus(() => config);
  });
  afterAll(() => {
    prometheus?.dispose();
    sd?.close();
  });

  const key = (t: PromTarget) => JSON.stringify([t.scrapeUrl ?? '', Object.entries(t.labels ?? {}).sort(), Object.entries(t.discoveredLabels).sort()]);

  it('keeps and drops the same targets, with the same labels and scrape URLs', async () => {
    const theirs = await eventually(async () => {
      const body = (await (await fetch(`${prometheus.url}/api/v1/targets?state=any`)).json()) as { data: { activeTargets: PromTarget[]; droppedTargets: PromTarget[] } };
      expect(body.data.activeTargets.length + body.data.droppedTargets.length).toBe(10);
      return body.data;
    }, 30_000);
    const parsed = parseScrapeConfig(config, {}, { intervalMs: 15_000, timeoutMs: 10_000 });
    const ours = { activeTargets: [] as PromTarget[], droppedTargets: [] as PromTarget[] };
    for (const job of parsed.jobs) {
      for (const found of jobTargets(job, await discoverGroups(job, { cache: new Map(), timeoutMs: 5000, log: () => undefined }))) {
        if (found.target) ours.activeTargets.push({ discoveredLabels: found.discoveredLabels, labels: found.labels!, scrapeUrl: found.target.url });
        else ours.droppedTargets.push({ discoveredLabels: found.discoveredLabels });
      }
    }
    expect(ours.activeTargets.map(key).sort()).toEqual(theirs.activeTargets.map((t) => key({ discoveredLabels: t.discoveredLabels, labels: t.labels!, scrapeUrl: t.scrapeUrl! })).sort());
    expect(ours.droppedTargets.map(key).sort()).toEqual(theirs.droppedTargets.map((t) => key({ discoveredLabels: t.discoveredLabels })).sort());
    // Spot checks that the comparison covers what it means to: a dropped target, https and params, hashmod, labelmap.
    expect(ours.droppedTargets.length).toBeGreaterThanOrEqual(2);
    expect(ours.activeTargets.find((t) => t.labels!.host === '10.0.0.1')).toMatchObject({ scrapeUrl: 'https://10.0.0.1:9100/probe?debug=true&module=http_2xx&module=extra&target=10.0.0.1%3A9100', labels: { copy_team: 'ml', shard: expect.any(String) } });
    expect(ours.activeTargets.find((t) => t.labels!.job === 'discovered-eu')).toMatchObject({ labels: { instance: 'api-1:98080', job: 'discovered-eu', role: 'cache', zone: 'eu' } });
  });
});
