import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { createSilenceActivities } from '../../activities/silences';
import { alertWorkflowId } from '../../core/fingerprint';
import { AlertmanagerError, externalAlert, gettableAlert, gettableSilence, parsePostableAlerts } from '../../core/alertmanager';
import { ApiError } from '../../core/errors';
import { matchesAll, parseMatcherText, parseMatchers, SilenceError, type Matcher, type Silence } from '../../core/silences';
import { TASK_PRIORITY, type ActiveAlert } from '../../core/types';
import { isRecord } from '../../core/guards';
import { observeSignal } from '../../workflows/messages';
import { alertLifecycleWorkflow } from '../../workflows/alert-lifecycle';
import type { AppDeps } from '../deps';
import { expireSilenceNow, scheduleSilence } from './silences';

/**
 * Alertmanager's API v2, so Prometheus and amtool talk to this module (issue 18):
 * - POST /api/v2/alerts — a Prometheus whose `alerting.alertmanagers` points here hands its alerts to our alert
 *   workflows (core/alertmanager.ts): grouping, silences, inhibition, escalation, Slack and e-mail with ack, as for
 *   our own rules. A service key (Bearer, or basic auth with the token as password) may post.
 * - GET /api/v2/alerts (filter=, active, silenced), GET|POST /api/v2/silences, GET|DELETE /api/v2/silence/{id},
 *   GET /api/v2/status and /api/v2/receivers — for amtool and dashboards; admin keys.
 * Matchers are Alertmanager's, as objects or strings (`severity="critical"`, `=~`, `!~`, quoted UTF-8 names).
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_SILENCE_MS = 30 * 24 * 3600_000;
const STARTED_AT = new Date().toISOString();

/** filterOf reads `filter` query parameters (each an Alertmanager matcher string) into matchers. */
function filterOf(request: FastifyRequest): Matcher[] {
  const raw = (request.query as Record<string, string | string[] | undefined>).filter;
  const texts = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  try {
    return texts.flatMap((t, i) => parseMatcherText(t, `filter[${i}]`));
  } catch (err) {
    if (err instanceof SilenceError) throw new ApiError(400, 'validation_failed', err.message, err.field);
    throw err;
  }
}

/** flag reads a boolean query parameter (Alertmanager's active=, silenced=, …), `fallback` when absent. */
function flag(request: FastifyRequest, name: string, fallback: boolean): boolean {
  const v = (request.query as Record<string, string | undefined>)[name];
  return v === undefined ? fallback : v !== 'false';
}

export function alertmanagerRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    const store = createSilenceActivities({ config: deps.config, redis: deps.redis, clickhouse: deps.clickhouse });

    app.post('/api/v2/alerts', { config: { access: 'ingest' } }, async (request, reply) => {
      let alerts;
      try {
        alerts = parsePostableAlerts(request.body);
      } catch (err) {
        if (err instanceof AlertmanagerError) throw new ApiError(400, 'validation_failed', err.message, err.field);
        throw err;
      }
      const temporal = deps.temporal;
      if (!temporal) throw new ApiError(503, 'workflows_unavailable', 'alerts need Temporal, which this API process cannot reach', undefined, 5);
      const now = Date.now();
      try {
        await temporal.withDeadline(now + 10_000, () =>
          Promise.all(
            alerts.map(async (alert) => {
              const { input, observation } = externalAlert(alert, now);
              // A resolved alert with no open workflow has nothing to resolve: starting one would only end at once.
              if (!observation.breaching) {
                try {
                  await temporal.workflow.getHandle(alertWorkflowId(input.fingerprint)).signal(observeSignal, observation);
                } catch {
                  // No such alert (never fired here, or already over): nothing to do.
                }
                return;
              }
              await temporal.workflow.signalWithStart(alertLifecycleWorkflow, {
                workflowId: alertWorkflowId(input.fingerprint),
                taskQueue: deps.config.temporal.taskQueue,
                args: [input],
                signal: observeSignal,
                signalArgs: [observation],
                priority: { priorityKey: TASK_PRIORITY[input.rule.severity] },
              });
            }),
          ),
        );
      } catch (err) {
        request.log.error({ err }, 'alerts from Alertmanager clients not handed to their workflows');
        throw new ApiError(503, 'workflows_unavailable', 'the alerts could not be handed to their workflows; retry', undefined, 5);
      }
      return reply.code(200).send();
    });

    /** activeAlerts reads every service's active alerts (the alerts:active:* hashes). */
    const activeAlerts = async (): Promise<ActiveAlert[]> => {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, found] = await deps.redis.scan(cursor, 'MATCH', 'alerts:active:*', 'COUNT', 500);
        cursor = next;
        keys.push(...found);
      } while (cursor !== '0');
      const services = keys.map((k) => k.slice('alerts:active:'.length));
      return (await Promise.all(services.map((s) => deps.redisStore.listActiveAlerts(s)))).flat();
    };

    app.get('/api/v2/alerts', { config: { access: 'admin' } }, async (request) => {
      const now = Date.now();
      const filter = filterOf(request);
      const [wantActive, wantSilenced] = [flag(request, 'active', true), flag(request, 'silenced', true)];
      const silences = (await store.listSilences()).filter((s) => s.startsAtMs <= now && now < s.endsAtMs);
      return (await activeAlerts())
        .map((a) => {
          const shown = gettableAlert(a, [], now);
          const silencedBy = silences.filter((s) => matchesAll(shown.labels, s.matchers)).map((s) => s.id);
          return silencedBy.length ? gettableAlert(a, silencedBy, now) : shown;
        })
        .filter((g) => matchesAll(g.labels, filter) && (g.status.state === 'suppressed' ? wantSilenced : wantActive));
    });

    app.get('/api/v2/silences', { config: { access: 'admin' } }, async (request) => {
      const now = Date.now();
      const filter = filterOf(request);
      return (await store.listSilences())
        .filter((s) => filter.every((f) => s.matchers.some((m) => m.name === f.name && matchesAll({ [f.name]: m.value }, [f]))))
        .map((s) => gettableSilence(s, now));
    });

    app.post('/api/v2/silences', { config: { access: 'admin' } }, async (request) => {
      const now = Date.now();
      const body = request.body;
      if (!isRecord(body)) throw new ApiError(400, 'validation_failed', 'expected a silence object', 'body');
      let silence: Silence;
      try {
        const matchers = parseMatchers(body.matchers, 'body.matchers');
        const startsAtMs = typeof body.startsAt === 'string' && body.startsAt ? Date.parse(body.startsAt) : now;
        const endsAtMs = typeof body.endsAt === 'string' ? Date.parse(body.endsAt) : NaN;
        if (!Number.isFinite(startsAtMs)) throw new SilenceError('body.startsAt', 'expected an RFC 3339 time');
        if (!Number.isFinite(endsAtMs)) throw new SilenceError('body.endsAt', 'required, an RFC 3339 time');
        if (endsAtMs <= Math.max(startsAtMs, now)) throw new SilenceError('body.endsAt', 'the silence must end after it starts and in the future');
        if (endsAtMs - startsAtMs > MAX_SILENCE_MS) throw new SilenceError('body.endsAt', 'a silence lasts at most 30 days');
        if (typeof body.comment !== 'string' || body.comment.trim() === '') throw new SilenceError('body.comment', 'required');
        const createdBy = typeof body.createdBy === 'string' && body.createdBy ? body.createdBy : (request.apiKey?.name ?? 'unknown');
        // Posting with the id of a silence updates it, as Alertmanager does: the old one expires, a new one starts.
        if (typeof body.id === 'string' && body.id) {
          if (!(await store.listSilences()).some((s) => s.id === body.id)) throw new ApiError(404, 'not_found', `no silence ${body.id}`, 'body.id');
          await expireSilenceNow(deps, store, body.id, createdBy, request.log);
        }
        silence = { id: randomUUID(), matchers, startsAtMs: Math.max(startsAtMs, now), endsAtMs, createdBy, comment: body.comment.slice(0, 2000) };
      } catch (err) {
        if (err instanceof SilenceError) throw new ApiError(400, 'validation_failed', err.message, err.field);
        throw err;
      }
      await scheduleSilence(deps, store, silence, undefined, request.log);
      return { silenceID: silence.id };
    });

    app.get<{ Params: { id: string } }>('/api/v2/silence/:id', { config: { access: 'admin' } }, async (request) => {
      const found = (await store.listSilences()).find((s) => s.id === request.params.id);
      if (!found) throw new ApiError(404, 'not_found', `no silence ${request.params.id}`, 'id');
      return gettableSilence(found, Date.now());
    });

    app.delete<{ Params: { id: string } }>('/api/v2/silence/:id', { config: { access: 'admin' } }, async (request) => {
      const { id } = request.params;
      if (!UUID.test(id) && !/^silence_[0-9a-f]{16}$/.test(id)) throw new ApiError(400, 'validation_failed', 'not a silence id', 'id');
      if (!(await expireSilenceNow(deps, store, id, request.apiKey?.name ?? 'unknown', request.log))) throw new ApiError(404, 'not_found', `no silence ${id}`, 'id');
      return {};
    });

    app.get('/api/v2/status', { config: { access: 'admin' } }, async () => ({
      cluster: { status: 'disabled', peers: [] },
      versionInfo: { version: '0.25.0', revision: 'performance-monitoring', branch: 'main', buildUser: 'performance-monitoring', buildDate: '20261207-00:00:00', goVersion: 'n/a' },
      config: { original: '# routing, grouping and escalation: config/escalation.yaml and config/inhibit.yaml of performance-monitoring\n' },
      uptime: STARTED_AT,
    }));

    app.get('/api/v2/receivers', { config: { access: 'admin' } }, async () => [{ name: 'escalation' }]);
  };
}
