/**
 * GET /api/v1/alerts/{alert_id}/timeline (issue 20): every step of one alert occurrence, read from its workflow's
 * history — each run of it, a long-lived alert having continued as new — and from alert_history, told by
 * core/alert-timeline.ts, with the answer to "why was I (not) paged?". Viewers see the alerts of their services.
 */
import { Type } from '@sinclair/typebox';
import { defaultPayloadConverter, isGrpcServiceError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { FastifyPluginAsync } from 'fastify';
import { workflowIdOfAlert, type AlertInput } from '../../core/alert';
import { buildAlertTimeline, runAlertId, type TimelineEvent } from '../../core/alert-timeline';
import { ApiError } from '../../core/errors';
import { createAlertHistoryStore } from '../../store/alert-history';
import type { AppDeps } from '../deps';
import { assertServiceScope } from '../plugins/auth';
import { errorResponses, readStorage } from '../schemas';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;

/** MAX_RUNS bounds how many runs of an alert's workflow are searched for an older occurrence. */
const MAX_RUNS = 50;

const EntrySchema = Type.Object({ at: Type.String(), kind: Type.String(), text: Type.String(), details: Type.Optional(Type.Record(Type.String(), Type.Unknown())) });
const NotificationSchema = Type.Object({
  at: Type.String(),
  level: Type.Integer(),
  round: Type.Integer(),
  channel: Type.String(),
  to: Type.String(),
  status: Type.String({ description: 'delivered, failed or in flight' }),
  error: Type.Optional(Type.String()),
});
const TimelineSchema = Type.Object({
  alert_id: Type.String(),
  workflow_id: Type.String(),
  runs: Type.Array(Type.String()),
  service: Type.String(),
  rule: Type.String(),
  entries: Type.Array(EntrySchema),
  notifications: Type.Array(NotificationSchema),
  why: Type.String({ description: 'why it notified whom it notified, or why it notified nobody' }),
});

const millis = (t: temporal.api.history.v1.IHistoryEvent['eventTime']): number => {
  if (!t) return 0;
  const seconds = typeof t.seconds === 'object' && t.seconds !== null ? t.seconds.toNumber() : Number(t.seconds ?? 0);
  return seconds * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
};
const first = (payloads: Payloads): unknown => {
  const p = payloads?.payloads?.[0];
  return p ? defaultPayloadConverter.fromPayload(p) : undefined;
};
const idOf = (id: unknown) => String(typeof id === 'object' && id !== null && 'toNumber' in id ? (id as { toNumber(): number }).toNumber() : id);
const failureText = (f: temporal.api.failure.v1.IFailure | null | undefined): string => {
  if (!f) return 'failed';
  const cause = f.cause?.message ? `: ${f.cause.message}` : '';
  return `${f.message ?? 'failed'}${cause}`;
};

/** decodeEvents turns one run's history into the timeline's events. */
export function decodeEvents(runId: string, events: readonly HistoryEvent[]): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  for (const e of events) {
    const atMs = millis(e.eventTime);
    if (e.workflowExecutionStartedEventAttributes) {
      const a = e.workflowExecutionStartedEventAttributes;
      out.push({ kind: 'started', atMs, runId, input: first(a.input) as AlertInput, continued: Boolean(a.continuedExecutionRunId) });
    } else if (e.workflowExecutionSignaledEventAttributes) {
      const a = e.workflowExecutionSignaledEventAttributes;
      out.push({ kind: 'signal', atMs, name: a.signalName ?? '', arg: first(a.input) });
    } else if (e.workflowExecutionUpdateAcceptedEventAttributes) {
      const input = e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest?.input;
      out.push({ kind: 'update', atMs, name: input?.name ?? '', arg: first(input?.args) });
    } else if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') {
      const details = e.markerRecordedEventAttributes.details ?? {};
      const data = first(details.data) as { activity_type?: string } | undefined;
      out.push({ kind: 'local', atMs, activity: data?.activity_type ?? '', result: first(details.result) });
    } else if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      out.push({ kind: 'scheduled', atMs, id: idOf(e.eventId), activity: a.activityType?.name ?? '', input: first(a.input) });
    } else if (e.activityTaskCompletedEventAttributes) {
      const a = e.activityTaskCompletedEventAttributes;
      out.push({ kind: 'activityResult', atMs, scheduledId: idOf(a.scheduledEventId), result: first(a.result) });
    } else if (e.activityTaskFailedEventAttributes) {
      const a = e.activityTaskFailedEventAttributes;
      out.push({ kind: 'activityResult', atMs, scheduledId: idOf(a.scheduledEventId), failure: failureText(a.failure) });
    } else if (e.activityTaskTimedOutEventAttributes) {
      const a = e.activityTaskTimedOutEventAttributes;
      out.push({ kind: 'activityResult', atMs, scheduledId: idOf(a.scheduledEventId), failure: `timed out${a.failure ? ` (${failureText(a.failure)})` : ''}` });
    } else if (e.activityTaskCanceledEventAttributes) {
      out.push({ kind: 'activityResult', atMs, scheduledId: idOf(e.activityTaskCanceledEventAttributes.scheduledEventId), failure: 'cancelled (the alert ended first)' });
    } else if (e.workflowExecutionCompletedEventAttributes) {
      out.push({ kind: 'completed', atMs, result: first(e.workflowExecutionCompletedEventAttributes.result) });
    } else if (e.workflowExecutionContinuedAsNewEventAttributes) {
      out.push({ kind: 'continuedAsNew', atMs });
    } else if (e.workflowExecutionFailedEventAttributes) {
      out.push({ kind: 'closed', atMs, how: 'failed', message: failureText(e.workflowExecutionFailedEventAttributes.failure) });
    } else if (e.workflowExecutionTerminatedEventAttributes) {
      out.push({ kind: 'closed', atMs, how: 'was terminated', message: e.workflowExecutionTerminatedEventAttributes.reason ?? '' });
    } else if (e.workflowExecutionTimedOutEventAttributes) {
      out.push({ kind: 'closed', atMs, how: 'timed out', message: '' });
    }
  }
  return out;
}

/**
 * occurrenceEvents finds the runs of `workflowId` that belong to `alertId` and returns their events, oldest run
 * first: the latest run and the runs it continued from when it is the occurrence (the usual case: a recent alert),
 * else the runs Temporal's visibility lists.
 */
async function occurrenceEvents(client: Client, workflowId: string, alertId: string): Promise<TimelineEvent[]> {
  const runEvents = async (runId?: string) => {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    const started = events[0]?.workflowExecutionStartedEventAttributes;
    const id = runId ?? started?.originalExecutionRunId ?? '';
    return { events: decodeEvents(id, events), previous: started?.continuedExecutionRunId || undefined, input: first(started?.input) as AlertInput | undefined };
  };
  const chain: TimelineEvent[][] = [];
  try {
    let run = await runEvents();
    if (run.input && runAlertId(run.input) === alertId) {
      chain.unshift(run.events);
      while (run.previous && chain.length < MAX_RUNS) {
        run = await runEvents(run.previous);
        if (!run.input || runAlertId(run.input) !== alertId) break;
        chain.unshift(run.events);
      }
      return chain.flat();
    }
  } catch (err) {
    // (The history call answers gRPC's NOT_FOUND, 5, for a workflow id it never saw.)
    if (err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && err.code === 5)) return [];
    throw err;
  }
  // An older occurrence: its runs among those visibility lists (the fingerprint's id is hex: safe in the query).
  const runs: string[] = [];
  for await (const info of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    runs.push(info.runId);
    if (runs.length >= MAX_RUNS) break;
  }
  const found: Array<{ startMs: number; events: TimelineEvent[] }> = [];
  for (const runId of runs) {
    const run = await runEvents(runId);
    if (run.input && runAlertId(run.input) === alertId) found.push({ startMs: run.events[0]?.atMs ?? 0, events: run.events });
  }
  return found.sort((a, b) => a.startMs - b.startMs).flatMap((r) => r.events);
}

export function alertTimelineRoutes(deps: AppDeps): FastifyPluginAsync {
  const store = createAlertHistoryStore({ clickhouse: deps.clickhouse, database: deps.config.clickhouse.database });
  return async (app) => {
    app.get<{ Params: { alert_id: string } }>(
      '/api/v1/alerts/:alert_id/timeline',
      {
        config: { access: 'public' },
        schema: {
          description: "Every step of one alert occurrence from its workflow's history and alert_history, and why it notified whom it did (or nobody).",
          params: Type.Object({ alert_id: Type.String({ pattern: '^alert_[0-9a-f]{16}_[0-9]{1,12}$', description: 'alert_<fingerprint>_<second of its first breach>' }) }),
          response: { 200: TimelineSchema, ...errorResponses(400, 401, 403, 404, 503) },
        },
      },
      async (request) => {
        const alertId = request.params.alert_id;
        const workflowId = workflowIdOfAlert(alertId)!;
        if (!deps.temporal) throw new ApiError(503, 'workflows_unavailable', 'alert workflows are not reachable from this API process', undefined, 5);
        const client = deps.temporal;
        const [events, rows] = await Promise.all([
          deps.telemetry.timed('temporal', 'alert_timeline', () => occurrenceEvents(client, workflowId, alertId)).catch((err: unknown) => {
            request.log.error({ err }, 'reading the alert workflow history failed');
            throw new ApiError(503, 'workflows_unavailable', 'alert workflows are unavailable; retry later', undefined, 5);
          }),
          readStorage(deps, request.log, 'alert_rows', 'alert history', (signal) => store.rowsOf(alertId, signal)),
        ]);
        if (events.length === 0 && rows.length === 0) throw new ApiError(404, 'not_found', `no alert ${alertId} (or its history is past retention)`, 'alert_id');
        const timeline = buildAlertTimeline(alertId, workflowId, events, rows);
        assertServiceScope(request, timeline.service);
        return timeline;
      },
    );
  };
}
