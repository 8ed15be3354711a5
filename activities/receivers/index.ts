/** The receivers by channel: the one place a channel is registered. */
import type { NotificationChannel } from '../../core/escalation';
import { createEmailReceiver, type EmailReceiver } from './email';
import type { Receiver, ReceiverContext } from './receiver';
import { createSlackReceiver, type SlackReceiver } from './slack';
import { createWebhookReceiver } from './webhook';

export type { AlertDescription, GroupNotificationRequest, NotificationRequest, Receiver, ReceiverContext } from './receiver';

/** Receivers has one receiver per channel; Slack and e-mail also serve the weekly report and silence reminders. */
export type Receivers = Record<NotificationChannel, Receiver> & { slack: SlackReceiver; email: EmailReceiver };

/** createReceivers builds every channel's receiver. */
export function createReceivers(ctx: ReceiverContext): Receivers {
  return {
    slack: createSlackReceiver(ctx),
    email: createEmailReceiver(ctx),
    webhook: createWebhookReceiver(ctx),
  };
}
