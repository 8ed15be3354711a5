import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { localTable } from '../../core/cluster-ddl';
import { createClickHouse } from '../../store/clients';
import { migrate } from '../../store/migrations';
import { startTestApi, TEST_KEYS, type TestApi } from '../helpers/api';
import { compareResult, FEATURE_FILES, outsideScope, readScript, type EngineResult, type EvalCase, type LoadedSeries } from '../helpers/promqltest';
import { testConfig, uniqueName } from '../helpers/stack';

/**
 * Prometheus' own PromQL test scripts (scripts/promqltest.sh fetches them from the Go module proxy) through the
 * query API on the real ClickHouse: each script's series are stored in performance_events (metric name, service and
 * instance columns, the other labels in the map), each `eval` is asked of /api/v1/query or /api/v1/query_range, and
 * the answer must be Prometheus'. Skipped as in the unit run, and also scripts' data with staleness markers (a
 * Prometheus TSDB notion this store does not keep). The test database has no TTL: the scripts' data is of 1970.
 */
const dir = execFileSync('bash', [path.join(__dirname, '../../scripts/promqltest.sh')], { encoding: 'utf8' }).trim();
const DATABASE = uniqueName('promqltest').replaceAll('-', '_');
const admin = { authorization: `Bearer ${TEST_KEYS.admin.token}` };

const tsv = (text: string) => text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
const quoted = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const float = (v: number) => (Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : String(v));
const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** rowsOf writes a script's series as performance_events rows (TabSeparated). */
function rowsOf(data: readonly LoadedSeries[]): string {
  let out = '';
  for (const s of data) {
    const { __name__: name = '', service = '', instance = '', ...rest } = s.labels;
    const labels = `{${Object.keys(rest)
      .sort()
      .map((k) => `${quoted(k)}:${quoted(rest[k]!)}`)
      .join(',')}}`;
    s.t.forEach((t, i) => {
      out += [time(t), tsv(service), tsv(instance), 'metric', tsv(name), float(s.v[i]!), tsv(labels), '', '0'].join('\t') + '\n';
    });
  }
  return out;
}

const number = (text: string) => (text === 'NaN' ? Number.NaN : text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text));

describe("Prometheus' PromQL test scripts through the query API on ClickHouse", () => {
  let api: TestApi;
  /** onEveryShard runs a statement on the table that holds performance_events' rows: each shard's local part on a cluster (npm run test:production). */
  let onEveryShard: (statement: (table: string) => string) => Promise<void>;
  let loaded: readonly LoadedSeries[] | undefined;
  const totals = { passed: 0, failed: 0, skipped: 0 };

  beforeAll(async () => {
    const overrides = { CLICKHOUSE_DATABASE: DATABASE };
    const config = testConfig(overrides);
    await migrate(config);
    api = await startTestApi(overrides);
    const { cluster, shardUrls, url } = config.clickhouse;
    onEveryShard = async (statement) => {
      for (const shard of cluster ? shardUrls : [url]) {
        const client = createClickHouse({ ...config, clickhouse: { ...config.clickhouse, url: shard } });
        try {
          await client.command({ query: statement(cluster ? localTable('performance_events') : 'performance_events') });
        } finally {
          await client.close();
        }
      }
    };
    await onEveryShard((table) => `ALTER TABLE ${table} REMOVE TTL`);
  });
  afterAll(async () => {
    await api?.clickhouse.command({ query: `DROP DATABASE IF EXISTS ${DATABASE}` });
    await api?.close();
  });

  /** load replaces the stored series with a script's data (once per data set). */
  const load = async (data: readonly LoadedSeries[]) => {
    if (loaded === data) return;
    await onEveryShard((table) => `TRUNCATE TABLE ${table}`);
    const rows = rowsOf(data);
    if (rows) await api.clickhouse.insert({ table: 'performance_events', values: Readable.from([rows], { objectMode: false }), format: 'TabSeparated', columns: ['timestamp', 'service_name', 'instance_id', 'event_type', 'metric_name', 'metric_value', 'labels', 'ingest_id', 'ingest_seq'] });
    loaded = data;
  };

  const ask = async (c: EvalCase): Promise<EngineResult> => {
    const query = encodeURIComponent(c.expr);
    const url = c.kind === 'instant' ? `/api/v1/query?query=${query}&time=${c.atMs / 1000}` : `/api/v1/query_range?query=${query}&start=${c.startMs / 1000}&end=${c.endMs / 1000}&step=${c.stepMs / 1000}`;
    const response = await api.app.inject({ method: 'GET', url, headers: admin });
    const body = response.json();
    if (body.status !== 'success') return { kind: 'error', message: `${response.statusCode} ${body.errorType}: ${body.error}` };
    const { resultType, result } = body.data;
    if (resultType === 'scalar') return { kind: 'scalar', v: number(result[1]) };
    if (resultType === 'string') return { kind: 'string', s: result[1] };
    if (resultType === 'vector') return { kind: 'vector', samples: result.map((r: { metric: Record<string, string>; value: [number, string] }) => ({ labels: r.metric, v: number(r.value[1]) })) };
    return {
      kind: 'matrix',
      series: result.map((r: { metric: Record<string, string>; values: Array<[number, string]> }) => ({ labels: r.metric, t: r.values.map((p) => Math.round(p[0] * 1000)), v: r.values.map((p) => number(p[1])) })),
    };
  };

  const files = readdirSync(dir).filter((f) => f.endsWith('.test') && !FEATURE_FILES[f]).sort();
  it.each(files)('%s gives Prometheus\' answers', async (file) => {
    const failures: string[] = [];
    for (const c of readScript(path.join(dir, file), file)) {
      const scope = outsideScope(c);
      if ('skip' in scope || c.data.some((s) => s.stale?.some(Boolean))) {
        totals.skipped++;
        continue;
      }
      await load(c.data);
      const diff = compareResult(c, 'parseError' in scope ? { kind: 'error', message: scope.parseError } : await ask(c));
      if (diff) failures.push(`${file}:${c.line}: ${c.expr}\n    ${diff}`);
      else totals.passed++;
    }
    totals.failed += failures.length;
    expect(failures).toEqual([]);
  });

  it('ran the scripts through the API (most cases in scope, none failed)', () => {
    process.stdout.write(`promqltest via the query API: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
    expect(totals.passed).toBeGreaterThan(750);
    expect(totals.failed).toBe(0);
  });
});
