import { Type } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { AlertCommandError, type createAlertCommands } from '../../activities/alerts';
import { actionRefusal, type AlertView } from '../../core/alert';
import { ApiError } from '../../core/errors';
import type { AppDeps } from '../deps';
import { assertServiceScope } from '../plugins/auth';
import { errorResponses } from '../schemas';

const View = Type.Object({
  alertId: Type.String(),
  service: Type.String(),
  rule: Type.String(),
  phase: Type.String(),
  value: Type.Number(),
  observations: Type.Integer(),
  acknowledgedBy: Type.Optional(Type.String()),
  acknowledgedAtMs: Type.Optional(Type.Number()),
  resolvedBy: Type.Optional(Type.String()),
});

type Commands = ReturnType<typeof createAlertCommands>;
/** Action is what a person does to an alert. */
export type Action = 'acknowledge' | 'resolve';

function commandsOf(deps: AppDeps): Commands {
  if (!deps.alertCommands) throw new ApiError(503, 'workflows_unavailable', 'alert workflows are not reachable from this API process', undefined, 5);
  return deps.alertCommands;
}

/**
 * applyAlertAction acknowledges or resolves an alert as `by` through its workflow update: 404 for an alert that is
 * not active, 409 when the action does not apply, 503 when Temporal is unreachable. `inScope` may refuse the
 * alert's service (a viewer key's scope); Slack and e-mail links are scoped by their signature instead.
 */
export async function applyAlertAction(
  deps: AppDeps,
  log: FastifyBaseLogger,
  alertId: string,
  action: Action,
  command: { by: string; note?: string },
  inScope: (service: string) => void = () => undefined,
): Promise<AlertView> {
  const commands = commandsOf(deps);
  try {
    const current = await deps.telemetry.timed('temporal', 'describe_alert', () => commands.describeAlert(alertId));
    inScope(current.service);
    const refusal = actionRefusal(action, current, { by: command.by, alertId });
    if (refusal) throw new ApiError(409, 'conflict', refusal);
    return await deps.telemetry.timed('temporal', action, () => (action === 'acknowledge' ? commands.acknowledgeAlert(alertId, command) : commands.resolveAlert(alertId, command)));
  } catch (err) {
    if (err instanceof AlertCommandError) {
      throw err.kind === 'not-found' ? new ApiError(404, 'not_found', err.message, 'alert_id') : new ApiError(409, 'conflict', err.message);
    }
    if (err instanceof ApiError) throw err;
    log.error({ err }, `alert ${action} failed`);
    throw new ApiError(503, 'workflows_unavailable', 'alert workflows are unavailable; retry later', undefined, 5);
  }
}

async function act(deps: AppDeps, request: FastifyRequest<{ Params: { alert_id: string }; Body: { note?: string } | undefined }>, action: Action): Promise<AlertView> {
  // The buttons of the dashboard post no body; a JSON body may carry a note.
  const note = request.body?.note;
  if (note !== undefined && (typeof note !== 'string' || note.length > 2000)) {
    throw new ApiError(400, 'validation_failed', 'note must be a string of at most 2000 characters', 'body.note');
  }
  const who = request.apiKey?.name ?? 'unknown';
  return applyAlertAction(deps, request.log, request.params.alert_id, action, { by: who, ...(note ? { note } : {}) }, (service) => assertServiceScope(request, service));
}

/**
 * alertActionRoutes serves POST /api/v1/alerts/{alert_id}/ack and /resolve: the caller's key name is recorded as who
 * acted; the answer is the alert as it now stands (200), 404 for an alert that is not active, 409 when the action
 * does not apply (already acknowledged, already resolved, still pending).
 */
export function alertActionRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    const schema = {
      params: Type.Object({ alert_id: Type.String({ minLength: 1, maxLength: 128 }) }),
      response: { 200: View, ...errorResponses(400, 401, 403, 404, 409, 503) },
    };
    for (const [path, action] of [['ack', 'acknowledge'], ['resolve', 'resolve']] as const) {
      app.post<{ Params: { alert_id: string }; Body: { note?: string } | undefined }>(
        `/api/v1/alerts/:alert_id/${path}`,
        { config: { access: 'respond' }, schema },
        (request) => act(deps, request, action),
      );
    }
  };
}
