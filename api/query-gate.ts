import { ApiError } from '../core/errors';

/**
 * QueryGate bounds the API's read queries: at most `maxConcurrent` run at once (MONITORING_MAX_CONCURRENT_QUERIES),
 * as many more may wait for a slot, and each is given `timeoutMs` in all (MONITORING_QUERY_TIMEOUT) — waiting
 * included — after which it is aborted. A request beyond that answers 503 at once with Retry-After, naming which
 * limit it met, instead of piling up on ClickHouse.
 */
export class QueryGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** Counters for /metrics and the admin overview. */
  readonly stats = { refused: 0, timedOut: 0 };

  constructor(
    private readonly maxConcurrent: number,
    private readonly timeoutMs: number,
  ) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** run runs `query` when a slot is free, with an abort signal that fires when the time limit passes. */
  async run<T>(query: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent && this.waiting.length >= this.maxConcurrent) {
      this.stats.refused++;
      throw new ApiError(503, 'too_many_queries', `${this.maxConcurrent} queries are running and as many waiting (MONITORING_MAX_CONCURRENT_QUERIES); retry shortly`, undefined, 1);
    }
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    try {
      // A slot is taken here, or handed over by the query that frees it (so none is ever over the limit).
      if (this.running >= this.maxConcurrent) await this.slot(controller.signal);
      else this.running++;
      try {
        return await query(controller.signal);
      } finally {
        const next = this.waiting.shift();
        if (next) next();
        else this.running--;
      }
    } catch (err) {
      if (!timedOut) throw err;
      this.stats.timedOut++;
      throw new ApiError(503, 'query_timeout', `the query took longer than ${this.timeoutMs} ms (MONITORING_QUERY_TIMEOUT); retry later or ask for a shorter range`, undefined, 5);
    } finally {
      clearTimeout(timer);
    }
  }

  /** slot waits for a running query to finish, or rejects when the signal aborts first. */
  private slot(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal.removeEventListener('abort', abandon);
        resolve();
      };
      const abandon = () => {
        const at = this.waiting.indexOf(wake);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(new Error('aborted while waiting for a query slot'));
      };
      signal.addEventListener('abort', abandon, { once: true });
      this.waiting.push(wake);
    });
  }
}

/**
 * SharedResult caches an answer per key for `ttlMs` and lets concurrent callers share one computation, so a
 * hundred dashboards refreshing every few seconds cost one set of queries per scope per interval.
 */
export class SharedResult<T> {
  private readonly entries = new Map<string, { value: Promise<T>; expiresAt: number }>();

  constructor(private readonly ttlMs: number) {}

  get(key: string, compute: () => Promise<T>, nowMs = Date.now()): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > nowMs) return hit.value;
    if (this.entries.size > 1000) this.prune(nowMs);
    const value = compute();
    const entry = { value, expiresAt: nowMs + this.ttlMs };
    this.entries.set(key, entry);
    // A failure is not cached: the next caller computes again.
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return value;
  }

  private prune(nowMs: number): void {
    for (const [key, entry] of this.entries) if (entry.expiresAt <= nowMs) this.entries.delete(key);
  }
}
