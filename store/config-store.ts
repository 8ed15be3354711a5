import type { ClickHouseClient } from '@clickhouse/client';
import type Redis from 'ioredis';
import { QueryParams, dateTime64Text, sqlIdentifier } from '../core/escape';

/**
 * The durable home of what operators create through the admin API (rules, escalation policies, silences, on-call
 * schedules): ClickHouse's config_objects holds every change, Redis a hash per kind as the cache every read is served
 * from. A write goes to ClickHouse first (a 2xx means durable), then to the cache; a read that finds the cache empty —
 * Redis flushed, replaced or restarted without persistence — reloads it from ClickHouse first. Bodies are JSON.
 */

/** ConfigKind is the kind of object a store holds. */
export type ConfigKind = 'rule' | 'policy' | 'silence' | 'schedule';

/** ConfigStore is one kind of object of one deployment, by name. */
export interface ConfigStore {
  /** all returns every object's body by name. */
  all(): Promise<Map<string, string>>;
  /** put stores `body` under `name` (created or changed). */
  put(name: string, body: string): Promise<void>;
  /** remove deletes `name`; false if there was none. */
  remove(name: string): Promise<boolean>;
}

export interface ConfigStoreDeps {
  clickhouse: ClickHouseClient;
  database: string;
  redis: Redis;
}

// Versions order one name's changes: milliseconds × 1000 plus a counter, increasing within a process.
let lastVersion = 0;
function nextVersion(): number {
  lastVersion = Math.max(lastVersion + 1, Date.now() * 1000);
  return lastVersion;
}

/**
 * createConfigStore opens the store of `kind` for deployment `scope`, cached in the Redis hash `cacheKey` (the key
 * the object's readers have always used, so existing deployments keep working: their objects are written back to
 * ClickHouse at the first change).
 */
export function createConfigStore(deps: ConfigStoreDeps, kind: ConfigKind, scope: string, cacheKey: string): ConfigStore {
  const { clickhouse, redis } = deps;
  const table = `${sqlIdentifier(deps.database)}.config_objects`;
  // Set once the cache holds everything ClickHouse has; gone with a flush, which sends the next read to ClickHouse.
  const loadedKey = `${cacheKey}:loaded`;

  async function durable(): Promise<Map<string, string>> {
    const p = new QueryParams();
    const result = await clickhouse.query({
      query: `SELECT name, argMax(body, version) AS body, argMax(deleted, version) AS gone FROM ${table}
              WHERE kind = ${p.string(kind)} AND scope = ${p.string(scope)} GROUP BY name HAVING gone = 0`,
      query_params: p.values,
      format: 'JSONEachRow',
    });
    return new Map((await result.json<{ name: string; body: string }>()).map((r) => [r.name, r.body]));
  }

  async function reload(): Promise<void> {
    const objects = await durable();
    // What the cache held without ClickHouse (written before this store existed) is kept and made durable.
    const cached = await redis.hgetall(cacheKey);
    const orphans = Object.entries(cached).filter(([name]) => !objects.has(name));
    if (orphans.length > 0) await record(orphans.map(([name, body]) => ({ name, body, deleted: 0 })));
    const multi = redis.multi().del(cacheKey);
    const all = new Map([...objects, ...orphans]);
    if (all.size > 0) multi.hset(cacheKey, Object.fromEntries(all));
    await multi.set(loadedKey, '1').exec();
  }

  async function record(rows: Array<{ name: string; body: string; deleted: 0 | 1 }>): Promise<void> {
    const now = Date.now();
    await clickhouse.insert({
      table,
      values: rows.map((r) => ({ kind, scope, name: r.name, version: nextVersion(), deleted: r.deleted, body: r.body, updated_at: dateTime64Text(now) })),
      format: 'JSONEachRow',
    });
  }

  async function ensureLoaded(): Promise<void> {
    if (!(await redis.exists(loadedKey))) await reload();
  }

  return {
    async all() {
      await ensureLoaded();
      return new Map(Object.entries(await redis.hgetall(cacheKey)));
    },
    async put(name, body) {
      await ensureLoaded();
      await record([{ name, body, deleted: 0 }]);
      await redis.hset(cacheKey, name, body);
    },
    async remove(name) {
      await ensureLoaded();
      if (!(await redis.hexists(cacheKey, name))) return false;
      await record([{ name, body: '', deleted: 1 }]);
      await redis.hdel(cacheKey, name);
      return true;
    },
  };
}
