/**
 * The sharded path of DESIGN.md for ClickHouse: every server (shard) holds the data tables as `<name>_local` and,
 * under the plain name, a `Distributed` table over all shards — so the application's SQL, which names the plain
 * tables, runs unchanged on one server or on a cluster. `clusterStatements` rewrites one statement of a db/
 * migration (with `${db}` still in it) into what each shard runs; the migration runner runs them on every shard
 * itself, which needs no `ON CLUSTER` (and so no Keeper) and works on the embedded engine as on clickhouse-server.
 */

import { QueryParams, sqlIdentifier } from './escape';

const CREATE_TABLE = /^CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+\$\{db\}\.(\w+)\s*\(/i;
const CREATE_VIEW = /^CREATE\s+MATERIALIZED\s+VIEW\s+IF\s+NOT\s+EXISTS\s+\$\{db\}\.(\w+)\s+TO\s+\$\{db\}\.(\w+)\s+AS\s/i;
const ALTER_TABLE = /^ALTER\s+TABLE\s+\$\{db\}\.(\w+)\s/i;
// A sorting key in parentheses may hold calls of its own (cityHash64(labels)): one level of nesting.
const ORDER_BY = /\bORDER\s+BY\s+(\((?:[^()]|\([^()]*\))*\)|\w+)/i;

/** localTable is the name of a table's shard-local part. */
export const localTable = (name: string) => `${name}_local`;

/** ClusterStatementError says a migration statement has no cluster form (a new kind of statement needs one). */
export class ClusterStatementError extends Error {}

/**
 * clusterStatements rewrites a migration statement for a shard of cluster `cluster` holding database `database`:
 * a table becomes `<name>_local` plus a Distributed `<name>` sharded by a hash of its sorting key (so the rows a
 * Replacing/Aggregating engine merges meet on one shard); a materialized view reads and writes the local tables
 * (each shard aggregates its own rows; queries merge the states across shards); ALTER applies to both tables.
 */
export function clusterStatements(statement: string, cluster: string, database: string): string[] {
  const sql = statement.trim();
  const table = CREATE_TABLE.exec(sql);
  if (table) {
    const name = table[1]!;
    const orderBy = ORDER_BY.exec(sql)?.[1];
    if (!orderBy) throw new ClusterStatementError(`CREATE TABLE ${name}: no ORDER BY to shard by`);
    const columns = orderBy.startsWith('(') ? orderBy.slice(1, -1) : orderBy;
    return [
      sql.replace(CREATE_TABLE, (m) => m.replace(`\${db}.${name}`, `\${db}.${localTable(name)}`)),
      `CREATE TABLE IF NOT EXISTS \${db}.${name} AS \${db}.${localTable(name)} ENGINE = Distributed(${sqlIdentifier(cluster)}, ${sqlIdentifier(database)}, ${sqlIdentifier(localTable(name))}, cityHash64(${columns}))`,
    ];
  }
  const view = CREATE_VIEW.exec(sql);
  if (view) {
    const [, name, target] = view;
    const from = /\bFROM\s+\$\{db\}\.(\w+)/i.exec(sql)?.[1];
    if (!from) throw new ClusterStatementError(`MATERIALIZED VIEW ${name}: no FROM \${db}.table`);
    return [
      sql
        .replace(`TO \${db}.${target}`, `TO \${db}.${localTable(target!)}`)
        .replace(new RegExp(`\\bFROM\\s+\\$\\{db\\}\\.${from}\\b`, 'i'), `FROM \${db}.${localTable(from)}`),
    ];
  }
  const alter = ALTER_TABLE.exec(sql);
  if (alter) {
    const name = alter[1]!;
    return [sql.replace(`\${db}.${name}`, `\${db}.${localTable(name)}`), sql];
  }
  throw new ClusterStatementError(`no cluster form for: ${sql.slice(0, 80)}`);
}

/**
 * partsSql reads the active parts of `database` (its tables' rows and bytes, per partition) as `name`,
 * `partition_id`, `rows`, `bytes`: from system.parts, or on a cluster from every shard's, each `_local` table under
 * its plain name.
 */
export function partsSql(database: string, cluster: string | undefined, perPartition: boolean): { query: string; query_params: Record<string, unknown> } {
  const params = new QueryParams();
  const from = cluster ? `cluster(${sqlIdentifier(cluster)}, system, parts)` : 'system.parts';
  const keys = perPartition ? 'name, partition_id' : 'name';
  const query = `SELECT replaceRegexpOne(table, '_local$', '') AS name,${perPartition ? ' partition_id,' : ''} sum(rows) AS rows, sum(bytes_on_disk) AS bytes
    FROM ${from} WHERE database = ${params.string(database)} AND active${cluster ? " AND endsWith(table, '_local')" : ''}
    GROUP BY ${keys} ORDER BY ${keys}`;
  return { query, query_params: params.values };
}
