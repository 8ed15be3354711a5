import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../core/config';
import { expandEnv } from '../../core/scrape-config';

/**
 * docker-compose.yml is a contract Docker cannot run here: these checks hold it to the production profile that CI
 * does run (`npm run start:production`, `npm run test:production`) — the same services, versions, settings and
 * env names — and to what the code reads.
 */

interface ComposeService {
  image?: string;
  build?: string | { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  secrets?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
/** shellVar reads NAME="value" from scripts/lib.sh. */
const shellVar = (name: string) => new RegExp(`^${name}="([^"]+)"`, 'm').exec(read('scripts/lib.sh'))?.[1];
/** profile is config/production.env as a map. */
const profile = Object.fromEntries(
  read('config/production.env')
    .split('\n')
    .map((line) => /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!]),
);

/** envNamesRead lists every environment variable the application's source reads (env.NAME / process.env.NAME / intVar(env, 'NAME')). */
function envNamesRead(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(ROOT, dir))) {
      const rel = path.join(dir, entry);
      if (statSync(path.join(ROOT, rel)).isDirectory()) walk(rel);
      else if (rel.endsWith('.ts')) {
        for (const m of read(rel).matchAll(/\benv\.([A-Z][A-Z0-9_]+)|\(env, '([A-Z][A-Z0-9_]+)'|name: '([A-Z][A-Z0-9_]+)'/g)) names.add(m[1] ?? m[2] ?? m[3]!);
      }
    }
  };
  for (const dir of ['core', 'api', 'workers', 'activities', 'store', 'workflows']) walk(dir);
  // config/scrape.yaml reads its own ${NAME:-default}s.
  for (const m of read('config/scrape.yaml').matchAll(/\$\{([A-Z][A-Z0-9_]+)/g)) names.add(m[1]!);
  return names;
}

describe('docker-compose.yml agrees with the production profile', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService>; secrets: Record<string, { file: string }> };
  const { services } = compose;
  /** appEnv is a service's environment with compose's ${NAME:-default} taken at its default. */
  const appEnv = (name: string) => Object.fromEntries(Object.entries(services[name]!.environment!).map(([k, v]) => [k, expandEnv(String(v), {})]));
  const temporalDockerfile = read('docker/temporal.Dockerfile');
  const arg = (name: string) => new RegExp(`^ARG ${name}=(\\S+)`, 'm').exec(temporalDockerfile)?.[1];

  it('runs the profile\'s servers: the Temporal server on PostgreSQL with its Web UI, ClickHouse, Redis, and the API, worker and scraper', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'clickhouse', 'postgresql', 'redis', 'scraper', 'temporal', 'temporal-ui', 'worker']);
    expect(profile.TEMPORAL_BACKEND).toBe('postgresql');
    expect(services.api?.command).toEqual(['node', 'dist/api/server.js']);
    expect(services.worker?.command).toEqual(['node', 'dist/workers/worker.js']);
    expect(services.scraper?.command).toEqual(['node', 'dist/workers/scraper.js']);
  });

  it('pins the same versions as the profile: Temporal server and CLI, Go toolchain, Web UI, PostgreSQL, ClickHouse', () => {
    expect(services.temporal?.build).toEqual({ context: '.', dockerfile: 'docker/temporal.Dockerfile' });
    expect(arg('TEMPORAL_SERVER_VERSION')).toBe(shellVar('TEMPORAL_SERVER_VERSION'));
    expect(arg('TEMPORAL_CLI_VERSION')).toBe(shellVar('TEMPORAL_CLI_GO_VERSION'));
    expect(temporalDockerfile).toContain(`GOTOOLCHAIN=${shellVar('TEMPORAL_SERVER_GOTOOLCHAIN')}`);
    // The Web UI is built from the same pinned module set (scripts/temporal/ui/go.mod) in both.
    expect(temporalDockerfile).toContain('COPY scripts/temporal/ui /src/ui');
    expect(services.temporal?.image).toBe(`performance-monitoring/temporal:${shellVar('TEMPORAL_SERVER_VERSION')!.slice(1)}`);
    expect(services['temporal-ui']?.image).toBe(services.temporal?.image);
    expect(services.postgresql?.image).toBe(`postgres:${shellVar('POSTGRES_MAJOR')}`);
    const [major, minor] = shellVar('CHDB_CORE_VERSION')!.split('.');
    expect(services.clickhouse?.image).toBe(`clickhouse/clickhouse-server:${major}.${minor}`);
  });

  it('runs Temporal with the profile\'s config and health check (temporal operator cluster health, never tctl)', () => {
    for (const file of ['scripts/temporal/server.yaml', 'scripts/temporal/dynamicconfig.yaml', 'scripts/temporal/ui.yaml', 'scripts/temporal/setup.sh']) {
      expect(temporalDockerfile).toContain(file);
    }
    expect(read('docker/temporal-entrypoint.sh')).toContain('temporal_render_config /etc/temporal/server.yaml');
    expect(services.temporal?.healthcheck?.test).toEqual(['CMD', 'temporal', 'operator', 'cluster', 'health', '--address', '127.0.0.1:7233']);
    expect(read('docker-compose.yml')).not.toMatch(/\btctl\b/);
    for (const app of ['api', 'worker', 'scraper']) expect(services[app]?.depends_on?.temporal?.condition).toBe('service_healthy');
  });

  it('keeps Redis in an append-only file on a volume, as the profile does', () => {
    expect(profile.REDIS_APPENDONLY).toBe('yes');
    expect(services.redis?.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--appendfsync', 'everysec']));
    expect(services.redis?.volumes).toEqual(['redis-data:/data']);
  });

  it('gives every process one link secret and keys file, passes Slack/SMTP/public URLs through, and names only env the code reads', () => {
    const known = envNamesRead();
    for (const app of ['api', 'worker', 'scraper']) {
      const env = services[app]!.environment!;
      for (const name of Object.keys(env)) expect([app, name, known.has(name)]).toEqual([app, name, true]);
      expect(env.ALERT_LINK_SECRET_FILE).toBe('/run/secrets/link-secret');
      expect(services[app]?.secrets).toContain('link-secret');
      expect(env.MONITORING_API_KEYS_FILE).toBe('/app/data/credentials.json');
      expect(services[app]?.volumes).toContain('./data:/app/data');
      for (const name of ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SMTP_URL', 'PUBLIC_BASE_URL', 'TEMPORAL_UI_URL']) expect(env[name]).toMatch(new RegExp(`^\\$\\{${name}:-`));
    }
    // The application settings of the profile are set in compose too (ports and local paths differ by design).
    for (const name of ['PUBLIC_BASE_URL', 'TEMPORAL_UI_URL', 'MONITORING_SELF_TARGET', 'CLICKHOUSE_URL', 'CLICKHOUSE_DATABASE', 'REDIS_URL', 'TEMPORAL_ADDRESS', 'API_PORT']) {
      expect([name, name in profile, name in services.api!.environment!]).toEqual([name, true, true]);
    }
    expect(compose.secrets).toEqual({ 'postgres-password': { file: './secrets/postgres-password' }, 'link-secret': { file: './secrets/link-secret' } });
    expect(services.postgresql?.environment?.POSTGRES_PASSWORD_FILE).toBe('/run/secrets/postgres-password');
    expect(services.temporal?.environment?.POSTGRES_PASSWORD_FILE).toBe('/run/secrets/postgres-password');
    expect(known.has('ALERT_LINK_SECRET_FILE')).toBe(true);
  });

  it('points the processes at the compose services, and the scraper at the API inside compose', () => {
    for (const name of ['api', 'worker', 'scraper']) {
      const config = loadConfig(appEnv(name));
      const host = (url: string) => new URL(url).hostname;
      expect(config.temporal.address).toBe('temporal:7233');
      expect(host(config.clickhouse.url)).toBe('clickhouse');
      expect(host(config.redisUrl)).toBe('redis');
      expect(config.publicBaseUrl).toBe('http://localhost:8080');
      expect(config.temporal.uiBaseUrl).toBe('http://localhost:8233');
    }
    expect(appEnv('scraper').MONITORING_SELF_TARGET).toBe('api:8080');
    expect(services.api?.ports).toContain('8080:8080');
    expect(services['temporal-ui']?.ports).toContain('8233:8233');
  });

  it('builds the app image for production: Node LTS, production dependencies only, chart fonts, a non-root user', () => {
    const dockerfile = read('Dockerfile');
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/^node:(22|24)-/);
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(dockerfile).toContain('fonts-dejavu-core');
    expect(/^USER (\S+)/m.exec(dockerfile)?.[1]).not.toBe('root');
    // What the runtime reads besides dist/: the page's static files, the config files and the migrations.
    for (const dir of ['api/static', 'config', 'db']) expect(dockerfile).toContain(`COPY ${dir} ./${dir}`);
  });
});
