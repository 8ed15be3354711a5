/**
 * The evaluation ticks of each rule group's schedule (core/evaluation-ticks.ts), as the runs recorded them: a Redis
 * sorted set per schedule (score: the instant the tick was due), kept TICK_RETENTION_MS, and counts by outcome for
 * /metrics. Keyed by schedule id, which names the deployment (task queue) and the group.
 */
import type { Client } from '@temporalio/client';
import type Redis from 'ioredis';
import { judgeTicks, type RecordedTick, type ScheduleFacts, type TickVerdict } from '../core/evaluation-ticks';
import { EVALUATE_RULES_SCHEDULE_PREFIX } from './schedules';

/** TICK_RETENTION_MS is how long a tick's record is kept: a day. */
export const TICK_RETENTION_MS = 86_400_000;

const ticksKey = (scheduleId: string) => `evaluations:ticks:${scheduleId}`;
/** COUNTS_KEY holds `<schedule id>\u0000<outcome>` → count, for /metrics. */
export const EVALUATION_COUNTS_KEY = 'evaluations:counts';

export function createEvaluationTickStore(redis: Redis) {
  return {
    /** record keeps one tick (a retried record of the same tick replaces it) and counts it once. */
    async record(scheduleId: string, tick: RecordedTick): Promise<void> {
      const key = ticksKey(scheduleId);
      const removed = await redis.zremrangebyscore(key, tick.scheduledMs, tick.scheduledMs);
      await redis
        .multi()
        .zadd(key, tick.scheduledMs, JSON.stringify(tick))
        .zremrangebyscore(key, '-inf', tick.scheduledMs - TICK_RETENTION_MS)
        .pexpire(key, TICK_RETENTION_MS)
        .exec();
      if (!removed) await redis.hincrby(EVALUATION_COUNTS_KEY, `${scheduleId}\u0000${tick.outcome}`, 1);
    },

    /** ticks lists a schedule's recorded ticks due in [fromMs, toMs]. */
    async ticks(scheduleId: string, fromMs: number, toMs: number): Promise<RecordedTick[]> {
      return (await redis.zrangebyscore(ticksKey(scheduleId), fromMs, toMs)).map((m) => JSON.parse(m) as RecordedTick);
    },

    /** counts reads every schedule's tick counts: schedule id → outcome → count. */
    async counts(): Promise<Map<string, Record<string, number>>> {
      const out = new Map<string, Record<string, number>>();
      for (const [field, value] of Object.entries(await redis.hgetall(EVALUATION_COUNTS_KEY))) {
        const [scheduleId, outcome] = field.split('\u0000');
        if (!scheduleId || !outcome) continue;
        out.set(scheduleId, { ...out.get(scheduleId), [outcome]: Number(value) });
      }
      return out;
    },
  };
}

/** GroupSchedule is a rule group's evaluation schedule as Temporal describes it. */
export interface GroupSchedule {
  scheduleId: string;
  group: string;
  facts: ScheduleFacts;
  taken: number;
}

/** SCHEDULES_TTL_MS: /metrics and the page read the schedules at most this often. */
const SCHEDULES_TTL_MS = 10_000;

/**
 * createEvaluationHealth reads the deployment's rule group schedules (`evaluate-rules/<task queue>/<group>`) from
 * Temporal, cached SCHEDULES_TTL_MS, and judges their ticks.
 */
export function createEvaluationHealth(temporal: Client, taskQueue: string, ticks: ReturnType<typeof createEvaluationTickStore>) {
  const prefix = `${EVALUATE_RULES_SCHEDULE_PREFIX}${taskQueue}/`;
  let cached: { atMs: number; schedules: Promise<GroupSchedule[]> } | undefined;
  const describeAll = () => temporal.withDeadline(Date.now() + 5_000, describeSchedules);
  async function describeSchedules(): Promise<GroupSchedule[]> {
    const ids: string[] = [];
    for await (const s of temporal.schedule.list()) if (s.scheduleId.startsWith(prefix)) ids.push(s.scheduleId);
    const out = await Promise.all(
      ids.sort().map(async (scheduleId): Promise<GroupSchedule | undefined> => {
        const d = await temporal.schedule.getHandle(scheduleId).describe().catch(() => undefined);
        const interval = d?.spec.intervals?.[0];
        if (!d || !interval) return undefined;
        return {
          scheduleId,
          group: scheduleId.slice(prefix.length),
          taken: d.info.numActionsTaken,
          facts: {
            everyMs: interval.every,
            offsetMs: interval.offset ?? 0,
            createdMs: d.info.createdAt.getTime(),
            paused: d.state.paused,
            ...(d.state.note ? { note: d.state.note } : {}),
            missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
            skippedOverlap: d.info.numActionsSkippedOverlap,
            ...(d.info.nextActionTimes[0] ? { anchorMs: d.info.nextActionTimes[0].getTime() } : {}),
          },
        };
      }),
    );
    return out.filter((s): s is GroupSchedule => s !== undefined);
  }
  const schedules = () => {
    const now = Date.now();
    if (!cached || now - cached.atMs > SCHEDULES_TTL_MS) {
      cached = { atMs: now, schedules: describeAll() };
      cached.schedules.catch(() => (cached = undefined));
    }
    return cached.schedules;
  };
  return {
    schedules,
    /** judged is every group's ticks due in [fromMs, toMs), judged. */
    async judged(fromMs: number, toMs: number, nowMs = Date.now()): Promise<Array<GroupSchedule & { verdicts: TickVerdict[] }>> {
      return Promise.all((await schedules()).map(async (s) => ({ ...s, verdicts: judgeTicks(s.facts, await ticks.ticks(s.scheduleId, fromMs - s.facts.everyMs, toMs), fromMs, toMs, nowMs) })));
    },
  };
}
