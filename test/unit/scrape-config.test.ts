import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expandEnv, jobTargets, parseFileSd, parseScrapeConfig } from '../../core/scrape-config';

describe('parseScrapeConfig', () => {
  it('reads the seed\'s static services and file_sd paths', () => {
    const config = parseScrapeConfig(
      'service_discovery:\n  static:\n    services:\n      - name: ml-inference\n        endpoints: ["http://ml-inference-001:8080/metrics", "ml-inference-002:8080"]\n        labels: {team: ml, tier: critical}\n  file_sd:\n    files: [targets.json]\n',
    );
    expect(config).toEqual({
      targets: [
        { job: 'ml-inference', url: 'http://ml-inference-001:8080/metrics', instance: 'ml-inference-001:8080', labels: { team: 'ml', tier: 'critical' } },
        { job: 'ml-inference', url: 'http://ml-inference-002:8080/metrics', instance: 'ml-inference-002:8080', labels: { team: 'ml', tier: 'critical' } },
      ],
      fileSdPaths: ['targets.json'],
      jobs: [],
    });
  });

  it("reads Prometheus' scrape_configs with Prometheus' defaults, and names the field of every fault", () => {
    const doc = (jobs: string) => `global: {scrape_interval: 1m}\nscrape_configs:\n${jobs}`;
    const [job] = parseScrapeConfig(doc('  - job_name: a\n    static_configs: [{targets: ["h:1"]}]\n    basic_auth: {username: u, password: p}\n'), {}, { intervalMs: 15_000, timeoutMs: 10_000 }).jobs;
    expect(job).toMatchObject({ jobName: 'a', intervalMs: 60_000, timeoutMs: 10_000, metricsPath: '/metrics', scheme: 'http', honorLabels: false, authorization: `Basic ${Buffer.from('u:p').toString('base64')}` });
    const bad: Array<[string, string]> = [
      ['  - static_configs: []\n', 'scrape_configs[0].job_name: required'],
      ['  - {job_name: a}\n  - {job_name: a}\n', 'scrape_configs[1].job_name: "a" is used by another job'],
      ['  - {job_name: a, scrape_interval: 10s, scrape_timeout: 20s}\n', 'scrape_configs[0].scrape_timeout: 20s is longer than the scrape_interval 10s'],
      ['  - {job_name: a, scrape_interval: soon}\n', 'scrape_configs[0].scrape_interval: invalid duration'],
      ['  - {job_name: a, ec2_sd_configs: []}\n', 'scrape_configs[0].ec2_sd_configs: not supported'],
      ['  - {job_name: a, kubernetes_sd_configs: [{role: node, api_server: "http://k:6443"}]}\n', 'scrape_configs[0].kubernetes_sd_configs[0].role: one of pod, service, endpoints'],
      ['  - {job_name: a, kubernetes_sd_configs: [{role: pod}]}\n', 'scrape_configs[0].kubernetes_sd_configs[0].api_server: required'],
      ['  - {job_name: a, consul_sd_configs: [{server: "c:8500", refresh_interval: soon}]}\n', 'scrape_configs[0].consul_sd_configs[0].refresh_interval: invalid duration'],
      ['  - {job_name: a, consul_sd_configs: [{server: "c:8500", filter: "x"}]}\n', 'scrape_configs[0].consul_sd_configs[0].filter: not supported'],
      ['  - {job_name: a, file_sd_configs: [{files: [targets.txt]}]}\n', 'must end in .json, .yml or .yaml'],
      ['  - {job_name: a, scheme: ftp}\n', 'scrape_configs[0].scheme: http or https'],
      ['  - {job_name: a, relabel_configs: [{action: keep, regex: "("}]}\n', 'scrape_configs[0].relabel_configs[0].regex'],
    ];
    for (const [jobs, message] of bad) expect(() => parseScrapeConfig(doc(jobs))).toThrow(message);
  });

  it('derives targets as Prometheus: default port by scheme, instance from the address, __ labels gone, honor_labels and metric relabeling carried', () => {
    const [job] = parseScrapeConfig('scrape_configs:\n  - job_name: web\n    scheme: https\n    honor_labels: true\n    metric_relabel_configs: [{source_labels: [__name__], regex: "go_.*", action: drop}]\n').jobs;
    const [found] = jobTargets(job!, [{ targets: ['example.org'], labels: { __meta_x: 'y', dc: 'a' } }]);
    expect(found!.labels).toEqual({ job: 'web', instance: 'example.org:443', dc: 'a' });
    expect(found!.target).toMatchObject({ job: 'web', instance: 'example.org:443', url: 'https://example.org:443/metrics', labels: { dc: 'a' }, honorLabels: true, metricRelabel: [expect.objectContaining({ action: 'drop' })] });
  });

  it('loads the shipped config/scrape.yaml', () => {
    const config = parseScrapeConfig(readFileSync(path.resolve(__dirname, '../../config/scrape.yaml'), 'utf8'));
    expect(config.targets).toEqual([expect.objectContaining({ job: 'performance-monitoring', apiKeyRole: 'service' })]);
  });

  it('fills ${NAME:-default} from the environment: the shipped self target follows MONITORING_SELF_TARGET', () => {
    const text = readFileSync(path.resolve(__dirname, '../../config/scrape.yaml'), 'utf8');
    expect(parseScrapeConfig(text).targets[0]!.url).toBe('http://127.0.0.1:8080/metrics');
    expect(parseScrapeConfig(text, { MONITORING_SELF_TARGET: 'api:8080' }).targets[0]!.url).toBe('http://api:8080/metrics');
    expect(expandEnv('a: ${X}, b: ${Y:-two}, c: ${Y:-}', { X: 'one' })).toBe('a: one, b: two, c: ');
    expect(() => expandEnv('url: ${MISSING}', {})).toThrow('${MISSING}: the environment variable is not set');
  });

  it('reads file_sd groups in JSON or YAML, requiring a job label, honouring __metrics_path__', () => {
    expect(parseFileSd('- targets: ["h:9100"]\n  labels: {job: node}\n', 'f.yml')).toEqual([{ job: 'node', url: 'http://h:9100/metrics', instance: 'h:9100', labels: {} }]);
    expect(parseFileSd('[{"targets": ["h:9100"], "labels": {"job": "node", "__metrics_path__": "/m", "dc": "a"}}]', 'f.json')).toEqual([
      { job: 'node', url: 'http://h:9100/m', instance: 'h:9100', labels: { dc: 'a' } },
    ]);
    expect(() => parseFileSd('[{"targets": ["h:1"]}]', 'f.json')).toThrow('f.json[0].labels.job: required');
  });
});
