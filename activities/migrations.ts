import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { sqlIdentifier, sqlNumber, sqlString } from '../core/escape';
import type { Config } from '../core/config';
import { createClickHouse } from './clients';
import { fromRoot } from './paths';

/** MIGRATIONS_DIR is where the numbered SQL files live. */
export const MIGRATIONS_DIR = fromRoot('db');

interface MigrationFile {
  version: number;
  name: string;
  statements: string[];
}

async function readMigrations(dir: string, db: string): Promise<MigrationFile[]> {
  const files = (await readdir(dir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (name) => {
      const text = (await readFile(path.join(dir, name), 'utf8')).replaceAll('${db}', db);
      const statements = text
        .split(/;\s*$/m)
        .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
        .filter(Boolean);
      return { version: Number(name.split('_')[0]), name, statements };
    }),
  );
}

/**
 * applyMigrations creates the database and applies each db/ file not yet recorded in schema_migrations.
 * Statements are idempotent (IF NOT EXISTS), so two processes migrating at once end in the same schema.
 * Returns the names of the files it applied.
 */
export async function applyMigrations(client: ClickHouseClient, database: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  const db = sqlIdentifier(database);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version UInt32, name String, applied_at DateTime) ENGINE = TinyLog`,
  });
  const result = await client.query({ query: `SELECT version FROM ${db}.schema_migrations`, format: 'JSONEachRow' });
  const applied = new Set((await result.json<{ version: number }>()).map((r) => Number(r.version)));
  const done: string[] = [];
  for (const migration of await readMigrations(dir, db)) {
    if (applied.has(migration.version)) continue;
    for (const statement of migration.statements) await client.command({ query: statement });
    await client.command({
      query: `INSERT INTO ${db}.schema_migrations VALUES (${sqlNumber(migration.version)}, ${sqlString(migration.name)}, now())`,
    });
    done.push(migration.name);
  }
  return done;
}

/** migrate applies the migrations to the configured database over a connection of its own, closed afterwards. */
export async function migrate(config: Config): Promise<string[]> {
  const client = createClickHouse(config, { withDatabase: false });
  try {
    return await applyMigrations(client, config.clickhouse.database);
  } finally {
    await client.close();
  }
}
