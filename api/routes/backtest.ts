/**
 * POST /api/v1/admin/monitoring/alerts/rules/backtest (issue 20, part 7): `{rule, from, to, interval?}` replays a
 * rule — a loaded rule by name, or a rule object in the seed's or Prometheus' format — over stored history on a
 * simulated clock (store/backtest.ts, core/backtest.ts) and answers the alerts and notifications it would have
 * produced, with the diff against what the rule of that name recorded live.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { currentRuleGroups } from '../../activities/rules';
import { parseInstant } from '../../core/dashboard';
import { parseDuration } from '../../core/duration';
import { ApiError } from '../../core/errors';
import { isRecord } from '../../core/guards';
import { PromqlError } from '../../core/promql';
import { parseRule, RuleError, type Rule } from '../../core/rules';
import { createBacktester, MAX_EVALUATIONS } from '../../store/backtest';
import { fromRoot } from '../../store/paths';
import { TooManySamplesError } from '../../store/prom-query';
import type { AppDeps } from '../deps';
import { errorResponses } from '../schemas';

const Body = Type.Object({
  rule: Type.Union([Type.String({ description: 'the name of a loaded rule' }), Type.Object({}, { additionalProperties: true, description: 'a rule in the seed\'s format ({name, expression, duration, …}) or Prometheus\' ({alert, expr, for, …})' })]),
  from: Type.String({ description: 'ISO-8601, epoch milliseconds or now-<n>(s|m|h|d)' }),
  to: Type.Optional(Type.String({ description: 'default now' })),
  interval: Type.Optional(Type.String({ description: "evaluation interval; default the rule group's" })),
  align: Type.Optional(Type.Boolean({ description: "replay on the group's schedule phase, as its ticks were recorded (default true); false: instants from `from` on" })),
});
type Body = { rule: string | Record<string, unknown>; from: string; to?: string; interval?: string; align?: boolean };

export function backtestRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    const backtester = createBacktester({ config: deps.config, clickhouse: deps.clickhouse, redis: deps.redis });
    const configStore = { clickhouse: deps.clickhouse, redis: deps.redis, database: deps.config.clickhouse.database };

    app.post<{ Body: Body }>(
      '/api/v1/admin/monitoring/alerts/rules/backtest',
      {
        config: { access: 'admin' },
        schema: {
          description: 'Replays a rule over stored history: the alerts and notifications it would have produced, and the diff against what the rule of that name recorded.',
          body: Body,
          response: { 200: Type.Object({}, { additionalProperties: true }), ...errorResponses(400, 401, 403, 404, 503) },
        },
      },
      async (request) => {
        const now = Date.now();
        const fromMs = parseInstant(request.body.from, now);
        const toMs = request.body.to === undefined ? now : parseInstant(request.body.to, now);
        if (fromMs === undefined) throw new ApiError(400, 'validation_failed', 'expected ISO-8601, epoch milliseconds or now-<n>', 'body.from');
        if (toMs === undefined) throw new ApiError(400, 'validation_failed', 'expected ISO-8601, epoch milliseconds or now[-<n>]', 'body.to');
        if (toMs <= fromMs) throw new ApiError(400, 'validation_failed', 'must be after from', 'body.to');
        let intervalMs: number | undefined;
        if (request.body.interval !== undefined) {
          try {
            intervalMs = parseDuration(request.body.interval);
          } catch (err) {
            throw new ApiError(400, 'validation_failed', (err as Error).message, 'body.interval');
          }
          if (intervalMs < 1000) throw new ApiError(400, 'validation_failed', 'at least 1s', 'body.interval');
        }
        let rule: Rule | undefined;
        const raw = request.body.rule;
        const groups = await currentRuleGroups(fromRoot(deps.config.rulesPath), configStore, deps.config.temporal.taskQueue);
        if (typeof raw === 'string') {
          rule = groups.flatMap((g) => g.rules).find((r) => r.name === raw || r.alertname === raw);
          if (!rule) throw new ApiError(404, 'not_found', `no loaded rule ${raw}`, 'body.rule');
        } else {
          try {
            rule = parseRule(raw, isRecord(raw) && typeof raw.group === 'string' ? raw.group : 'backtest', 'body.rule');
          } catch (err) {
            if (err instanceof RuleError) throw new ApiError(400, 'validation_failed', err.message, err.field);
            throw err;
          }
        }
        if (rule.anomaly) throw new ApiError(400, 'validation_failed', 'an anomaly rule is judged by the anomaly scan, not replayed here', 'body.rule');
        const group = groups.find((g) => g.name === rule.group);
        intervalMs ??= group?.intervalMs ?? deps.config.alert.evaluationIntervalMs;
        if ((toMs - fromMs) / intervalMs > MAX_EVALUATIONS) throw new ApiError(400, 'validation_failed', `at most ${MAX_EVALUATIONS} evaluations: a shorter range or a longer interval`, 'body.to');
        // The live schedule's phase, from a tick its group recorded in the range: the replay evaluates when it did.
        const start = request.body.align === false ? fromMs : await backtester.alignedStart(rule.group, fromMs, toMs, intervalMs);
        try {
          return await backtester.run({ rule, fromMs: start, toMs, intervalMs });
        } catch (err) {
          if (err instanceof PromqlError || err instanceof TooManySamplesError || err instanceof RangeError) throw new ApiError(400, 'validation_failed', err.message, 'body.rule');
          throw err;
        }
      },
    );
  };
}
