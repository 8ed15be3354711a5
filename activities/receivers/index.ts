/** The receivers by channel: the one place a channel is registered. */
import type { NotificationChannel } from '../../core/escalation';
import { createEmailReceiver, type EmailReceiver } from './email';
import type { Receiver, ReceiverContext } from './receiver';
import { createSlackReceiver, type SlackReceiver } from './slack';
import { createOpsgenieReceiver } from './opsgenie';
import { createPagerDutyReceiver } from './pagerduty';
import type { PagingReceiver } from './receiver';
import { createSmsReceiver, type SmsReceiver } from './sms';
import { createWebhookReceiver } from './webhook';

export type { AlertDescription, GroupNotificationRequest, NotificationRequest, PagingReceiver, Receiver, ReceiverContext } from './receiver';

/** Receivers has one receiver per channel; Slack and e-mail also serve the weekly report and silence reminders. */
export type Receivers = Record<NotificationChannel, Receiver> & { slack: SlackReceiver; email: EmailReceiver; pagerduty: PagingReceiver; opsgenie: PagingReceiver; sms: SmsReceiver };

/** createReceivers builds every channel's receiver. */
export function createReceivers(ctx: ReceiverContext): Receivers {
  return {
    slack: createSlackReceiver(ctx),
    email: createEmailReceiver(ctx),
    webhook: createWebhookReceiver(ctx),
    pagerduty: createPagerDutyReceiver(ctx),
    opsgenie: createOpsgenieReceiver(ctx),
    sms: createSmsReceiver(ctx, 'sms'),
    voice: createSmsReceiver(ctx, 'voice'),
  };
}
