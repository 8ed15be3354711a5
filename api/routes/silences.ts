import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FastifyPluginAsync } from 'fastify';
import { createSilenceActivities } from '../../activities/silences';
import { parseDuration } from '../../core/duration';
import { EscalationError, parseTarget } from '../../core/escalation';
import { ApiError } from '../../core/errors';
import { parseMatchers, SilenceError, type Silence } from '../../core/silences';
import { expireSignal, silenceWorkflow, type SilenceInput } from '../../workflows/silence';
import type { AppDeps } from '../deps';
import { errorResponses } from '../schemas';


const PATH = '/api/v1/admin/monitoring/silences';
/** MAX_SILENCE_MS bounds a silence: a forgotten one must not mute an alert for ever. */
const MAX_SILENCE_MS = 30 * 24 * 3600_000;

const MatcherSchema = Type.Object({ name: Type.String(), value: Type.String(), isRegex: Type.Optional(Type.Boolean()), isEqual: Type.Optional(Type.Boolean()) });
const SilenceSchema = Type.Object({
  id: Type.String(),
  matchers: Type.Array(MatcherSchema),
  startsAt: Type.String(),
  endsAt: Type.String(),
  createdBy: Type.String(),
  comment: Type.String(),
  status: Type.String(),
  workflow_id: Type.String(),
});

const CreateBody = Type.Object({
  matchers: Type.Array(Type.Union([MatcherSchema, Type.String({ description: 'Alertmanager syntax, e.g. severity="critical"' })]), { minItems: 1, maxItems: 32 }),
  startsAt: Type.Optional(Type.String({ description: 'RFC 3339; default now' })),
  endsAt: Type.Optional(Type.String({ description: 'RFC 3339; or give duration' })),
  duration: Type.Optional(Type.String({ description: 'e.g. 2h; used when endsAt is absent' })),
  comment: Type.String({ minLength: 1, maxLength: 2000 }),
  remind: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 10, description: 'reminder targets, [{slack: "#channel"}] or [{email: "a@b"}]' })),
  announce: Type.Optional(Type.Boolean({ description: 'announce the silence, when it starts and ends, in the channels of the firing alerts it mutes (default true)' })),
});
type CreateBody = {
  matchers: unknown[];
  startsAt?: string;
  endsAt?: string;
  duration?: string;
  comment: string;
  remind?: unknown[];
  announce?: boolean;
};

export const silenceWorkflowId = (id: string) => `silence/${id}`;

const IdParams = Type.Object({ id: Type.String({ pattern: '^(silence_[0-9a-f]{16}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$' }) });

function view(s: Silence, nowMs: number) {
  return {
    id: s.id,
    matchers: s.matchers,
    startsAt: new Date(s.startsAtMs).toISOString(),
    endsAt: new Date(s.endsAtMs).toISOString(),
    createdBy: s.createdBy,
    comment: s.comment,
    status: nowMs < s.startsAtMs ? 'pending' : nowMs < s.endsAtMs ? 'active' : 'expired',
    workflow_id: silenceWorkflowId(s.id),
  };
}

function time(text: string, field: string): number {
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || !Number.isFinite(ms)) throw new ApiError(400, 'validation_failed', 'expected an RFC 3339 time', field);
  return ms;
}

/** silenceOf reads a create (or edit) body into a silence by `createdBy`, naming the field of any mistake. */
function silenceOf(body: CreateBody, now: number, createdBy: string): { silence: Silence; remind: SilenceInput['remind'] } {
  try {
    const matchers = parseMatchers(body.matchers, 'body.matchers');
    const startsAtMs = body.startsAt ? time(body.startsAt, 'body.startsAt') : now;
    let endsAtMs: number;
    if (body.endsAt) endsAtMs = time(body.endsAt, 'body.endsAt');
    else if (body.duration) {
      try {
        endsAtMs = startsAtMs + parseDuration(body.duration);
      } catch (err) {
        throw new ApiError(400, 'validation_failed', (err as Error).message, 'body.duration');
      }
    } else throw new ApiError(400, 'validation_failed', 'give endsAt or duration', 'body.endsAt');
    if (endsAtMs <= Math.max(startsAtMs, now)) throw new ApiError(400, 'validation_failed', 'the silence must end after it starts and in the future', 'body.endsAt');
    if (endsAtMs - startsAtMs > MAX_SILENCE_MS) throw new ApiError(400, 'validation_failed', 'a silence lasts at most 30 days', 'body.endsAt');
    const remind = body.remind ? body.remind.map((t, i) => parseTarget(t, `body.remind[${i}]`)) : undefined;
    return { silence: { id: `silence_${randomBytes(8).toString('hex')}`, matchers, startsAtMs, endsAtMs, createdBy, comment: body.comment }, remind };
  } catch (err) {
    if (err instanceof SilenceError || err instanceof EscalationError) throw new ApiError(400, 'validation_failed', err.message, err.field);
    throw err;
  }
}

function temporalOf(deps: AppDeps): Client {
  if (!deps.temporal) throw new ApiError(503, 'workflows_unavailable', 'silences need Temporal, which this API process cannot reach', undefined, 5);
  return deps.temporal;
}

/**
 * scheduleSilence stores a silence (the notification gate sees it from then on) and starts its `silence/<id>`
 * workflow, which reminds before the end and expires it; if the workflow cannot start, nothing stays stored (503).
 */
export async function scheduleSilence(
  deps: AppDeps,
  store: ReturnType<typeof createSilenceActivities>,
  silence: Silence,
  remind: SilenceInput['remind'],
  log: { error: (obj: object, msg: string) => void },
  announce = true,
): Promise<void> {
  const temporal = temporalOf(deps);
  await store.saveSilence(silence);
  const input: SilenceInput = {
    silence,
    reminderLeadMs: Math.min(15 * 60_000, Math.floor((silence.endsAtMs - silence.startsAtMs) / 4)),
    ...(remind ? { remind } : {}),
    ...(announce ? {} : { announce: false }),
  };
  try {
    await temporal.withDeadline(Date.now() + 5000, () =>
      temporal.workflow.start(silenceWorkflow, { taskQueue: deps.config.temporal.taskQueue, workflowId: silenceWorkflowId(silence.id), args: [input] }),
    );
  } catch (err) {
    await store.removeSilence(silence.id);
    log.error({ err }, 'silence workflow did not start');
    throw new ApiError(503, 'workflows_unavailable', 'the silence could not be scheduled; nothing was stored, retry later', undefined, 5);
  }
}

/**
 * expireSilenceNow expires a silence at once and tells its workflow; false when there was no such silence.
 */
export async function expireSilenceNow(
  deps: AppDeps,
  store: ReturnType<typeof createSilenceActivities>,
  id: string,
  by: string,
  log: { warn: (obj: object, msg: string) => void },
  replacedBy?: string,
): Promise<boolean> {
  const existed = await store.expireSilence(id);
  try {
    const temporal = temporalOf(deps);
    await temporal.withDeadline(Date.now() + 5_000, () => temporal.workflow.getHandle(silenceWorkflowId(id)).signal(expireSignal, { by, ...(replacedBy ? { replacedBy } : {}) }));
    return true;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError) && !(err instanceof ApiError)) log.warn({ err }, 'silence workflow not signalled');
    return existed;
  }
}

/**
 * silenceRoutes serves the admin API of silences (Alertmanager's model): POST creates one — it starts its
 * `silence/<id>` workflow, which reminds before the end and expires it —, GET lists them, DELETE expires one now.
 */
export function silenceRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    const store = createSilenceActivities({ config: deps.config, redis: deps.redis, clickhouse: deps.clickhouse });

    app.post<{ Body: CreateBody }>(
      PATH,
      { config: { access: 'admin' }, schema: { body: CreateBody, response: { 201: SilenceSchema, ...errorResponses(400, 401, 403, 503) } } },
      async (request, reply) => {
        const now = Date.now();
        const { silence, remind } = silenceOf(request.body, now, request.apiKey?.name ?? 'unknown');
        await scheduleSilence(deps, store, silence, remind, request.log, request.body.announce ?? true);
        return reply.code(201).send(view(silence, now));
      },
    );

    // An edit is Alertmanager's: the silence is replaced — a new one (new id) from the body, the old expired —, so
    // what muted what stays true in the history; the channels hear both (the old one "edited into" the new).
    app.put<{ Params: { id: string }; Body: CreateBody }>(
      `${PATH}/:id`,
      { config: { access: 'admin' }, schema: { params: IdParams, body: CreateBody, response: { 200: Type.Intersect([SilenceSchema, Type.Object({ replaces: Type.String() })]), ...errorResponses(400, 401, 403, 404, 503) } } },
      async (request) => {
        const now = Date.now();
        const { id } = request.params;
        const by = request.apiKey?.name ?? 'unknown';
        const old = (await store.listSilences()).find((x) => x.id === id && x.endsAtMs > now);
        if (!old) throw new ApiError(404, 'not_found', `no pending or active silence ${id}`, 'id');
        const { silence, remind } = silenceOf(request.body, now, by);
        await scheduleSilence(deps, store, silence, remind, request.log, request.body.announce ?? true);
        await expireSilenceNow(deps, store, id, by, request.log, silence.id);
        return { ...view(silence, now), replaces: id };
      },
    );

    app.get(PATH, { config: { access: 'admin' }, schema: { response: { 200: Type.Object({ silences: Type.Array(SilenceSchema) }), ...errorResponses(401, 403) } } }, async () => {
      const now = Date.now();
      return { silences: (await store.listSilences()).map((s) => view(s, now)) };
    });

    app.delete<{ Params: { id: string } }>(
      `${PATH}/:id`,
      { config: { access: 'admin' }, schema: { params: IdParams, response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 503) } } },
      async (request, reply) => {
        const { id } = request.params;
        if (!(await expireSilenceNow(deps, store, id, request.apiKey?.name ?? 'unknown', request.log))) throw new ApiError(404, 'not_found', `no silence ${id}`, 'id');
        return reply.code(204).send();
      },
    );
  };
}
