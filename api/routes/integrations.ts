import { createHmac, timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { LinkError, verifyLink, type LinkClaims } from '../../store/ack-links';
import { ApiError } from '../../core/errors';
import { isRecord } from '../../core/guards';
import { escapeHtml, SLACK_ACTIONS } from '../../core/notification';
import type { AppDeps } from '../deps';
import { errorResponses } from '../schemas';
import { applyAlertAction, type Action } from './alert-actions';

/** SLACK_REPLAY_WINDOW_S is how old a Slack request may be (Slack's own guidance: 5 minutes). */
export const SLACK_REPLAY_WINDOW_S = 300;

/**
 * slackSignatureRefusal checks Slack's v0 request signature — HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the
 * signing secret, compared in constant time — and the timestamp's age; it returns why a request is refused, or
 * undefined when it is genuine.
 */
export function slackSignatureRefusal(secret: string, timestamp: string | undefined, signature: string | undefined, body: string, nowMs: number): string | undefined {
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return 'missing or malformed X-Slack-Request-Timestamp';
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SLACK_REPLAY_WINDOW_S) return 'request timestamp outside the 5-minute window';
  if (!signature || !/^v0=[0-9a-f]{64}$/.test(signature)) return 'missing or malformed X-Slack-Signature';
  const given = Buffer.from(signature.slice(3), 'hex');
  return timingSafeEqual(given, slackMac(secret, timestamp, body)) ? undefined : 'signature does not match';
}

function slackMac(secret: string, timestamp: string, body: string): Buffer {
  return createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest();
}

/** slackSignature computes the X-Slack-Signature header of a body (what Slack sends; used by tests and tools). */
export function slackSignature(secret: string, timestamp: string, body: string): string {
  return `v0=${slackMac(secret, timestamp, body).toString('hex')}`;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** page answers a person who followed an e-mail link with a small HTML page. */
function page(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .send(
      `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head>` +
        `<body style="font-family:sans-serif;max-width:40em;margin:3em auto"><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
    );
}

const ACTION_LABEL: Record<Action, string> = { acknowledge: 'Acknowledge', resolve: 'Resolve' };

/**
 * integrationRoutes serves the one-click actions of notifications:
 * - POST /api/v1/integrations/slack/actions: Slack's interactivity requests (the Acknowledge / Resolve buttons),
 *   verified by Slack's signature, applied as workflow updates; the workflow then edits its Slack messages in place.
 * - GET /api/v1/alerts/ack?token=: an e-mail link. It only shows what the link will do and a button, because mail
 *   scanners open links on their own; the button POSTs the token to the same path, which applies the action.
 */
export function integrationRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, body));

    app.post(
      '/api/v1/integrations/slack/actions',
      {
        config: { access: 'signed' },
        schema: {
          response: {
            200: Type.Object({ ok: Type.Boolean(), ignored: Type.Optional(Type.Boolean()), results: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))) }, { additionalProperties: true }),
            ...errorResponses(400, 401, 503),
          },
        },
      },
      async (request, reply) => {
        const secret = deps.config.slack.signingSecret;
        if (!secret) throw new ApiError(503, 'not_configured', 'Slack interactivity is not configured (SLACK_SIGNING_SECRET)');
        const body = typeof request.body === 'string' ? request.body : '';
        const refusal = slackSignatureRefusal(secret, header(request.headers['x-slack-request-timestamp']), header(request.headers['x-slack-signature']), body, Date.now());
        if (refusal) {
          request.log.warn({ refusal }, 'Slack request refused');
          throw new ApiError(401, 'unauthorized', `Slack signature check failed: ${refusal}`, 'X-Slack-Signature');
        }
        let payload: unknown;
        try {
          payload = JSON.parse(new URLSearchParams(body).get('payload') ?? '');
        } catch {
          throw new ApiError(400, 'bad_request', 'expected a form field "payload" holding Slack\'s JSON', 'payload');
        }
        if (!isRecord(payload) || payload.type !== 'block_actions' || !Array.isArray(payload.actions)) {
          // Other interactivity (shortcuts, view submissions) is not ours to handle: acknowledge and ignore.
          return reply.code(200).send({ ok: true, ignored: true });
        }
        const user = isRecord(payload.user) ? payload.user : {};
        const who = `slack:${String(user.username ?? user.name ?? user.id ?? 'unknown')}`;
        const results = [];
        for (const action of payload.actions) {
          if (!isRecord(action) || typeof action.value !== 'string') continue;
          const kind: Action | undefined =
            action.action_id === SLACK_ACTIONS.acknowledge ? 'acknowledge' : action.action_id === SLACK_ACTIONS.resolve ? 'resolve' : undefined;
          if (!kind) continue;
          try {
            const view = await applyAlertAction(deps, request.log, action.value, kind, { by: who, ...(kind === 'resolve' ? { note: 'resolved from Slack' } : {}) });
            results.push({ alertId: action.value, action: kind, phase: view.phase });
          } catch (err) {
            if (!(err instanceof ApiError) || err.statusCode >= 500) throw err;
            // Already acknowledged, already resolved…: tell the person who clicked, only them.
            results.push({ alertId: action.value, action: kind, refused: err.message });
            if (typeof payload.response_url === 'string') {
              void fetch(payload.response_url, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text: `Could not ${kind} ${action.value}: ${err.message}` }),
              }).catch((e: unknown) => request.log.warn({ err: e }, 'Slack response_url post failed'));
            }
          }
        }
        return reply.code(200).send({ ok: true, results });
      },
    );

    const verify = (token: unknown): LinkClaims => {
      if (typeof token !== 'string' || token.length === 0 || token.length > 2048) throw new ApiError(400, 'bad_request', 'the link has no token', 'token');
      return verifyLink(deps.linkSecret, token, Date.now());
    };
    const linkFailure = (reply: FastifyReply, err: unknown): FastifyReply => {
      if (err instanceof LinkError) return page(reply, err.expired ? 410 : 401, err.expired ? 'Link expired' : 'Invalid link', `<p>${escapeHtml(err.message)}</p>`);
      if (err instanceof ApiError && err.statusCode < 500) return page(reply, err.statusCode, 'Nothing to do', `<p>${escapeHtml(err.message)}</p>`);
      throw err;
    };

    app.get<{ Querystring: { token?: string } }>(
      '/api/v1/alerts/ack',
      { config: { access: 'signed' }, schema: { querystring: Type.Object({ token: Type.Optional(Type.String()) }) } },
      async (request, reply) => {
        let claims: LinkClaims;
        try {
          claims = verify(request.query.token);
        } catch (err) {
          return linkFailure(reply, err);
        }
        const label = ACTION_LABEL[claims.action];
        return page(
          reply,
          200,
          `${label} alert`,
          `<p>${label} <code>${escapeHtml(claims.alertId)}</code> as <b>${escapeHtml(claims.recipient)}</b>?</p>` +
            `<form method="post" action="/api/v1/alerts/ack"><input type="hidden" name="token" value="${escapeHtml(request.query.token!)}">` +
            `<button type="submit" style="padding:8px 16px">${label}</button></form>`,
        );
      },
    );

    app.post(
      '/api/v1/alerts/ack',
      { config: { access: 'signed' } },
      async (request, reply) => {
        const body = typeof request.body === 'string' ? new URLSearchParams(request.body).get('token') : isRecord(request.body) ? request.body.token : undefined;
        let claims: LinkClaims;
        try {
          claims = verify(body);
        } catch (err) {
          return linkFailure(reply, err);
        }
        try {
          const view = await applyAlertAction(deps, request.log, claims.alertId, claims.action, {
            by: `email:${claims.recipient}`,
            ...(claims.action === 'resolve' ? { note: 'resolved from an e-mail link' } : {}),
          });
          // Plain text: page() escapes the title, and the body escapes it here.
          const done = view.phase === 'acknowledged' ? `Acknowledged by ${view.acknowledgedBy ?? claims.recipient}` : `Resolved by ${claims.recipient}`;
          return page(reply, 200, done, `<p>Alert <code>${escapeHtml(view.alertId)}</code> on ${escapeHtml(view.service)}: ${escapeHtml(done)}. Escalation has stopped.</p>`);
        } catch (err) {
          return linkFailure(reply, err);
        }
      },
    );
  };
}
