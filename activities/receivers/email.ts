/**
 * The e-mail receiver: one message per (alert, step, address) with signed Acknowledge / Resolve links, or one per
 * group batch with each alert's links. E-mail has no read-back, so a send whose worker died before recording it is
 * sent again — with the same Message-ID, which mail clients treat as one message.
 */
import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type { Delivery } from '../../core/escalation';
import { emailGroupMessage, emailMessage, type EmailMessage } from '../../core/notification';
import { notConfigured } from './errors';
import type { GroupNotificationRequest, NotificationRequest, Receiver, ReceiverContext } from './receiver';

/** EmailReceiver is the e-mail Receiver, with the raw send the weekly report and silence reminders use too. */
export interface EmailReceiver extends Receiver {
  send(key: string, to: string, message: EmailMessage, headers: Record<string, string>, attachments?: Mail.Attachment[]): Promise<Delivery>;
  sendText(to: string, subject: string, text: string): Promise<void>;
}

/** createEmailReceiver sends through SMTP_URL; without it every send fails for good (not configured). */
export function createEmailReceiver(ctx: ReceiverContext): EmailReceiver {
  const { config } = ctx;
  const mailer = config.smtpUrl ? nodemailer.createTransport(config.smtpUrl) : undefined;

  async function send(key: string, to: string, message: EmailMessage, headers: Record<string, string>, attachments: Mail.Attachment[] = []): Promise<Delivery> {
    if (!mailer) throw notConfigured('E-mail (SMTP_URL)');
    const messageId = `<${createHash('sha256').update(key).digest('hex').slice(0, 32)}@performance-monitoring>`;
    await mailer.sendMail({ from: config.mailFrom, to, subject: message.subject, text: message.text, html: message.html, messageId, headers: { ...headers, 'X-Notification-Key': key }, attachments });
    return { key, channel: 'email', to, messageId };
  }

  return {
    configured: mailer !== undefined,
    send,
    async sendText(to, subject, text) {
      if (!mailer) throw notConfigured('E-mail (SMTP_URL)');
      await mailer.sendMail({ from: config.mailFrom, to, subject, text });
    },
    async sendAlert(req: NotificationRequest) {
      const message = emailMessage(ctx.notificationOf(req), ctx.linksFor(req.alertId, req.target.to));
      return send(req.key, req.target.to, message, { 'X-Alert-Id': req.alertId });
    },
    async sendGroup(req: GroupNotificationRequest) {
      const items = ctx.groupedOf(req).map((item, i) => ({ ...item, links: ctx.linksFor(req.items[i]!.alertId, req.target.to) }));
      const message = emailGroupMessage(items, req.group.labels, req.counts);
      const delivery = await send(req.key, req.target.to, message, { 'X-Alert-Group': req.group.workflowId, 'X-Alert-Ids': req.items.map((i) => i.alertId).join(',') });
      return { ...delivery, group: req.group.workflowId };
    },
  };
}
