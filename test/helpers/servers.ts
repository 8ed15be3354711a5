import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fromRoot } from '../../store/paths';

const SERVICES_SH = fromRoot('scripts/services.sh');

/** freePort asks the OS for a loopback port nobody listens on. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * PRODUCTION is true under `npm run test:production`: Temporal is the Temporal server on PostgreSQL (each private
 * Temporal with a PostgreSQL of its own), not the dev server.
 */
export const PRODUCTION = process.env.TEST_PROFILE === 'production';

/**
 * freePortBlock finds `count` consecutive free loopback ports (the Temporal server listens on its frontend port P
 * and P+1…P+9) and returns the first — below 32768: the server stores its membership ports as PostgreSQL smallint.
 */
export async function freePortBlock(count: number): Promise<number> {
  const listens = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.unref();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 200; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * 12_000);
    let ok = true;
    for (let p = first; ok && p < first + count; p++) ok = await listens(p);
    if (ok) return first;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** temporalEnv is the env of a private Temporal: the dev server on a free port, or the production profile's server. */
async function temporalEnv(): Promise<{ TEMPORAL_ADDRESS: string } & Record<string, string>> {
  if (!PRODUCTION) return { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` };
  const [frontend, postgres] = await Promise.all([freePortBlock(10), freePort()]);
  return { TEMPORAL_BACKEND: 'postgresql', TEMPORAL_ADDRESS: `127.0.0.1:${frontend}`, POSTGRES_PORT: String(postgres) };
}

/**
 * privateServerEnv is the env of a run's own ClickHouse, Redis and Temporal on free ports, with data under `dir`
 * (ephemeral: no Web UI, nothing kept) — what tests and benchmarks start instead of touching the dev stack.
 */
export async function privateServerEnv(dir: string): Promise<Record<string, string>> {
  const [chHttp, chTcp, redis] = await Promise.all(Array.from({ length: 3 }, freePort));
  return {
    MONITORING_LOCAL_DIR: dir,
    MONITORING_EPHEMERAL: '1',
    CLICKHOUSE_URL: `http://127.0.0.1:${chHttp}`,
    CLICKHOUSE_TCP_PORT: String(chTcp),
    REDIS_URL: `redis://127.0.0.1:${redis}`,
    ...(await temporalEnv()),
    // The production profile's Redis keeps an append-only file, as a deployment's would.
    ...(PRODUCTION ? { REDIS_APPENDONLY: 'yes' } : {}),
  };
}

/** services runs scripts/services.sh with the given env — the same script `npm start` uses. */
export function services(args: string[], env: Record<string, string>): void {
  execFileSync('bash', [SERVICES_SH, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** PrivateServer is a server of one test (ClickHouse or Redis), which it may stop and start (outage tests). */
export interface PrivateServer {
  url: string;
  stop: () => void;
  start: () => void;
  dispose: () => void;
}
export type PrivateClickHouse = PrivateServer;
export type PrivateRedis = PrivateServer;

/** privateServer starts one server of scripts/services.sh with its own folder and the env's ports. */
function privateServer(name: 'clickhouse' | 'redis' | 'temporal', dir: string, env: Record<string, string>, url: string): PrivateServer {
  const all = { MONITORING_LOCAL_DIR: dir, MONITORING_EPHEMERAL: '1', ...env };
  services(['start', name], all);
  return {
    url,
    stop: () => services(['stop', name], all),
    start: () => services(['start', name], all),
    dispose: () => {
      services(['stop', name], all);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** privateClickHouse starts a ClickHouse server of its own on free ports in a temporary folder. */
export async function privateClickHouse(): Promise<PrivateClickHouse> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-ch-'));
  const [http, tcp] = await Promise.all([freePort(), freePort()]);
  const url = `http://127.0.0.1:${http}`;
  return privateServer('clickhouse', dir, { CLICKHOUSE_URL: url, CLICKHOUSE_TCP_PORT: String(tcp) }, url);
}

/** privateRedis starts a Redis server of its own on a free port in a temporary folder (no persistence). */
export async function privateRedis(): Promise<PrivateRedis> {
  const url = `redis://127.0.0.1:${await freePort()}`;
  return privateServer('redis', mkdtempSync(path.join(os.tmpdir(), 'pm-redis-')), { REDIS_URL: url }, url);
}

/**
 * privateTemporal starts a Temporal of its own on free ports: a dev server, whose state `persistent` keeps in a
 * SQLite file (as `npm start` runs it); under the production profile a Temporal server on a PostgreSQL of its own
 * (always persistent), which stop() and start() stop and start together — a restart of both.
 */
export async function privateTemporal(persistent = true): Promise<PrivateServer & { address: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-temporal-'));
  const temporal = await temporalEnv();
  const address = temporal.TEMPORAL_ADDRESS!;
  const env = { ...temporal, TEMPORAL_UI_PORT: String(await freePort()), MONITORING_EPHEMERAL: persistent ? '0' : '1' };
  return { ...privateServer('temporal', dir, env, address), address };
}

/**
 * privateClickHouseCluster starts two ClickHouse servers of its own as the shards of cluster `name` (each with the
 * same remote_servers) and returns the env overrides that point the module at shard 1 with the cluster configured.
 */
export async function privateClickHouseCluster(name = 'pm_private'): Promise<{ env: Record<string, string>; shardUrls: string[]; shards: PrivateServer[]; dispose: () => void }> {
  const shards = await Promise.all(
    [0, 1].map(async () => {
      const [http, tcp] = await Promise.all([freePort(), freePort()]);
      return { dir: mkdtempSync(path.join(os.tmpdir(), 'pm-shard-')), url: `http://127.0.0.1:${http}`, tcp };
    }),
  );
  const cluster = { CLICKHOUSE_CLUSTER: name, CLICKHOUSE_CLUSTER_SHARDS: shards.map((s) => `127.0.0.1:${s.tcp}`).join(',') };
  const servers = shards.map((s) =>
    privateServer('clickhouse', s.dir, { ...cluster, CLICKHOUSE_URL: s.url, CLICKHOUSE_TCP_PORT: String(s.tcp) }, s.url),
  );
  const shardUrls = shards.map((s) => s.url);
  return {
    env: { CLICKHOUSE_CLUSTER: name, CLICKHOUSE_URL: shardUrls[0]!, CLICKHOUSE_SHARD_URLS: shardUrls.join(',') },
    shardUrls,
    shards: servers,
    dispose: () => servers.forEach((s) => s.dispose()),
  };
}
