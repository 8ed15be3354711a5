/**
 * The row format of a sample in performance_events: one TabSeparated line per sample, the batch's only
 * serialization. Pure, so the API's parse threads format rows without loading the ClickHouse writer.
 */
import { dateTime64Text, tsvNumber, tsvString, tsvStringMap } from './escape';
import type { Sample } from './types';

/** PERFORMANCE_EVENT_COLUMNS are the columns a sample row fills, in TabSeparated order. */
export const PERFORMANCE_EVENT_COLUMNS = ['timestamp', 'service_name', 'instance_id', 'event_type', 'metric_name', 'metric_value', 'labels', 'ingest_id', 'ingest_seq'] as const;

/** PERFORMANCE_EVENT_STRUCTURE types those columns as db/001 does, for parsing rows without storing them. */
export const PERFORMANCE_EVENT_STRUCTURE =
  "timestamp DateTime64(3, 'UTC'), service_name LowCardinality(String), instance_id LowCardinality(String), event_type LowCardinality(String), metric_name LowCardinality(String), metric_value Float64, labels Map(LowCardinality(String), String), ingest_id String, ingest_seq UInt32";

// Service, instance and metric names repeat in every batch: escape each once (bounded, cleared when full).
const escaped = new Map<string, string>();
function tsvName(value: string): string {
  let out = escaped.get(value);
  if (out === undefined) {
    out = tsvString(value);
    if (escaped.size >= 50_000) escaped.clear();
    escaped.set(value, out);
  }
  return out;
}

/**
 * sampleTsv serializes a sample as one TabSeparated row of performance_events — its only serialization. `ingestId`
 * (a hex hash, never escaped) and `seq` identify a sample of a request that carried an Idempotency-Key.
 */
export function sampleTsv(sample: Sample, ingestId = '', seq = 0): string {
  return `${dateTime64Text(sample.timestampMs)}\t${tsvName(sample.service)}\t${tsvName(sample.instance)}\tmetric\t${tsvName(sample.name)}\t${tsvNumber(sample.value)}\t${tsvStringMap(sample.labels)}\t${ingestId}\t${seq}\n`;
}
