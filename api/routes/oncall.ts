/**
 * On-call schedules (issue 20): CRUD under /api/v1/admin/monitoring/oncall/schedules — in the shape of
 * core/oncall.ts's parseOncallSchedule, versioned with If-Match like policies —, who is on call at any instant
 * (`/{name}/oncall?at=`), and the shifts of a range as they will be lived (`/{name}/shifts?from=&to=`). A stored
 * schedule has its handoff workflow (workflows/oncall-handoff.ts), started or woken here on every change.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { parseInstant } from '../../core/dashboard';
import { ApiError } from '../../core/errors';
import { finalShifts, oncallAt, OncallError, parseOncallSchedule, scheduleDocument, type OncallSchedule } from '../../core/oncall';
import { createOncallStore, type StoredSchedule } from '../../store/oncall-store';
import { oncallHandoffWorkflow, oncallHandoffWorkflowId, scheduleChangedSignal } from '../../workflows/oncall-handoff';
import type { AppDeps } from '../deps';
import { errorResponses, expectedVersion, readRoute, timeRange } from '../schemas';

const PATH = '/api/v1/admin/monitoring/oncall/schedules';
const NameParams = Type.Object({ name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' }) });
const Contact = Type.Object({ email: Type.Optional(Type.String()), slack: Type.Optional(Type.String()), webhook: Type.Optional(Type.String()), phone: Type.Optional(Type.String()) });
const OncallNow = Type.Object({
  at: Type.String(),
  user: Type.Union([Type.String(), Type.Null()], { description: 'null: a gap, nobody is on call' }),
  source: Type.Union([Type.String(), Type.Null()], { description: "the layer's name, 'override', or null in a gap" }),
  shift_start: Type.Union([Type.String(), Type.Null()], { description: 'since when; null: no change in the 35 days before' }),
  shift_end: Type.Union([Type.String(), Type.Null()], { description: 'until when; null: no change in the 35 days ahead' }),
  contact: Type.Union([Contact, Type.Null()]),
});
const ScheduleSchema = Type.Object({
  name: Type.String(),
  description: Type.String(),
  time_zone: Type.String(),
  handoff_notice: Type.String(),
  layers: Type.Array(
    Type.Object({
      name: Type.String(),
      start: Type.String(),
      rotation: Type.String(),
      users: Type.Array(Type.String()),
      restrictions: Type.Optional(Type.Array(Type.Object({ days: Type.Array(Type.String()), from: Type.String(), to: Type.String() }))),
    }),
  ),
  overrides: Type.Array(Type.Object({ user: Type.String(), from: Type.String(), to: Type.String(), note: Type.Optional(Type.String()) })),
  contacts: Type.Record(Type.String(), Contact),
  version: Type.Integer(),
  updated_by: Type.String(),
  updated_at: Type.String(),
  oncall_now: OncallNow,
});

/** oncallView is who is on call at `atMs` as the API answers it. */
function oncallView(schedule: OncallSchedule, atMs: number) {
  const now = oncallAt(schedule, atMs);
  return {
    at: new Date(atMs).toISOString(),
    user: now.user ?? null,
    source: now.source ?? null,
    shift_start: now.openStart ? null : new Date(now.startMs).toISOString(),
    shift_end: now.openEnd ? null : new Date(now.endMs).toISOString(),
    contact: now.user !== undefined ? (schedule.contacts[now.user] ?? null) : null,
  };
}

function scheduleView(stored: StoredSchedule, nowMs: number) {
  return { ...scheduleDocument(stored.schedule), version: stored.version, updated_by: stored.updatedBy, updated_at: stored.updatedAt, oncall_now: oncallView(stored.schedule, nowMs) };
}

/** oncallRoutes serves the on-call schedules' admin API. */
export function oncallRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    const store = createOncallStore({ config: deps.config, redis: deps.redis, clickhouse: deps.clickhouse });
    const taskQueue = deps.config.temporal.taskQueue;
    const found = async (name: string): Promise<StoredSchedule> => {
      const stored = await store.get(name);
      if (!stored) throw new ApiError(404, 'not_found', `no on-call schedule ${name}`, 'name');
      return stored;
    };

    /** wake starts the schedule's handoff workflow, or tells the running one to look again. */
    const wake = async (name: string, what: string) => {
      const temporal = deps.temporal;
      try {
        if (!temporal) throw new Error('no Temporal client');
        await temporal.withDeadline(Date.now() + 5_000, () =>
          temporal.workflow.signalWithStart(oncallHandoffWorkflow, { taskQueue, workflowId: oncallHandoffWorkflowId(taskQueue, name), args: [{ schedule: name }], signal: scheduleChangedSignal, signalArgs: [] }),
        );
      } catch (err) {
        app.log.error({ err }, 'on-call handoff workflow not started');
        throw new ApiError(503, 'workflows_unavailable', `${what}, but its handoff notices could not be scheduled (Temporal unreachable): send it again`, undefined, 5);
      }
    };

    readRoute(app, PATH, { access: 'admin', description: 'Every on-call schedule, with who is on call now.', response: Type.Object({ schedules: Type.Array(ScheduleSchema) }) }, async () => {
      const now = Date.now();
      return { schedules: [...(await store.all()).values()].sort((a, b) => a.schedule.name.localeCompare(b.schedule.name)).map((s) => scheduleView(s, now)) };
    });

    app.get<{ Params: { name: string } }>(`${PATH}/:name`, { config: { access: 'admin' }, schema: { params: NameParams, response: { 200: ScheduleSchema, ...errorResponses(401, 403, 404) } } }, async (request) =>
      scheduleView(await found(request.params.name), Date.now()),
    );

    app.get<{ Params: { name: string }; Querystring: { at?: string } }>(
      `${PATH}/:name/oncall`,
      {
        config: { access: 'admin' },
        schema: {
          description: 'Who is on call at `at` (default now): the person, the layer or override that put them there, the shift, and how to reach them.',
          params: NameParams,
          querystring: Type.Object({ at: Type.Optional(Type.String({ description: 'ISO-8601, epoch milliseconds or now[-<n>(s|m|h|d)]' })) }),
          response: { 200: Type.Intersect([Type.Object({ schedule: Type.String(), time_zone: Type.String() }), OncallNow]), ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (request) => {
        const atMs = parseInstant(request.query.at ?? 'now', Date.now());
        if (atMs === undefined) throw new ApiError(400, 'validation_failed', 'at: expected ISO-8601, epoch milliseconds or now[-<n>(s|m|h|d)]', 'querystring.at');
        const { schedule } = await found(request.params.name);
        return { schedule: schedule.name, time_zone: schedule.timeZone, ...oncallView(schedule, atMs) };
      },
    );

    app.get<{ Params: { name: string }; Querystring: { from?: string; to?: string } }>(
      `${PATH}/:name/shifts`,
      {
        config: { access: 'admin' },
        schema: {
          description: 'The shifts of a range (default the next 14 days) as they will be lived: layers, restrictions and overrides applied; a gap has user null.',
          params: NameParams,
          querystring: Type.Object({ from: Type.Optional(Type.String()), to: Type.Optional(Type.String()) }),
          response: {
            200: Type.Object({ schedule: Type.String(), time_zone: Type.String(), shifts: Type.Array(Type.Object({ user: Type.Union([Type.String(), Type.Null()]), source: Type.String(), start: Type.String(), end: Type.String() })) }),
            ...errorResponses(400, 401, 403, 404),
          },
        },
      },
      async (request) => {
        const now = Date.now();
        const { fromMs, toMs } = timeRange({ from: request.query.from ?? String(now), to: request.query.to ?? String(now + 14 * 86_400_000) }, now, 14 * 86_400_000);
        if (toMs - fromMs > 400 * 86_400_000) throw new ApiError(400, 'validation_failed', 'a range of at most 400 days', 'querystring.to');
        const { schedule } = await found(request.params.name);
        const shifts = finalShifts(schedule, fromMs, toMs).map((s) => ({ user: s.user ?? null, source: s.source, start: new Date(s.startMs).toISOString(), end: new Date(s.endMs).toISOString() }));
        return { schedule: schedule.name, time_zone: schedule.timeZone, shifts };
      },
    );

    app.put<{ Params: { name: string }; Body: Record<string, unknown> }>(
      `${PATH}/:name`,
      {
        config: { access: 'admin' },
        schema: {
          description: 'Creates or replaces a schedule ({description?, time_zone, layers: [{name?, start, rotation, users, restrictions?}], overrides?, contacts, handoff_notice?}); If-Match: <version> refuses a concurrent edit.',
          params: NameParams,
          body: Type.Object({}, { additionalProperties: true }),
          response: { 200: ScheduleSchema, ...errorResponses(400, 401, 403, 409, 503) },
        },
      },
      async (request) => {
        const { name } = request.params;
        if (request.body.name !== undefined && request.body.name !== name) throw new ApiError(400, 'validation_failed', `the body names ${JSON.stringify(request.body.name)?.slice(0, 200)}, the path ${name}`, 'body.name');
        let schedule: OncallSchedule;
        try {
          schedule = parseOncallSchedule({ ...request.body, name }, 'body');
        } catch (err) {
          if (err instanceof OncallError) throw new ApiError(400, 'validation_failed', err.message, err.field);
          throw err;
        }
        const expected = expectedVersion(request.headers, 'schedule');
        const stored = await store.put(schedule, request.apiKey?.name ?? 'unknown', expected);
        if ('conflict' in stored) throw new ApiError(409, 'conflict', `schedule ${name} is at version ${stored.conflict}, not ${expected}`, 'If-Match');
        await wake(name, `schedule ${name} was saved (version ${stored.version})`);
        return scheduleView(stored, Date.now());
      },
    );

    app.delete<{ Params: { name: string } }>(`${PATH}/:name`, { config: { access: 'admin' }, schema: { params: NameParams, response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 503) } } }, async (request, reply) => {
      if (!(await store.remove(request.params.name))) throw new ApiError(404, 'not_found', `no on-call schedule ${request.params.name}`, 'name');
      // Its handoff workflow finds it gone and ends.
      await wake(request.params.name, `schedule ${request.params.name} was deleted`);
      return reply.code(204).send();
    });
  };
}
