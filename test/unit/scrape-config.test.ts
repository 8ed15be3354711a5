import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expandEnv, parseFileSd, parseScrapeConfig } from '../../core/scrape-config';

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
    });
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

  it('reads file_sd groups, requiring a job label, honouring __metrics_path__', () => {
    expect(parseFileSd('[{"targets": ["h:9100"], "labels": {"job": "node", "__metrics_path__": "/m", "dc": "a"}}]', 'f.json')).toEqual([
      { job: 'node', url: 'http://h:9100/m', instance: 'h:9100', labels: { dc: 'a' } },
    ]);
    expect(() => parseFileSd('[{"targets": ["h:1"]}]', 'f.json')).toThrow('f.json[0].labels.job: required');
  });
});
