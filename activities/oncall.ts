import type { ClickHouseClient } from '@clickhouse/client';
import type Redis from 'ioredis';
import type { Config } from '../core/config';
import type { EscalationTarget } from '../core/escalation';
import { contactTargets, nextHandoff, resolveOncall, type Handoff, type OncallResolution } from '../core/oncall';
import { createOncallStore } from '../store/oncall-store';

/** NextHandoff is a schedule's next change of person and when to tell the incoming one, or why there is none. */
export type NextHandoff =
  | { kind: 'handoff'; handoff: Handoff; noticeAtMs: number; timeZone: string; targets: EscalationTarget[] }
  | { kind: 'none' }
  | { kind: 'deleted' };

/** createOncallActivities reads the on-call schedules for escalation steps and the handoff workflows. */
export function createOncallActivities(deps: { config: Config; redis: Redis; clickhouse: ClickHouseClient }) {
  const store = createOncallStore(deps);
  return {
    /** resolveOncallTargets answers an escalation step's schedules: each one's primary at `atMs` and their contacts. */
    async resolveOncallTargets(req: { schedules: string[]; atMs: number }): Promise<OncallResolution[]> {
      const all = await store.all();
      return req.schedules.map((name) => resolveOncall(name, all.get(name)?.schedule, req.atMs));
    },

    /**
     * nextHandoffOf finds a schedule's first change of person after `afterMs` (within five weeks) and when its notice
     * is due; 'deleted' once the schedule is gone.
     */
    async nextHandoffOf(req: { schedule: string; afterMs: number }): Promise<NextHandoff> {
      const stored = await store.get(req.schedule);
      if (!stored) return { kind: 'deleted' };
      const { schedule } = stored;
      const handoff = nextHandoff(schedule, req.afterMs);
      if (!handoff || handoff.incoming === undefined) return handoff ? { kind: 'handoff', handoff, noticeAtMs: handoff.atMs, timeZone: schedule.timeZone, targets: [] } : { kind: 'none' };
      return { kind: 'handoff', handoff, noticeAtMs: handoff.atMs - schedule.handoffNoticeMs, timeZone: schedule.timeZone, targets: contactTargets(schedule.contacts[handoff.incoming]) };
    },
  };
}
