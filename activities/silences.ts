import { readFile } from 'node:fs/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import type Redis from 'ioredis';
import { parse as parseYaml } from 'yaml';
import type { Config } from '../core/config';
import { notificationMute, parseInhibitRules, type Dependency, type InhibitRule, type MuteDecision, type Silence } from '../core/silences';
import type { ActiveAlert, Labels } from '../core/types';
import { createConfigStore } from '../store/config-store';
import { fromRoot } from '../store/paths';
import { redisKeys } from '../store/redis';

/** SILENCES_KEY is the Redis hash caching silences by id. */
export const SILENCES_KEY = 'silences';

/** EXPIRED_RETENTION_MS: an expired silence stays listed (as expired) this long, as Alertmanager keeps them (5 days). */
export const EXPIRED_RETENTION_MS = 5 * 86_400_000;

/**
 * createSilenceActivities builds the silence store — durable in ClickHouse, cached in Redis (store/config-store.ts)
 * — and the notification gate (silences, then inhibition).
 */
export function createSilenceActivities({ config, redis, clickhouse }: { config: Config; redis: Redis; clickhouse: ClickHouseClient }) {
  const store = createConfigStore({ clickhouse, redis, database: config.clickhouse.database }, 'silence', 'all', SILENCES_KEY);
  let inhibit: { rules: InhibitRule[]; loadedAtMs: number } | undefined;
  async function inhibitRules(): Promise<InhibitRule[]> {
    // Re-read at most every 30 s: an edit applies within one evaluation interval.
    if (!inhibit || Date.now() - inhibit.loadedAtMs > 30_000) {
      const file = fromRoot(config.inhibitPath);
      const rules = parseInhibitRules(parseYaml(await readFile(file, 'utf8')), config.inhibitPath);
      inhibit = { rules, loadedAtMs: Date.now() };
    }
    return inhibit.rules;
  }

  /** listSilences lists pending, active and recently expired silences; older expired ones are dropped on the way. */
  async function listSilences(): Promise<Silence[]> {
    const now = Date.now();
    const all = [...(await store.all()).values()].map((v) => JSON.parse(v) as Silence);
    const old = all.filter((s) => s.endsAtMs < now - EXPIRED_RETENTION_MS);
    for (const s of old) await store.remove(s.id);
    return all.filter((s) => !old.includes(s)).sort((a, b) => a.endsAtMs - b.endsAtMs);
  }

  /**
   * firingIn is one service's firing alerts' labels, but `fingerprint`'s own: as their workflows recorded them, and as
   * the latest evaluation found them (redisKeys.firingNow: workflows may not have recorded that evaluation yet).
   */
  async function firingIn(service: string, fingerprint: string, now: number): Promise<Labels[]> {
    const [active, firingNow] = await Promise.all([redis.hgetall(redisKeys.activeAlerts(service)), redis.hgetall(redisKeys.firingNow(service))]);
    const out: Labels[] = [];
    for (const v of Object.values(active)) {
      const a = JSON.parse(v) as ActiveAlert;
      if (a.status !== 'pending' && a.fingerprint !== fingerprint && a.labels) out.push(a.labels);
    }
    for (const [fp, entry] of Object.entries(firingNow)) {
      const { labels, untilMs } = JSON.parse(entry) as { labels: Labels; untilMs: number };
      if (fp !== fingerprint && untilMs > now) out.push(labels);
    }
    return out;
  }

  return {
    listSilences,

    /** saveSilence stores a silence (created or changed). */
    async saveSilence(silence: Silence): Promise<void> {
      await store.put(silence.id, JSON.stringify(silence));
    },

    /**
     * expireSilence ends a silence now (it stays listed as expired for EXPIRED_RETENTION_MS); true if it was pending
     * or active, false if there is no such silence or it had already ended.
     */
    async expireSilence(id: string): Promise<boolean> {
      const found = (await listSilences()).find((s) => s.id === id);
      const now = Date.now();
      if (!found || found.endsAtMs <= now) return false;
      await store.put(id, JSON.stringify({ ...found, endsAtMs: Math.max(found.startsAtMs, now) }));
      return true;
    },

    /** removeSilence forgets a silence that never took effect (its workflow could not start). */
    async removeSilence(id: string): Promise<boolean> {
      return store.remove(id);
    },

    /**
     * notificationGate decides whether an alert's notifications are muted now: by an active silence matching its
     * labels, by a firing alert of the same service that an inhibition rule makes its source, or by its rule's parent
     * (`depends_on`) firing in any service (firingIn).
     */
    async notificationGate(req: { labels: Labels; service: string; fingerprint: string; dependsOn?: Dependency }): Promise<MuteDecision> {
      const now = Date.now();
      const [silences, rules, firing] = await Promise.all([listSilences(), inhibitRules(), firingIn(req.service, req.fingerprint, now)]);
      // A rule's parent may be another service's alert (ClickHouse down for its clients): every service, read once.
      let dependency;
      if (req.dependsOn) {
        const others = (await redis.smembers(redisKeys.services)).filter((s) => s !== req.service);
        const elsewhere = await Promise.all(others.map((service) => firingIn(service, req.fingerprint, now)));
        dependency = { on: req.dependsOn, firingEverywhere: [...firing, ...elsewhere.flat()] };
      }
      return notificationMute(req.labels, silences, firing, rules, now, dependency);
    },
  };
}
