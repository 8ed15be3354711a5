/**
 * PagerDuty's V3 webhooks back to us (issue 20, part 2): POST /api/v1/integrations/pagerduty/webhook. PagerDuty signs
 * each delivery — `X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body>` with the subscription's secret, several
 * comma-separated while a secret rotates — so the signature is the credential (no bearer token can be configured
 * there). An incident acknowledged or resolved in PagerDuty acknowledges or resolves the alert whose fingerprint is
 * its incident key (our `dedup_key`), as the person PagerDuty names; the alert's workflow then tells every channel,
 * and PagerDuty hears an acknowledge it already has, which it ignores. Other events are answered and ignored.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { pagerDutyWebhookAction } from '../../core/paging';
import { ApiError } from '../../core/errors';
import type { AppDeps } from '../deps';
import { errorResponses } from '../schemas';
import { applyAlertAction } from './alert-actions';

/** pagerDutySignature is the X-PagerDuty-Signature value of a body (what PagerDuty sends; tests and fakes use it). */
export function pagerDutySignature(secret: string, body: string | Buffer): string {
  return `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** pagerDutySignatureValid checks a body against any of the header's v1 signatures, in constant time. */
export function pagerDutySignatureValid(secret: string, header: string | undefined, body: Buffer): boolean {
  if (!header) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return header.split(',').some((part) => {
    const m = /^\s*v1=([0-9a-f]{64})\s*$/.exec(part);
    return m !== null && timingSafeEqual(Buffer.from(m[1]!, 'hex'), expected);
  });
}

const Answer = Type.Object({ outcome: Type.String({ description: 'acknowledged, resolved, ignored (not an incident acknowledgement or resolution), or already (the alert had moved on)' }), alert_id: Type.Optional(Type.String()) });

export function pagerDutyRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.removeContentTypeParser(['application/json']);
    app.addContentTypeParser(['application/json'], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    app.post(
      '/api/v1/integrations/pagerduty/webhook',
      {
        config: { access: 'signed' },
        schema: { description: "PagerDuty's V3 webhook (signed): an incident acknowledged or resolved there acknowledges or resolves its alert here.", response: { 200: Answer, ...errorResponses(400, 401, 503) } },
      },
      async (request) => {
        const secret = deps.config.paging.pagerDutyWebhookSecret;
        const body = request.body as Buffer;
        if (!secret) throw new ApiError(401, 'unauthorized', 'PAGERDUTY_WEBHOOK_SECRET is not configured on this endpoint');
        const signature = request.headers['x-pagerduty-signature'];
        if (!pagerDutySignatureValid(secret, Array.isArray(signature) ? signature.join(',') : signature, body)) throw new ApiError(401, 'unauthorized', 'X-PagerDuty-Signature: no signature matches the body');
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch {
          throw new ApiError(400, 'invalid_json', 'the body is not JSON', 'body');
        }
        const asked = pagerDutyWebhookAction(parsed);
        if (!asked) return { outcome: 'ignored' };
        const commands = deps.alertCommands;
        if (!commands) throw new ApiError(503, 'workflows_unavailable', 'alert workflows are not reachable from this API process', undefined, 5);
        const alertId = await commands.currentAlertOf(asked.fingerprint).catch(() => undefined);
        if (!alertId) return { outcome: 'already' };
        try {
          await applyAlertAction(deps, request.log, alertId, asked.action, { by: asked.by, note: `in PagerDuty (incident ${asked.incident})` });
        } catch (err) {
          // Acknowledged or resolved here first (our own acknowledge coming back), or ended meanwhile: nothing to do.
          if (err instanceof ApiError && (err.statusCode === 409 || err.statusCode === 404)) return { outcome: 'already', alert_id: alertId };
          throw err;
        }
        request.log.info({ alertId, by: asked.by, event: asked.eventId }, `alert ${asked.action}d from PagerDuty`);
        return { outcome: asked.action === 'acknowledge' ? 'acknowledged' : 'resolved', alert_id: alertId };
      },
    );
  };
}
