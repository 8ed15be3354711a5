/**
 * The SMS and voice receivers: a generic gateway (SMS_WEBHOOK_URL) that texts (`{sms: …}` targets) or calls
 * (`{voice: …}`, the message read out) a phone number. One POST per (alert, step, number) — `{to, message, kind:
 * "sms" | "voice", alert_id, severity, ack_url}` — signed like the webhook
 * (X-Monitoring-Signature with ALERT_WEBHOOK_SECRET) and carrying the delivery's Idempotency-Key, so a gateway that
 * keeps them sends one text for a retried delivery. The message fits one SMS segment (core/paging.ts).
 */
import type { Delivery } from '../../core/escalation';
import { oneSegment, smsText } from '../../core/paging';
import { notConfigured } from './errors';
import { postJson } from './http';
import type { GroupNotificationRequest, NotificationRequest, Receiver, ReceiverContext } from './receiver';
import { SIGNATURE_HEADER, webhookSignature } from './webhook';

/** SmsReceiver is the gateway's Receiver, which also sends a plain notice (an on-call handoff, a silence reminder). */
export interface SmsReceiver extends Receiver {
  /** sendNotice texts (or reads out) `message`, cut to one segment, once per key. */
  sendNotice(key: string, to: string, message: string): Promise<Delivery>;
}

/** createSmsReceiver sends one kind of page through the gateway: texts, or calls. */
export function createSmsReceiver(ctx: ReceiverContext, kind: 'sms' | 'voice' = 'sms'): SmsReceiver {
  const { config } = ctx;
  const url = config.paging.smsWebhookUrl;
  const secret = config.webhookSecret;
  const text = async (key: string, to: string, message: Record<string, unknown>): Promise<number> => {
    if (!url) throw notConfigured('SMS gateway (SMS_WEBHOOK_URL)');
    if (!secret) throw notConfigured('Webhook signing (ALERT_WEBHOOK_SECRET)');
    const body = JSON.stringify({ to, kind, ...message });
    return (await postJson('SMS gateway', url, body, { 'idempotency-key': key, [SIGNATURE_HEADER.toLowerCase()]: webhookSignature(secret, body, Math.floor(Date.now() / 1000)) }, config.alert.notificationTimeoutMs)).status;
  };
  return {
    configured: url !== undefined && secret !== undefined,
    async sendNotice(key: string, to: string, message: string): Promise<Delivery> {
      const status = await text(key, to, { message: oneSegment(message) });
      return { key, channel: kind, to, status };
    },
    async sendAlert(req: NotificationRequest): Promise<Delivery> {
      const n = ctx.notificationOf(req);
      const ack = ctx.linksFor(req.alertId, `${kind}:${req.target.to}`).acknowledge;
      const status = await text(req.key, req.target.to, { message: smsText(n, ack), alert_id: req.alertId, severity: n.severity, ack_url: ack });
      return { key: req.key, channel: kind, to: req.target.to, status };
    },
    async sendGroup(req: GroupNotificationRequest): Promise<Delivery> {
      const firing = req.items.filter((i) => i.state.status === 'firing');
      const first = firing[0] ? ctx.notificationOf(firing[0]) : undefined;
      const message = first ? oneSegment(`${req.counts.total} alerts firing: ${first.service} ${first.metric} ${first.current_value}${req.counts.total > 1 ? ` and ${req.counts.total - 1} more` : ''}`) : `${req.counts.total} alerts`;
      const status = await text(req.key, req.target.to, { message, alert_ids: req.items.map((i) => i.alertId) });
      return { key: req.key, channel: kind, to: req.target.to, status, group: req.group.workflowId };
    },
  };
}
