/**
 * GET /api/v1/admin/monitoring/evaluations (issue 20, part 8): each rule group's evaluation ticks in a range — run
 * (ok or failed, and why), skipped or missed (and why) — judged by core/evaluation-ticks.ts from the ticks the runs
 * recorded (store/evaluation-ticks.ts) and what Temporal says of the group's schedule. The same figures feed
 * /metrics (monitoring_rule_evaluation_ticks_total and …_missed_total) and the dashboard page.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ApiError } from '../../core/errors';
import type { AppDeps } from '../deps';
import { readRoute, timeRange } from '../schemas';

/** MAX_RANGE_MS: ticks are kept a day. */
const MAX_RANGE_MS = 86_400_000;

const Verdict = Type.Object({
  at: Type.String(),
  outcome: Type.String({ description: 'ok, failed, skipped, missed or pending' }),
  why: Type.Optional(Type.String()),
  duration_ms: Type.Optional(Type.Number()),
  series: Type.Optional(Type.Integer()),
});

export function evaluationRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    readRoute<{ from?: string; to?: string }>(
      app,
      '/api/v1/admin/monitoring/evaluations',
      {
        access: 'admin',
        description: "Each rule group's evaluation ticks in the range (at most a day, default the last hour): counts by outcome, and every tick that did not run cleanly with why (failed, skipped, missed).",
        querystring: Type.Object({ from: Type.Optional(Type.String()), to: Type.Optional(Type.String()) }),
        response: Type.Object({
          from: Type.String(),
          to: Type.String(),
          groups: Type.Array(
            Type.Object({
              group: Type.String(),
              schedule_id: Type.String(),
              every_ms: Type.Integer(),
              paused: Type.Boolean(),
              ticks: Type.Record(Type.String(), Type.Integer(), { description: 'due ticks by outcome' }),
              temporal: Type.Object({ taken: Type.Integer(), missed_catchup_window: Type.Integer(), skipped_overlap: Type.Integer() }, { description: "Temporal's own counts since the schedule was created" }),
              last_run: Type.Union([Verdict, Type.Null()]),
              problems: Type.Array(Verdict, { description: 'the failed, skipped and missed ticks, newest first (at most 100)' }),
            }),
          ),
        }),
      },
      async (request) => {
        const { fromMs, toMs } = timeRange(request.query, Date.now(), 3_600_000);
        if (toMs - fromMs > MAX_RANGE_MS) throw new ApiError(400, 'validation_failed', 'from: the range may span at most a day (ticks are kept a day)', 'querystring.from');
        if (!deps.temporal || !deps.evaluationHealth) throw new ApiError(503, 'workflows_unavailable', 'Temporal is not reachable from this API process', undefined, 5);
        const health = deps.evaluationHealth;
        const groups = await health.judged(fromMs, toMs).catch((err: unknown) => {
          request.log.error({ err }, 'reading the evaluation schedules failed');
          throw new ApiError(503, 'workflows_unavailable', 'the evaluation schedules or their ticks cannot be read; retry later', undefined, 5);
        });
        return {
          from: new Date(fromMs).toISOString(),
          to: new Date(toMs).toISOString(),
          groups: groups.map((g) => {
            const ticks: Record<string, number> = { ok: 0, failed: 0, skipped: 0, missed: 0, pending: 0 };
            for (const v of g.verdicts) ticks[v.outcome] = (ticks[v.outcome] ?? 0) + 1;
            const ran = g.verdicts.filter((v) => v.outcome === 'ok' || v.outcome === 'failed');
            return {
              group: g.group,
              schedule_id: g.scheduleId,
              every_ms: g.facts.everyMs,
              paused: g.facts.paused,
              ticks,
              temporal: { taken: g.taken, missed_catchup_window: g.facts.missedCatchupWindow, skipped_overlap: g.facts.skippedOverlap },
              last_run: ran[ran.length - 1] ?? null,
              problems: g.verdicts.filter((v) => v.outcome === 'failed' || v.outcome === 'skipped' || v.outcome === 'missed').reverse().slice(0, 100),
            };
          }),
        };
      },
    );
  };
}
