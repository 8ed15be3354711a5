import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { sqlIdentifier } from '../core/escape';
import type { Config } from '../core/config';
import { clusterStatements } from '../core/cluster-ddl';
import { createClickHouse } from './clients';
import { fromRoot } from './paths';

/** MIGRATIONS_DIR is where the numbered SQL files live. */
export const MIGRATIONS_DIR = fromRoot('db');

interface MigrationFile {
  version: number;
  name: string;
  statements: string[];
}

/** readMigrations reads the numbered files, split into statements that still hold `${db}` and the TTL days. */
async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const files = (await readdir(dir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (name) => {
      const text = await readFile(path.join(dir, name), 'utf8');
      const statements = text
        .split(/;\s*$/m)
        .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
        .filter(Boolean);
      return { version: Number(name.split('_')[0]), name, statements };
    }),
  );
}

/**
 * runStatement runs one migration statement, so that two processes migrating at once both succeed: a table that
 * another process created between the server's existence check and its creation counts as done.
 */
async function runStatement(client: ClickHouseClient, statement: string): Promise<void> {
  try {
    await client.command({ query: statement });
  } catch (err) {
    const raced = /^CREATE\s.*\bIF\s+NOT\s+EXISTS\b/is.test(statement) && /already exists/i.test((err as Error).message);
    if (!raced) throw err;
  }
}

/** MigrationOptions say where the files are, the cluster (if any) and the retention the tables' TTLs start with. */
export interface MigrationOptions {
  dir?: string;
  cluster?: string;
  /** MONITORING_RETENTION_DAYS and MONITORING_AGGREGATE_RETENTION_DAYS; the retention job keeps the TTLs in line later. */
  retention?: { detailedDays: number; aggregateDays: number };
}

/**
 * applyMigrations creates the database and applies each db/ file not yet recorded in schema_migrations; with a
 * `cluster`, in the form of a shard of it (core/cluster-ddl.ts). `${detailed_days}` and `${aggregate_days}` in a file
 * are the retention's TTLs (whole numbers, checked by the config). Statements are idempotent (IF NOT EXISTS; see
 * runStatement), so two processes migrating at once end in the same schema. Returns the names of the files it applied.
 */
export async function applyMigrations(client: ClickHouseClient, database: string, options: MigrationOptions = {}): Promise<string[]> {
  const { dir = MIGRATIONS_DIR, cluster, retention = { detailedDays: 365, aggregateDays: 3 * 365 } } = options;
  const db = sqlIdentifier(database);
  const days = (n: number) => {
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`retention days must be a whole number >= 1, got ${n}`);
    return String(n);
  };
  const fill = (sql: string) =>
    sql.replaceAll('${db}', db).replaceAll('${detailed_days}', days(retention.detailedDays)).replaceAll('${aggregate_days}', days(retention.aggregateDays));
  await runStatement(client, `CREATE DATABASE IF NOT EXISTS ${db}`);
  // MergeTree, not TinyLog: two processes starting together (scale-out) insert into it at once, which TinyLog
  // cannot take. A version recorded twice is harmless.
  await runStatement(
    client,
    `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version UInt32, name String, applied_at DateTime('UTC')) ENGINE = MergeTree() ORDER BY version`,
  );
  const result = await client.query({ query: `SELECT version FROM ${db}.schema_migrations`, format: 'JSONEachRow' });
  const applied = new Set((await result.json<{ version: number }>()).map((r) => Number(r.version)));
  const done: string[] = [];
  for (const migration of await readMigrations(dir)) {
    if (applied.has(migration.version)) continue;
    for (const statement of migration.statements) {
      for (const sql of cluster ? clusterStatements(statement, cluster, database) : [statement]) await runStatement(client, fill(sql));
    }
    await client.insert({
      table: `${db}.schema_migrations`,
      values: [{ version: migration.version, name: migration.name, applied_at: Math.floor(Date.now() / 1000) }],
      format: 'JSONEachRow',
    });
    done.push(migration.name);
  }
  return done;
}

/**
 * migrate applies the migrations to the configured database over a connection of its own, closed afterwards; on a
 * cluster (CLICKHOUSE_CLUSTER), to every shard of CLICKHOUSE_SHARD_URLS, each with its own schema_migrations.
 */
export async function migrate(config: Config): Promise<string[]> {
  const { cluster, shardUrls, database } = config.clickhouse;
  const applied = new Set<string>();
  for (const url of cluster ? shardUrls : [config.clickhouse.url]) {
    const client = createClickHouse({ ...config, clickhouse: { ...config.clickhouse, url } }, { withDatabase: false });
    try {
      const retention = { detailedDays: config.monitoring.retentionDays, aggregateDays: config.monitoring.aggregateRetentionDays };
      for (const name of await applyMigrations(client, database, { cluster, retention })) applied.add(name);
    } finally {
      await client.close();
    }
  }
  return [...applied];
}
