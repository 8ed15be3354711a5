import type Redis from 'ioredis';

/** IdempotencyState is what a key already stands for: nothing yet, a request in progress, or a stored answer. */
export type IdempotencyState = { state: 'new' } | { state: 'in-progress' } | { state: 'done'; response: unknown };

const IN_PROGRESS = '"__in_progress__"';

/**
 * IdempotencyStore remembers, per caller and Idempotency-Key, the answer to a request that completed, so a retried
 * batch is answered again without storing anything twice. Keys live in Redis (shared by every API process); while
 * Redis is down a process-local map keeps the guarantee for retries that reach the same process.
 */
export class IdempotencyStore {
  private readonly local = new Map<string, { value: string; expires: number }>();

  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
    private readonly inProgressTtlSeconds = 300,
  ) {}

  private key(scope: string, key: string): string {
    return `idem:${scope}:${key}`;
  }

  /** begin claims a key for a new request, or says what it already stands for. */
  async begin(scope: string, key: string): Promise<IdempotencyState> {
    const k = this.key(scope, key);
    let existing: string | null;
    try {
      const claimed = await this.redis.set(k, IN_PROGRESS, 'EX', this.inProgressTtlSeconds, 'NX');
      if (claimed === 'OK') return { state: 'new' };
      existing = await this.redis.get(k);
    } catch {
      const entry = this.local.get(k);
      if (!entry || entry.expires < Date.now()) {
        this.local.set(k, { value: IN_PROGRESS, expires: Date.now() + this.inProgressTtlSeconds * 1000 });
        return { state: 'new' };
      }
      existing = entry.value;
    }
    if (existing === null) return this.begin(scope, key);
    return existing === IN_PROGRESS ? { state: 'in-progress' } : { state: 'done', response: JSON.parse(existing) };
  }

  /** complete stores the answer of a finished request under its key. */
  async complete(scope: string, key: string, response: unknown): Promise<void> {
    const k = this.key(scope, key);
    const value = JSON.stringify(response);
    try {
      await this.redis.set(k, value, 'EX', this.ttlSeconds);
      this.local.delete(k);
    } catch {
      this.local.set(k, { value, expires: Date.now() + this.ttlSeconds * 1000 });
      this.prune();
    }
  }

  /** abort releases a key whose request failed, so the client's retry is processed afresh. */
  async abort(scope: string, key: string): Promise<void> {
    const k = this.key(scope, key);
    this.local.delete(k);
    await this.redis.del(k).catch(() => undefined);
  }

  private prune(): void {
    if (this.local.size < 100_000) return;
    const now = Date.now();
    for (const [k, entry] of this.local) if (entry.expires < now) this.local.delete(k);
    // Still full during a long Redis outage: forget the oldest answers first (Map keeps insertion order).
    for (const k of this.local.keys()) {
      if (this.local.size < 100_000) break;
      this.local.delete(k);
    }
  }
}
