import type Redis from 'ioredis';
import { latestValues, mergeLatest, serviceMetrics, type FieldValues, type InstanceReading, type LatestValues } from '../core/realtime';
import { matchesAll, type Matcher } from '../core/silences';
import type { ActiveAlert, RealtimeSnapshot, Sample } from '../core/types';

/** Redis key layout, after the seed's "Redis Caching" section. */
export const redisKeys = {
  /** A service's own series (those without an instance) and when it last reported; TTL: the cache TTL. */
  realtime: (service: string) => `metrics:realtime:${service}`,
  /** One instance's latest series; TTL: the cache TTL. A service's values are derived from these at read time. */
  realtimeInstance: (service: string, instance: string) => `metrics:realtime:${service}:instance:${instance}`,
  /** When each instance of a service last reported (instance → ms); one silent for INSTANCE_MEMORY_SECONDS is forgotten. */
  instances: (service: string) => `metrics:instances:${service}`,
  activeAlerts: (service: string) => `alerts:active:${service}`,
  openAlerts: (rule: string) => `alerts:open:${rule}`,
  /** The latest evaluated value of each open alert of a service (fingerprint → {value, atMs}), written by evaluation. */
  alertValues: (service: string) => `alerts:values:${service}`,
  /** When each open alert of a rule was last told it still breaches (fingerprint → ms): heartbeat throttling. */
  alertHeartbeats: (rule: string) => `alerts:heartbeat:${rule}`,
  /**
   * The alerts of a service that fire as of the latest evaluation (fingerprint → {labels, untilMs}): written by the
   * evaluator before it signals any workflow, so an inhibition source firing in the same evaluation as its target
   * mutes it even before the source's workflow has recorded itself as firing.
   */
  firingNow: (service: string) => `alerts:firing-now:${service}`,
  /**
   * Each rule's stretch of uninterrupted evaluation (rule → {sinceMs, lastMs}): a series is stale only when its rule
   * was evaluated without seeing it for the stale period, never because nothing evaluated (Temporal or workers down).
   */
  ruleCoverage: 'rules:coverage',
  /** Notification deliveries of all workers, `{channel}:{sent|failed}` → count (the API's /metrics reads it). */
  notificationStats: 'stats:notifications',
  services: 'services:known',
  /** An alert stream event that went out (activities/alert-stream.ts), so that it is not published again. */
  publishedEvent: (eventId: string) => `alerts:stream:published:${eventId}`,
};

/** RuleCoverage is a rule's current stretch of evaluations without a gap longer than COVERAGE_GAP_INTERVALS intervals. */
/** firingAlertsMatching lists the open alerts past pending whose labels a silence's matchers all match. */
export async function firingAlertsMatching(redis: Redis, matchers: readonly Matcher[]): Promise<ActiveAlert[]> {
  const matched: ActiveAlert[] = [];
  for (const service of await redis.smembers(redisKeys.services)) {
    for (const raw of Object.values(await redis.hgetall(redisKeys.activeAlerts(service)))) {
      const alert = JSON.parse(raw) as ActiveAlert;
      if (alert.status !== 'pending' && alert.labels && matchesAll(alert.labels, matchers)) matched.push(alert);
    }
  }
  return matched;
}

export interface RuleCoverage {
  sinceMs: number;
  lastMs: number;
}

/** COVERAGE_GAP_INTERVALS: evaluations further apart than this many intervals start a new stretch. */
export const COVERAGE_GAP_INTERVALS = 2.5;

/** nextCoverage extends a rule's stretch of evaluations with one at nowMs, or starts a new one after a gap. */
export function nextCoverage(previous: RuleCoverage | undefined, nowMs: number, intervalMs: number): RuleCoverage {
  if (previous && nowMs - previous.lastMs <= COVERAGE_GAP_INTERVALS * intervalMs) return { sinceMs: Math.min(previous.sinceMs, nowMs), lastMs: Math.max(previous.lastMs, nowMs) };
  return { sinceMs: nowMs, lastMs: nowMs };
}

/** INSTANCE_MEMORY_SECONDS is how long an instance that stopped reporting is still counted (as unhealthy). */
export const INSTANCE_MEMORY_SECONDS = 3600;

/** RedisDeps are what the Redis activities need. */
export interface RedisDeps {
  redis: Redis;
  realtimeTtlSeconds: number;
}

/** createRedisStore builds the realtime cache and active-alert state operations. */
export function createRedisStore({ redis, realtimeTtlSeconds }: RedisDeps) {
  /** writePipeline writes reduced values in one pipeline. */
  async function writePipeline(latest: LatestValues, nowMs: number): Promise<void> {
    const pipeline = redis.pipeline();
    const hashOf = (fields: FieldValues): Record<string, string> => {
      const values: Record<string, string> = { last_updated: new Date(nowMs).toISOString() };
      for (const [field, { value }] of fields) values[field] = String(value);
      return values;
    };
    for (const [service, { fields, perInstance, instances }] of latest) {
      const key = redisKeys.realtime(service);
      pipeline.hset(key, hashOf(fields));
      pipeline.expire(key, realtimeTtlSeconds);
      for (const [instance, own] of perInstance) {
        const instanceKey = redisKeys.realtimeInstance(service, instance);
        pipeline.hset(instanceKey, hashOf(own));
        pipeline.expire(instanceKey, realtimeTtlSeconds);
      }
      pipeline.sadd(redisKeys.services, service);
      if (instances.size > 0) {
        const seen: Record<string, string> = {};
        for (const [instance, ts] of instances) seen[instance] = String(Math.min(ts, nowMs));
        pipeline.hset(redisKeys.instances(service), seen);
        pipeline.expire(redisKeys.instances(service), INSTANCE_MEMORY_SECONDS);
      }
    }
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  /**
   * writeLatest is writeRealtime for values already reduced with latestValues (it takes them over). One pipeline is
   * in flight at a time; the writes that arrive meanwhile are merged, the latest reading per series winning, and go
   * together as the next pipeline (group commit): each write still resolves only once its values are in Redis, an
   * idle cache is written at once, and under load concurrent requests' repeated series cost Redis one field each.
   */
  let next: { latest: LatestValues; nowMs: number; done: Promise<void>; settle: (err: unknown) => void } | undefined;
  let writing = false;
  const flush = (): void => {
    const batch = next!;
    next = undefined;
    writing = true;
    writePipeline(batch.latest, batch.nowMs).then(
      () => batch.settle(undefined),
      (err: unknown) => batch.settle(err ?? new Error('realtime cache write failed')),
    ).finally(() => {
      writing = false;
      if (next) flush();
    });
  };
  function writeLatest(latest: LatestValues, nowMs: number): Promise<void> {
    if (latest.size === 0) return Promise.resolve();
    if (!next) {
      let settle!: (err: unknown) => void;
      const done = new Promise<void>((resolve, reject) => (settle = (err) => (err === undefined ? resolve() : reject(err))));
      next = { latest: new Map(), nowMs, done, settle };
    }
    mergeLatest(next.latest, latest);
    next.nowMs = Math.max(next.nowMs, nowMs);
    const { done } = next;
    if (!writing) flush();
    return done;
  }

  return {
    /**
     * writeRealtime stores each service's latest values in `metrics:realtime:{service}` (a hash, one field per series,
     * plus last_updated) with a TTL, in one pipeline; a service that stops reporting expires and reads as unknown.
     */
    async writeRealtime(samples: Sample[], nowMs: number): Promise<void> {
      await writeLatest(latestValues(samples), nowMs);
    },

    writeLatest,

    /**
     * readRealtime returns a service's snapshot in the seed's shape, or null when it has none (expired or never
     * seen): its values derived from its live instances' (core/realtime.ts serviceMetrics) and its own series, and
     * each live instance's values.
     */
    async readRealtime(service: string): Promise<RealtimeSnapshot | null> {
      const key = redisKeys.realtime(service);
      const [hash, ttl, seen] = await Promise.all([redis.hgetall(key), redis.ttl(key), redis.hgetall(redisKeys.instances(service))]);
      if (!hash.last_updated) return null;
      const names = Object.keys(seen).sort();
      const pipeline = redis.pipeline();
      for (const name of names) pipeline.hgetall(redisKeys.realtimeInstance(service, name));
      const replies = names.length > 0 ? ((await pipeline.exec()) ?? []) : [];
      const numbers = (fields: Record<string, string>) => {
        const out: Record<string, number> = {};
        for (const [field, value] of Object.entries(fields)) if (field !== 'last_updated') out[field] = Number(value);
        return out;
      };
      const instances: InstanceReading[] = [];
      replies.forEach(([err, fields], i) => {
        if (err) throw err;
        const stored = fields as Record<string, string>;
        // An instance whose values expired is not live: it counts in the instance list only.
        if (stored.last_updated) instances.push({ instance: names[i]!, metrics: numbers(stored), lastUpdatedMs: Date.parse(stored.last_updated) });
      });
      const metrics = serviceMetrics(numbers(hash), instances);
      const pick = (name: string) => metrics[name] ?? null;
      return {
        cpu_usage: pick('cpu_usage_percent'),
        memory_usage: pick('memory_usage_percent'),
        response_time_p95: pick('response_time_p95_ms'),
        error_rate: pick('error_rate_percent'),
        last_updated: hash.last_updated,
        ttl: Math.max(ttl, 0),
        metrics,
        instances: instances.map((r) => ({ instance: r.instance, metrics: r.metrics, last_updated: new Date(r.lastUpdatedMs).toISOString() })),
      };
    },

    /** setActiveAlert stores or replaces an alert in `alerts:active:{service}`. */
    async setActiveAlert(alert: ActiveAlert): Promise<void> {
      await redis.hset(redisKeys.activeAlerts(alert.service), alert.alert_id, JSON.stringify(alert));
    },

    /**
     * ruleCoverage says since when a rule has been evaluated without a gap, and when last (undefined when no
     * evaluation was ever recorded).
     */
    async ruleCoverage(rule: string): Promise<RuleCoverage | undefined> {
      const stored = await redis.hget(redisKeys.ruleCoverage, rule);
      return stored ? (JSON.parse(stored) as RuleCoverage) : undefined;
    },

    /** closeActiveAlert removes an ended alert from the active list and from its rule's open set. */
    async closeActiveAlert(alert: Pick<ActiveAlert, 'service' | 'alert_id' | 'rule' | 'fingerprint'>): Promise<void> {
      await redis
        .multi()
        .hdel(redisKeys.activeAlerts(alert.service), alert.alert_id)
        .hdel(redisKeys.alertValues(alert.service), alert.fingerprint)
        .hdel(redisKeys.alertHeartbeats(alert.rule), alert.fingerprint)
        .srem(redisKeys.openAlerts(alert.rule), alert.fingerprint)
        .exec();
    },

    /** listActiveAlerts returns a service's active alerts, most severe and oldest first. */
    async listActiveAlerts(service: string): Promise<ActiveAlert[]> {
      const rank = { critical: 0, warning: 1, info: 2 } as const;
      const [stored, values] = await Promise.all([redis.hgetall(redisKeys.activeAlerts(service)), redis.hgetall(redisKeys.alertValues(service))]);
      // The workflow records transitions; each evaluation's value comes from the evaluator (no workflow step per tick).
      const alerts = Object.values(stored).map((v) => {
        const alert = JSON.parse(v) as ActiveAlert;
        const latest = values[alert.fingerprint] ? (JSON.parse(values[alert.fingerprint]!) as { value: number; atMs: number }) : undefined;
        if (!latest || latest.atMs <= Date.parse(alert.last_evaluation)) return alert;
        return { ...alert, current_value: latest.value, last_evaluation: new Date(latest.atMs).toISOString(), duration: Math.max(0, Math.round((latest.atMs - Date.parse(alert.started_at)) / 1000)) };
      });
      return alerts.sort((a, b) => rank[a.severity] - rank[b.severity] || a.started_at.localeCompare(b.started_at));
    },

    /** knownServices lists every service that has reported a sample (the dashboard's services for unscoped keys). */
    async knownServices(): Promise<string[]> {
      return (await redis.smembers(redisKeys.services)).sort();
    },

    /**
     * listInstances returns when each instance of a service last reported; instances silent for longer than
     * INSTANCE_MEMORY_SECONDS are dropped from the hash as they are found.
     */
    async listInstances(service: string, nowMs: number): Promise<Array<{ instance: string; lastSeenMs: number }>> {
      const key = redisKeys.instances(service);
      const seen = await redis.hgetall(key);
      const forgotten: string[] = [];
      const out: Array<{ instance: string; lastSeenMs: number }> = [];
      for (const [instance, ms] of Object.entries(seen)) {
        if (nowMs - Number(ms) > INSTANCE_MEMORY_SECONDS * 1000) forgotten.push(instance);
        else out.push({ instance, lastSeenMs: Number(ms) });
      }
      if (forgotten.length > 0) await redis.hdel(key, ...forgotten);
      return out.sort((a, b) => a.instance.localeCompare(b.instance));
    },
  };
}
