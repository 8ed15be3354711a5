import type { ClickHouseClient } from '@clickhouse/client';
import type { Client } from '@temporalio/client';
import { connectTemporal, createClickHouse } from '../../store/clients';
import { migrate } from '../../store/migrations';
import { localTable } from '../../core/cluster-ddl';
import type { RetentionResult } from '../../workflows/retention';
import { RETENTION_SCHEDULE_ID, scheduleDefinitions } from '../../store/schedules';
import { startWorker, type WorkerHandle } from '../../workers/worker';
import { eventually, quietTemporalLogs, testConfig, uniqueName, workflowBundle } from '../helpers/stack';

quietTemporalLogs();

describe('retentionWorkflow on the real ClickHouse and Temporal', () => {
  const database = uniqueName('ret').replaceAll('-', '_');
  const taskQueue = uniqueName('retention');
  const config = testConfig({ CLICKHOUSE_DATABASE: database, TEMPORAL_TASK_QUEUE: taskQueue, MONITORING_RETENTION_DAYS: '365', MONITORING_AGGREGATE_RETENTION_DAYS: '1095' });
  let clickhouse: ClickHouseClient;
  let worker: WorkerHandle;
  let temporal: Client;

  beforeAll(async () => {
    await migrate(config);
    clickhouse = createClickHouse(config);
    worker = await startWorker(config, { workflowBundle: workflowBundle(), registerSchedules: false });
    temporal = (await connectTemporal(config)).client;
  });
  afterAll(async () => {
    await worker?.close();
    await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await clickhouse.close();
    await temporal?.connection.close();
  });

  // On a cluster (npm run test:cluster) the partitions live in every shard's `_local` table.
  const { cluster } = config.clickhouse;
  const partitions = async (table: string) =>
    (
      await (
        await clickhouse.query({
          query: `SELECT DISTINCT partition_id FROM ${cluster ? `cluster(${cluster}, system, parts)` : 'system.parts'}
                  WHERE database = {db:String} AND table = {table:String} AND active AND rows > 0 ORDER BY partition_id`,
          query_params: { db: database, table: cluster ? localTable(table) : table },
          format: 'JSONEachRow',
        })
      ).json<{ partition_id: string }>()
    ).map((r) => r.partition_id);

  it('expires backdated rows by the tables\' TTLs, keeps the rest, and audits what went into retention_log', async () => {
    const now = new Date();
    const monthsAgo = (n: number) => Math.floor(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - n, 15) / 1000);
    const yyyymm = (sec: number) => new Date(sec * 1000).toISOString().slice(0, 7).replace('-', '');
    const ages = [0, 14, 50]; // this month; 14 months ago (past the 1-year detail limit); 50 months ago (past 3 years)
    await clickhouse.insert({
      table: 'performance_events',
      format: 'JSONEachRow',
      values: ages.map((age) => ({ timestamp: monthsAgo(age), service_name: 'svc', event_type: 'metric', metric_name: 'm', metric_value: age })),
    });
    // The server applies the TTLs by itself, in the background, soon after the insert.
    await eventually(async () => {
      expect(await partitions('performance_events')).toEqual([yyyymm(monthsAgo(0))]);
      // The aggregates of 14 months ago stay (3-year retention); those of 50 months ago go.
      expect(await partitions('performance_rollup_1m')).toEqual([yyyymm(monthsAgo(14)), yyyymm(monthsAgo(0))].sort());
      // The hourly rollup (partitioned by year) too: the audit below reads what its TTL merge removed (CI once ran
      // the audit before that merge).
      expect(await partitions('performance_rollup_1h')).toEqual([...new Set([yyyymm(monthsAgo(14)).slice(0, 4), yyyymm(monthsAgo(0)).slice(0, 4)])].sort());
    }, 30_000);

    const run = () =>
      temporal.workflow.execute('retentionWorkflow', {
        taskQueue,
        workflowId: uniqueName('retention-run'),
        args: [{ retentionDays: config.monitoring.retentionDays, aggregateRetentionDays: config.monitoring.aggregateRetentionDays }],
      }) as Promise<RetentionResult>;
    const audit = await run();
    expect(audit.ttlsChanged).toEqual([]);
    expect(audit.expired?.map((p) => `${p.table}/${p.partitionId}`).sort()).toEqual(
      [
        `performance_events/${yyyymm(monthsAgo(14))}`,
        `performance_events/${yyyymm(monthsAgo(50))}`,
        `performance_rollup_1m/${yyyymm(monthsAgo(50))}`,
        // The hourly rollup is partitioned by year.
        `performance_rollup_1h/${yyyymm(monthsAgo(50)).slice(0, 4)}`,
      ].sort(),
    );
    const log = await (
      await clickhouse.query({ query: "SELECT table_name, partition_id, rows FROM retention_log WHERE table_name != '*' ORDER BY table_name, partition_id", format: 'JSONEachRow' })
    ).json();
    expect(log).toHaveLength(4);
    expect(log).toContainEqual({ table_name: 'performance_events', partition_id: yyyymm(monthsAgo(14)), rows: 1 });
    // A second audit starts where the first ended: nothing is logged twice.
    expect((await run()).expired).toEqual([]);
  }, 90_000);

  it('sets a table\'s TTL to the configured retention when it differs, and only then', async () => {
    const run = (retentionDays: number) =>
      temporal.workflow.execute('retentionWorkflow', {
        taskQueue,
        workflowId: uniqueName('retention-ttl'),
        args: [{ retentionDays, aggregateRetentionDays: config.monitoring.aggregateRetentionDays }],
      }) as Promise<RetentionResult>;
    expect((await run(400)).ttlsChanged).toEqual(['business_events', 'performance_events', 'spans']);
    const [created] = await (await clickhouse.query({ query: `SHOW CREATE TABLE ${cluster ? localTable('performance_events') : 'performance_events'}`, format: 'JSONEachRow' })).json<{ statement: string }>();
    expect(created?.statement).toMatch(/TTL toDateTime\(timestamp\) \+ toIntervalDay\(400\)/);
    expect((await run(400)).ttlsChanged).toEqual([]);
    expect((await run(config.monitoring.retentionDays)).ttlsChanged).toEqual(['business_events', 'performance_events', 'spans']);
  }, 60_000);

  it('is scheduled daily with a one-day catch-up window', () => {
    const retention = scheduleDefinitions(config, []).find((s) => s.scheduleId === RETENTION_SCHEDULE_ID);
    expect(retention?.spec.calendars).toEqual([{ hour: 3, minute: 15 }]);
    expect(retention?.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: '1 day' });
  });
});
