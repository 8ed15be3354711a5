import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ApiError } from '../../core/errors';
import type { AppDeps } from '../deps';
import { errorResponses, storageReadError } from '../schemas';
import { weeklyReportWorkflow } from '../../workflows/weekly-report';

const PATH = '/api/v1/admin/monitoring/reports';

const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'how many of the newest reports (default 10)' })),
    id: Type.Optional(Type.String({ pattern: '^perf_report_[0-9]{8}$', description: 'one report by its id' })),
  },
  { additionalProperties: false },
);
const Open = { additionalProperties: true };
const ReportSchema = Type.Object(
  {
    report_id: Type.String(),
    time_range: Type.Object({ start: Type.String(), end: Type.String() }),
    executive_summary: Type.Object({}, Open),
    service_performance: Type.Array(Type.Object({ service_name: Type.String() }, Open)),
    trends: Type.Object({}, Open),
    recommendations: Type.Array(Type.Object({ priority: Type.String(), category: Type.String(), description: Type.String(), expected_impact: Type.String() })),
  },
  { ...Open, description: "the seed's performance_report" },
);
const ListSchema = Type.Object({
  reports: Type.Array(Type.Object({ report_id: Type.String(), generated_at: Type.String(), workflow_id: Type.String(), workflow_url: Type.String(), performance_report: ReportSchema })),
});
const StartedSchema = Type.Object({ workflow_id: Type.String(), workflow_url: Type.String() });

const CreateBody = Type.Optional(
  Type.Object({ end: Type.Optional(Type.String({ maxLength: 40, description: 'end of the week reported, ISO-8601 (default now)' })) }, { additionalProperties: false }),
);

/**
 * reportRoutes: GET lists the stored weekly reports (the seed's `performance_report`, newest first, each with the
 * workflow that made it); POST generates and delivers one now through weeklyReportWorkflow and answers 202 with its
 * workflow id (503 without Temporal).
 */
export function reportRoutes(deps: AppDeps): FastifyPluginAsync {
  const ui = `${deps.config.temporal.uiBaseUrl}/namespaces/${encodeURIComponent(deps.config.temporal.namespace)}`;
  return async (app) => {
    // The POST body is optional (README): no body, or an empty one sent as JSON, is `{}`.
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      try {
        done(null, (body as string).trim() === '' ? {} : JSON.parse(body as string));
      } catch (err) {
        done(Object.assign(err as Error, { statusCode: 400 }), undefined);
      }
    });
    app.addHook('preValidation', async (request) => {
      if (request.method === 'POST' && (request.body === undefined || request.body === null)) request.body = {};
    });
    app.get<{ Querystring: { limit?: number; id?: string } }>(
      PATH,
      { config: { access: 'admin' }, schema: { description: 'Past weekly performance reports, newest first.', querystring: ListQuery, response: { 200: ListSchema, ...errorResponses(400, 401, 403, 404, 429, 503) } } },
      async (request) => {
        let reports;
        try {
          reports = await deps.telemetry.timed('clickhouse', 'reports', () => deps.reports.listReports(request.query.id ? 100 : (request.query.limit ?? 10)));
        } catch (err) {
          throw storageReadError(err, request.log, 'reports');
        }
        const chosen = request.query.id ? reports.filter((r) => r.report_id === request.query.id) : reports;
        if (request.query.id && chosen.length === 0) throw new ApiError(404, 'not_found', `no report ${request.query.id}`, 'querystring.id');
        return { reports: chosen.map((r) => ({ ...r, workflow_url: `${ui}/workflows/${encodeURIComponent(r.workflow_id)}` })) };
      },
    );

    app.post<{ Body: { end?: string } | undefined }>(
      PATH,
      { config: { access: 'admin' }, schema: { description: 'Generate and deliver a weekly report now.', body: CreateBody, response: { 202: StartedSchema, ...errorResponses(400, 401, 403, 409, 429, 503) } } },
      async (request, reply) => {
        const endMs = request.body?.end === undefined ? Date.now() : Date.parse(request.body.end);
        if (!Number.isFinite(endMs)) throw new ApiError(400, 'validation_failed', 'end must be an ISO-8601 time', 'body.end');
        if (!deps.temporal) throw new ApiError(503, 'workflows_unavailable', 'workflows are unavailable; retry later', undefined, 5);
        // Unique per request: two reports asked for in the same millisecond are two runs.
        const workflowId = `weekly-report/manual-${new Date().toISOString()}-${randomUUID().slice(0, 8)}`;
        try {
          await deps.telemetry.timed('temporal', 'start_report', () =>
            // A deadline: with Temporal down the caller gets its 503 in seconds, not after gRPC's own ~20 s.
            deps.temporal!.withDeadline(Date.now() + 5_000, () => deps.temporal!.workflow.start(weeklyReportWorkflow, { taskQueue: deps.config.temporal.taskQueue, workflowId, args: [{ endMs }] })),
          );
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) throw new ApiError(409, 'conflict', `report run ${workflowId} already exists`);
          request.log.error({ err }, 'report workflow start failed');
          throw new ApiError(503, 'workflows_unavailable', 'workflows are unavailable; retry later', undefined, 5);
        }
        return reply.code(202).send({ workflow_id: workflowId, workflow_url: `${ui}/workflows/${encodeURIComponent(workflowId)}` });
      },
    );
  };
}
