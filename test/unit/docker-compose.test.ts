import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../core/config';

interface ComposeService {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
}

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(path.resolve(__dirname, '../../docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  const { services } = compose;

  it('runs every service the code expects: Temporal on PostgreSQL with its UI, ClickHouse, Redis, the API and a worker', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'clickhouse', 'postgresql', 'redis', 'scraper', 'temporal', 'temporal-ui', 'worker']);
    expect(services.clickhouse?.image).toMatch(/^clickhouse\/clickhouse-server:\d+/);
    expect(services.api?.command).toEqual(['node', 'dist/api/server.js']);
    expect(services.worker?.command).toEqual(['node', 'dist/workers/worker.js']);
    expect(services.scraper?.command).toEqual(['node', 'dist/workers/scraper.js']);
  });

  it('points the API and worker at the compose services through the env the config reads', () => {
    for (const name of ['api', 'worker', 'scraper']) {
      const env = services[name]!.environment!;
      const config = loadConfig(env);
      const host = (url: string) => new URL(url).hostname;
      expect(config.temporal.address.split(':')[0]).toBe('temporal');
      expect(host(config.clickhouse.url)).toBe('clickhouse');
      expect(host(config.redisUrl)).toBe('redis');
      expect(services[config.temporal.address.split(':')[0]!]).toBeDefined();
    }
    expect(services.api?.ports).toContain('8080:8080');
    expect(services['temporal-ui']?.ports).toContain('8233:8080');
  });
});
