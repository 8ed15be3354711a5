import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { sqlIdentifier } from '../core/escape';
import { PERFORMANCE_EVENT_COLUMNS, sampleTsv } from '../core/sample-row';
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

/** StorageError wraps a failed ClickHouse insert: none of the batch's rows were acknowledged. */
export class StorageError extends Error {
  constructor(cause: unknown) {
    super(`ClickHouse insert failed: ${(cause as Error)?.message ?? cause}`, { cause });
    this.name = 'StorageError';
  }
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

interface Batch {
  /** TabSeparated rows as UTF-8, off the JS heap: a batch waits for its insert without weighing on the GC. */
  chunks: Buffer[];
  rows: number;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A batch nobody awaits (all writers gone) must not crash the process with an unhandled rejection.
  done.catch(() => undefined);
  return { chunks: [], rows: 0, done, resolve, reject };
}

/**
 * SampleWriter coalesces the samples of many requests into size- and time-bounded TabSeparated inserts into
 * performance_events. `write` resolves only once ClickHouse has acknowledged the insert holding its rows, and
 * rejects (StorageError) when that insert fails — so a caller never acknowledges a sample that was not stored —
 * or at once (QueueFullError) when more than maxQueuedRows are waiting.
 */
export class SampleWriter {
  private current = newBatch();
  private timer: NodeJS.Timeout | undefined;
  private readonly sealed: Batch[] = [];
  /** Sealed batches not yet inserted or failed, queued or in flight. */
  private readonly unsettled = new Set<Batch>();
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
    batch.chunks.push(Buffer.isBuffer(rows) ? rows : Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength));
    batch.rows += count;
    this.queued += count;
    if (batch.rows >= this.options.batchSize || (this.inflight < this.options.maxConcurrentInserts && batch.rows >= this.minFlushRows)) this.seal();
    else this.timer ??= setTimeout(() => this.seal(), this.options.flushIntervalMs);
    return batch.done;
  }

  /** flush seals the open batch and waits until every queued row is inserted (or failed). */
  async flush(): Promise<void> {
    this.seal();
    await Promise.allSettled([...this.unsettled].map((b) => b.done));
  }

  private seal(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.current.rows === 0) return;
    this.sealed.push(this.current);
    this.unsettled.add(this.current);
    this.current = newBatch();
    this.pump();
  }

  private pump(): void {
    while (this.inflight < this.options.maxConcurrentInserts && this.sealed.length > 0) {
      const batch = this.sealed.shift()!;
      this.inflight++;
      void this.insert(batch).finally(() => {
        this.unsettled.delete(batch);
        this.inflight--;
        this.queued -= batch.rows;
        // Group commit: what gathered while this insert ran goes now rather than at its timer.
        if (this.sealed.length === 0 && this.current.rows >= this.minFlushRows) this.seal();
        this.pump();
      });
    }
  }

  private async insert(batch: Batch): Promise<void> {
    const started = performance.now();
    try {
      await this.clickhouse.insert({
        table: this.table,
        values: Readable.from(batch.chunks, { objectMode: false }),
        format: 'TabSeparated',
        columns: [...PERFORMANCE_EVENT_COLUMNS],
      });
      this.stats.batches++;
      this.stats.rows += batch.rows;
      this.stats.lastBatchRows = batch.rows;
      this.stats.insertSeconds += (performance.now() - started) / 1000;
      batch.resolve();
    } catch (err) {
      this.stats.failedBatches++;
      batch.reject(new StorageError(err));
    }
  }
}
