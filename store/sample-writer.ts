import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { sqlIdentifier } from '../core/escape';
import { PERFORMANCE_EVENT_COLUMNS, PERFORMANCE_EVENT_STRUCTURE, sampleTsv } from '../core/sample-row';
import type { Sample } from '../core/types';

/** rowsExcept keeps the TabSeparated rows whose position (0-based, one row a line) is not in `skip`. */
export function rowsExcept(rows: Uint8Array, skip: ReadonlySet<number>): { rows: Buffer; count: number } {
  const parts: Buffer[] = [];
  const all = Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength);
  let start = 0;
  let seq = 0;
  let count = 0;
  while (start < all.length) {
    // TabSeparated escapes a newline inside a value, so every raw 0x0a ends a row.
    let end = all.indexOf(10, start);
    if (end < 0) end = all.length - 1;
    if (!skip.has(seq)) {
      parts.push(all.subarray(start, end + 1));
      count++;
    }
    seq++;
    start = end + 1;
  }
  return { rows: Buffer.concat(parts), count };
}

/** QueueFullError says the writer holds as many rows as it may; the caller should answer 503 and let the client retry. */
export class QueueFullError extends Error {
  constructor(readonly queuedRows: number) {
    super(`ingest queue full (${queuedRows} rows waiting for ClickHouse)`);
    this.name = 'QueueFullError';
  }
}

/** StorageError wraps a failed ClickHouse insert that was not the rows' fault: none of the request's rows were stored. */
export class StorageError extends Error {
  constructor(cause: unknown) {
    super(`ClickHouse insert failed: ${(cause as Error)?.message ?? cause}`, { cause });
    this.name = 'StorageError';
  }
}

/**
 * RowsRefusedError says ClickHouse refused one request's own rows (a value it cannot parse or hold) when they were
 * inserted alone: the request is at fault (4xx), storage is fine. `row` is the 0-based row ClickHouse named, when
 * it named one; `metric` its metric name.
 */
export class RowsRefusedError extends Error {
  constructor(
    readonly reason: string,
    readonly row?: number,
    readonly metric?: string,
  ) {
    super(`storage refused ${row === undefined ? 'a sample' : `sample ${row}${metric ? ` (${metric})` : ''}`}: ${reason}`);
    this.name = 'RowsRefusedError';
  }
}

/**
 * DATA_ERROR_CODES are ClickHouse's codes for "this input cannot be parsed or held" (CANNOT_PARSE_*, out of range,
 * type mismatch, too large, …): such a failure is the rows' fault, every other failure (connection, memory, too
 * many parts, read-only, timeout) is storage's.
 */
const DATA_ERROR_CODES = new Set([6, 26, 27, 32, 33, 38, 41, 53, 69, 70, 72, 117, 128, 130, 131, 190, 321, 349, 1001]);

/** refusedByData is true when ClickHouse answered with an error about the data it was sent. */
export function refusedByData(err: unknown): boolean {
  const code = Number((err as { code?: unknown })?.code);
  return Number.isInteger(code) && DATA_ERROR_CODES.has(code);
}

/** lineStarts are the byte offsets where each TabSeparated row of `rows` starts, and its length at the end. */
function lineStarts(rows: Buffer): number[] {
  const starts = [0];
  for (let i = rows.indexOf(10); i >= 0 && i + 1 < rows.length; i = rows.indexOf(10, i + 1)) starts.push(i + 1);
  starts.push(rows.length);
  return starts;
}

/**
 * SampleWriterOptions bound the batches: a batch goes at batchSize rows; or as soon as an insert slot is free once it
 * holds minFlushRows (group commit: under load batches grow while the previous insert runs); or after
 * flushIntervalMs. Above maxQueuedRows waiting, writes are refused.
 */
export interface SampleWriterOptions {
  batchSize: number;
  minFlushRows?: number;
  flushIntervalMs: number;
  maxQueuedRows: number;
  maxConcurrentInserts: number;
}

/** Entry is one write's rows (TabSeparated, UTF-8, off the JS heap) and the promise its caller awaits. */
interface Entry {
  chunk: Buffer;
  rows: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Batch {
  entries: Entry[];
  rows: number;
}

function newBatch(): Batch {
  return { entries: [], rows: 0 };
}

/**
 * SampleWriter coalesces the samples of many requests into size- and time-bounded TabSeparated inserts into
 * performance_events. `write` resolves only once ClickHouse has acknowledged the insert holding its rows, and
 * rejects when they were not stored — so a caller never acknowledges a sample that was not stored: at once
 * (QueueFullError) when more than maxQueuedRows are waiting; StorageError when storage failed; RowsRefusedError when
 * ClickHouse refused the write's own rows. A batch that ClickHouse refuses for its data is split and its halves
 * retried, down to single writes, so one bad write never fails the others that shared its batch.
 */
export class SampleWriter {
  private current = newBatch();
  private timer: NodeJS.Timeout | undefined;
  private readonly sealed: Batch[] = [];
  /** Inserts of sealed batches in flight, settled or not. */
  private readonly unsettled = new Set<Promise<void>>();
  private inflight = 0;
  private queued = 0;
  private readonly table: string;
  /** Counters for /metrics and benchmarks. */
  readonly stats = { batches: 0, rows: 0, failedBatches: 0, lastBatchRows: 0, insertSeconds: 0 };

  constructor(
    private readonly clickhouse: ClickHouseClient,
    database: string,
    private readonly options: SampleWriterOptions,
  ) {
    this.table = `${sqlIdentifier(database)}.performance_events`;
  }

  private get minFlushRows(): number {
    return this.options.minFlushRows ?? Math.ceil(this.options.batchSize / 2);
  }

  /** queuedRows is how many accepted rows wait for ClickHouse. */
  get queuedRows(): number {
    return this.queued;
  }

  /** write queues samples and resolves once they are durably stored. */
  write(samples: readonly Sample[]): Promise<void> {
    const rows = new Array<string>(samples.length);
    for (let i = 0; i < samples.length; i++) rows[i] = sampleTsv(samples[i]!);
    return this.writeRows(Buffer.from(rows.join(''), 'utf8'), samples.length);
  }

  /** writeRows queues `count` rows already serialized with sampleTsv (UTF-8) and resolves once they are stored. */
  writeRows(rows: Uint8Array, count: number): Promise<void> {
    if (count === 0) return Promise.resolve();
    if (this.queued + count > this.options.maxQueuedRows) return Promise.reject(new QueueFullError(this.queued));
    const batch = this.current;
    const chunk = Buffer.isBuffer(rows) ? rows : Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength);
    const done = new Promise<void>((resolve, reject) => batch.entries.push({ chunk, rows: count, resolve, reject }));
    batch.rows += count;
    this.queued += count;
    if (batch.rows >= this.options.batchSize || (this.inflight < this.options.maxConcurrentInserts && batch.rows >= this.minFlushRows)) this.seal();
    else this.timer ??= setTimeout(() => this.seal(), this.options.flushIntervalMs);
    return done;
  }

  /** flush seals the open batch and waits until every queued row is inserted (or failed). */
  async flush(): Promise<void> {
    this.seal();
    while (this.unsettled.size > 0 || this.sealed.length > 0) await Promise.allSettled([...this.unsettled]);
  }

  private seal(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.current.rows === 0) return;
    this.sealed.push(this.current);
    this.current = newBatch();
    this.pump();
  }

  private pump(): void {
    while (this.inflight < this.options.maxConcurrentInserts && this.sealed.length > 0) {
      const batch = this.sealed.shift()!;
      this.inflight++;
      const inserting = this.insert(batch.entries).finally(() => {
        this.unsettled.delete(inserting);
        this.inflight--;
        this.queued -= batch.rows;
        // Group commit: what gathered while this insert ran goes now rather than at its timer.
        if (this.sealed.length === 0 && this.current.rows >= this.minFlushRows) this.seal();
        this.pump();
      });
      this.unsettled.add(inserting);
    }
  }

  /**
   * insert stores the entries in one insert and settles their promises. When ClickHouse refuses the data, the
   * entries are split in halves and each half inserted again (log2 of the entries deep), so only the writes whose
   * own rows are refused fail; any other failure fails every entry at once, without retrying against a storage
   * that is down.
   */
  private async insert(entries: Entry[]): Promise<void> {
    const started = performance.now();
    const rows = entries.reduce((n, e) => n + e.rows, 0);
    try {
      await this.clickhouse.insert({
        table: this.table,
        values: Readable.from(entries.map((e) => e.chunk), { objectMode: false }),
        format: 'TabSeparated',
        columns: [...PERFORMANCE_EVENT_COLUMNS],
      });
      this.stats.batches++;
      this.stats.rows += rows;
      this.stats.lastBatchRows = rows;
      this.stats.insertSeconds += (performance.now() - started) / 1000;
      for (const e of entries) e.resolve();
    } catch (err) {
      this.stats.failedBatches++;
      if (!refusedByData(err)) {
        for (const e of entries) e.reject(new StorageError(err));
      } else if (entries.length > 1) {
        const half = Math.ceil(entries.length / 2);
        await this.insert(entries.slice(0, half));
        await this.insert(entries.slice(half));
      } else {
        const entry = entries[0]!;
        const row = await this.refusedRow(entry.chunk).catch(() => undefined);
        entry.reject(new RowsRefusedError((err as Error).message.trim(), row?.index, row?.metric));
      }
    }
  }

  /**
   * refusedRow finds the first row of `rows` ClickHouse cannot parse, by halving: each probe parses a range into the
   * null() table function, which stores nothing (the client reports only the innermost error, not its row).
   */
  private async refusedRow(rows: Buffer): Promise<{ index: number; metric?: string } | undefined> {
    const starts = lineStarts(rows);
    const parses = async (from: number, to: number) => {
      try {
        await this.clickhouse.insert({
          table: `FUNCTION null('${PERFORMANCE_EVENT_STRUCTURE.replaceAll("'", "\\'")}')`,
          values: Readable.from([rows.subarray(starts[from], starts[to])], { objectMode: false }),
          format: 'TabSeparated',
          columns: [...PERFORMANCE_EVENT_COLUMNS],
          clickhouse_settings: { input_format_parallel_parsing: 0 },
        });
        return true;
      } catch (err) {
        if (refusedByData(err)) return false;
        throw err;
      }
    };
    let [lo, hi] = [0, starts.length - 1];
    if (await parses(lo, hi)) return undefined;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (await parses(lo, mid)) lo = mid;
      else hi = mid;
    }
    const metric = rows.subarray(starts[lo], starts[lo + 1]).toString('utf8').split('\t')[4];
    return { index: lo, ...(metric ? { metric } : {}) };
  }
}
