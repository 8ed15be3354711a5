/**
 * What pull collectors (the CloudWatch collector) keep between runs: their watermark (db/011), and the periods whose
 * samples are already stored — each period's rows carry `ingest_id = <prefix><period start>`, so a run retried after
 * storing them (its watermark not yet advanced) finds them and writes nothing twice.
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { dateTime64Text, sqlIdentifier } from '../core/escape';
import { PERFORMANCE_EVENT_COLUMNS, sampleTsv } from '../core/sample-row';
import type { Sample } from '../core/types';

export function createCollectorState({ clickhouse, database }: { clickhouse: ClickHouseClient; database: string }) {
  const db = sqlIdentifier(database);
  const rows = async <T>(query: string, params: Record<string, unknown>): Promise<T[]> => (await clickhouse.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>();
  return {
    /** watermark is where a collector's last run ended (undefined: it never ran). */
    async watermark(collector: string): Promise<number | undefined> {
      const [row] = await rows<{ w: string | number }>(
        `SELECT toUnixTimestamp64Milli(argMax(watermark, updated_at)) AS w, count() AS n FROM ${db}.collector_watermarks WHERE collector = {c:String} HAVING n > 0`,
        { c: collector },
      );
      return row ? Number(row.w) : undefined;
    },

    async setWatermark(collector: string, atMs: number): Promise<void> {
      await clickhouse.insert({ table: `${db}.collector_watermarks`, values: [{ collector, watermark: dateTime64Text(atMs), updated_at: dateTime64Text(Date.now()) }], format: 'JSONEachRow' });
    },

    /** storedPeriods lists the period starts in [fromMs, toMs) whose rows (ingest_id `<prefix><start>`) are stored. */
    async storedPeriods(prefix: string, fromMs: number, toMs: number): Promise<Set<number>> {
      const found = await rows<{ id: string }>(
        `SELECT DISTINCT ingest_id AS id FROM ${db}.performance_events
         WHERE timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC') AND startsWith(ingest_id, {prefix:String})`,
        { from: fromMs, to: toMs, prefix },
      );
      return new Set(found.map((r) => Number(r.id.slice(prefix.length))));
    },

    /** insertPeriods stores samples grouped by period: each row's ingest_id is `<prefix><its period start>`. */
    async insertPeriods(prefix: string, periodMs: number, samples: readonly Sample[]): Promise<void> {
      if (samples.length === 0) return;
      const seq = new Map<number, number>();
      let tsv = '';
      for (const s of samples) {
        const period = Math.floor(s.timestampMs / periodMs) * periodMs;
        const n = seq.get(period) ?? 0;
        seq.set(period, n + 1);
        tsv += sampleTsv(s, `${prefix}${period}`, n);
      }
      await clickhouse.insert({ table: `${db}.performance_events`, values: Readable.from([tsv], { objectMode: false }), format: 'TabSeparated', columns: [...PERFORMANCE_EVENT_COLUMNS] });
    },
  };
}
