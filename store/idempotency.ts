import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';

/**
 * IdempotencyState is what a key already stands for: nothing yet (`new`), a request in progress in a live process,
 * a stored answer, or `recover` — an earlier request under this key whose process died or failed before
 * answering, so some of its rows may have landed: the caller must write only what is missing.
 */
export type IdempotencyState =
  | { state: 'new' }
  | { state: 'recover' }
  | { state: 'in-progress' }
  | { state: 'done'; response: unknown };

const IN_PROGRESS = '"__in_progress__"';

// One round trip, atomic: claim a fresh key with its lease, or take over an in-progress key whose lease lapsed
// (its process died or gave up), or say what the key already stands for.
const BEGIN = `
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3])
  return {'new'}
end
if v ~= ARGV[1] then return {'done', v} end
if redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3], 'NX') then return {'recover'} end
return {'in-progress'}
`;

interface LocalEntry {
  value: string;
  expires: number;
  /** An in-progress request of this process holds the key. */
  leased: boolean;
}

/**
 * IdempotencyStore remembers, per caller and Idempotency-Key, the answer to a request that completed, so a retried
 * batch is answered again without storing anything twice. Keys live in Redis (shared by every API process). A
 * request in progress holds a short lease it renews while it runs (`keepAlive`): when its process is killed the
 * lease lapses within `leaseMs`, and the client's retry is told to `recover` instead of waiting for the key to
 * expire or writing everything again. While Redis is down a process-local map keeps the guarantee for retries
 * that reach the same process.
 */
export class IdempotencyStore {
  private readonly local = new Map<string, LocalEntry>();
  private readonly owner = randomUUID();

  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
    private readonly leaseMs = 10_000,
  ) {}

  private key(scope: string, key: string): string {
    return `idem:${scope}:${key}`;
  }

  /** begin claims a key for a new request, or says what it already stands for. */
  async begin(scope: string, key: string): Promise<IdempotencyState> {
    const k = this.key(scope, key);
    let reply: [string, string?];
    try {
      reply = (await this.redis.eval(BEGIN, 2, k, `${k}:lease`, IN_PROGRESS, this.ttlSeconds, this.leaseMs, this.owner)) as [string, string?];
    } catch {
      return this.beginLocally(k);
    }
    const [state, value] = reply;
    if (state === 'done') return { state: 'done', response: JSON.parse(value!) };
    return { state: state as 'new' | 'recover' | 'in-progress' };
  }

  private beginLocally(k: string): IdempotencyState {
    const entry = this.local.get(k);
    if (!entry || entry.expires < Date.now()) {
      this.local.set(k, { value: IN_PROGRESS, expires: Date.now() + this.ttlSeconds * 1000, leased: true });
      return { state: 'new' };
    }
    if (entry.value !== IN_PROGRESS) return { state: 'done', response: JSON.parse(entry.value) };
    if (entry.leased) return { state: 'in-progress' };
    entry.leased = true;
    return { state: 'recover' };
  }

  /** keepAlive renews the key's lease while its request runs; call the returned function when it ends. */
  keepAlive(scope: string, key: string): () => void {
    const lease = `${this.key(scope, key)}:lease`;
    const timer = setInterval(() => void this.redis.pexpire(lease, this.leaseMs).catch(() => undefined), this.leaseMs / 3);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** complete stores the answer of a finished request under its key and releases the lease. */
  async complete(scope: string, key: string, response: unknown): Promise<void> {
    const k = this.key(scope, key);
    const value = JSON.stringify(response);
    try {
      await this.redis.multi().set(k, value, 'EX', this.ttlSeconds).del(`${k}:lease`).exec();
      this.local.delete(k);
    } catch {
      this.local.set(k, { value, expires: Date.now() + this.ttlSeconds * 1000, leased: false });
      this.prune();
    }
  }

  /**
   * abort ends a request that failed. When nothing of it can have been stored the key is released and the retry
   * is processed afresh; otherwise only the lease is released and the retry recovers (writes what is missing).
   */
  async abort(scope: string, key: string, nothingStored: boolean): Promise<void> {
    const k = this.key(scope, key);
    const entry = this.local.get(k);
    if (nothingStored) this.local.delete(k);
    else if (entry) entry.leased = false;
    await (nothingStored ? this.redis.del(k, `${k}:lease`) : this.redis.del(`${k}:lease`)).catch(() => undefined);
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
