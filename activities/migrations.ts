import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { sqlIdentifier, sqlNumber, sqlString } from '../core/escape';
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

/** readMigrations reads the numbered files, split into statements that still hold `${db}`. */
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
 * another process created between the check and the creation, or a column it added (18.16 has no
 * `ADD COLUMN IF NOT EXISTS`), counts as done.
 */
async function runStatement(client: ClickHouseClient, statement: string): Promise<void> {
  try {
    await client.command({ query: statement });
  } catch (err) {
    const message = (err as Error).message;
    const raced =
      (/^ALTER\s+TABLE\s.*\bADD\s+COLUMN\b/is.test(statement) && /column with this name already exists/i.test(message)) ||
      (/^CREATE\s.*\bIF\s+NOT\s+EXISTS\b/is.test(statement) && /already exists/i.test(message));
    if (!raced) throw err;
  }
}

/**
 * applyMigrations creates the database and applies each db/ file not yet recorded in schema_migrations; with a
 * `cluster`, in the form of a shard of it (core/cluster-ddl.ts).
 * Statements are idempotent (IF NOT EXISTS; see runStatement), so two processes migrating at once end in the same schema.
 * Returns the names of the files it applied.
 */
export async function applyMigrations(client: ClickHouseClient, database: string, dir = MIGRATIONS_DIR, cluster?: string): Promise<string[]> {
  const db = sqlIdentifier(database);
  await runStatement(client, `CREATE DATABASE IF NOT EXISTS ${db}`);
  // MergeTree, not TinyLog: two processes starting together (scale-out) insert into it at once, which TinyLog
  // cannot take. A version recorded twice is harmless.
  await runStatement(
    client,
    `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version UInt32, name String, applied_at DateTime) ENGINE = MergeTree() ORDER BY version`,
  );
  const result = await client.query({ query: `SELECT version FROM ${db}.schema_migrations`, format: 'JSONEachRow' });
  const applied = new Set((await result.json<{ version: number }>()).map((r) => Number(r.version)));
  const done: string[] = [];
  for (const migration of await readMigrations(dir)) {
    if (applied.has(migration.version)) continue;
    for (const statement of migration.statements) {
      for (const sql of cluster ? clusterStatements(statement, cluster, database) : [statement]) await runStatement(client, sql.replaceAll('${db}', db));
    }
    await client.command({
      query: `INSERT INTO ${db}.schema_migrations VALUES (${sqlNumber(migration.version)}, ${sqlString(migration.name)}, now())`,
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
      for (const name of await applyMigrations(client, database, MIGRATIONS_DIR, cluster)) applied.add(name);
    } finally {
      await client.close();
    }
  }
  return [...applied];
}
