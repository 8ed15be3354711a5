/**
 * The generic webhook receiver: Alertmanager's webhook payload (version 4, core/webhook.ts) POSTed as JSON to the
 * target's URL, signed so the endpoint can tell it is ours and fresh: `X-Monitoring-Signature: t=<unix seconds>,
 * v1=<hex HMAC-SHA256 of "<t>.<body>" with ALERT_WEBHOOK_SECRET>`. Every attempt at one (alert, step, URL) carries
 * the same `Idempotency-Key`, so an endpoint that keeps them drops the resend of a delivery whose worker died before
 * recording it. A 2xx is delivered; a 408, 429 or 5xx, a timeout or a refused connection is retried by Temporal; any
 * other 4xx fails the delivery for good (the endpoint refuses what we send).
 */
import { createHmac } from 'node:crypto';
import type { Delivery } from '../../core/escalation';
import { webhookAlert, webhookPayload, type WebhookPayload } from '../../core/webhook';
import { notConfigured } from './errors';
import { postJson } from './http';
import type { GroupNotificationRequest, NotificationRequest, Receiver, ReceiverContext } from './receiver';

/** SIGNATURE_HEADER carries the payload's signature. */
export const SIGNATURE_HEADER = 'X-Monitoring-Signature';

/** webhookSignature signs a body at a second: the value of SIGNATURE_HEADER. */
export function webhookSignature(secret: string, body: string, atSeconds: number): string {
  return `t=${atSeconds},v1=${createHmac('sha256', secret).update(`${atSeconds}.${body}`).digest('hex')}`;
}

/** createWebhookReceiver posts to the targets' URLs; without ALERT_WEBHOOK_SECRET every send fails for good. */
export function createWebhookReceiver(ctx: ReceiverContext): Receiver {
  const { config } = ctx;
  const secret = config.webhookSecret;

  async function post(key: string, url: string, payload: WebhookPayload): Promise<Delivery> {
    if (!secret) throw notConfigured('Webhook signing (ALERT_WEBHOOK_SECRET)');
    const body = JSON.stringify(payload);
    const headers = { 'idempotency-key': key, [SIGNATURE_HEADER.toLowerCase()]: webhookSignature(secret, body, Math.floor(Date.now() / 1000)) };
    const { status } = await postJson('webhook', url, body, headers, config.alert.notificationTimeoutMs);
    return { key, channel: 'webhook', to: url, status };
  }

  return {
    configured: secret !== undefined,
    sendAlert: (req: NotificationRequest) =>
      post(
        req.key,
        req.target.to,
        webhookPayload({
          receiver: req.policy,
          groupKey: req.workflowId,
          groupLabels: {},
          externalUrl: config.publicBaseUrl,
          alerts: [webhookAlert(req.alert, { value: req.value, firedAtMs: req.firedAtMs, generatorUrl: ctx.workflowUrl(req.workflowId) })],
        }),
      ),
    async sendGroup(req: GroupNotificationRequest) {
      const alerts = req.items.map((item) =>
        webhookAlert(item.alert, {
          value: item.value,
          firedAtMs: item.firedAtMs,
          generatorUrl: ctx.workflowUrl(item.workflowId),
          ...(item.state.status === 'resolved' ? { resolvedAtMs: item.state.atMs ?? Date.now() } : {}),
        }),
      );
      const payload = webhookPayload({
        receiver: req.items[0]?.policy ?? '',
        groupKey: req.group.workflowId,
        groupLabels: req.group.labels,
        externalUrl: config.publicBaseUrl,
        alerts,
        truncated: Math.max(0, req.counts.total - req.items.length),
      });
      return { ...(await post(req.key, req.target.to, payload)), group: req.group.workflowId };
    },
  };
}
