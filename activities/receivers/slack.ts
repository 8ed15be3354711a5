/**
 * The Slack receiver: Block Kit messages with Acknowledge / Resolve buttons, redrawn in place as the alert changes.
 * Each message carries its notification key in its metadata, so an attempt after one that posted but did not record
 * (its worker died) finds the message in the channel instead of posting again.
 */
import { log } from '@temporalio/activity';
import { WebClient } from '@slack/web-api';
import type { Delivery } from '../../core/escalation';
import { slackGroupMessage, slackMessage, type SlackMessage } from '../../core/notification';
import { notConfigured } from './errors';
import type { GroupNotificationRequest, NotificationRequest, Receiver, ReceiverContext } from './receiver';

/** NOTIFICATION_EVENT is the Slack message metadata type that marks our messages with their notification key. */
export const NOTIFICATION_EVENT = 'alert_notification';
/** SLACK_GONE are Slack's answers for a message that cannot be edited any more. */
const SLACK_GONE = new Set(['message_not_found', 'channel_not_found', 'is_archived', 'not_in_channel', 'cant_update_message']);

/** SlackReceiver is the Slack Receiver, with what the report, reminders and redraws use: the client, posting, redrawing. */
export interface SlackReceiver extends Receiver {
  client: WebClient | undefined;
  post(key: string, to: string, message: SlackMessage, payload: Record<string, string>): Promise<Delivery>;
  redraw(message: { slackChannel: string; ts: string }, drawn: SlackMessage): Promise<boolean>;
}

/** createSlackReceiver posts with SLACK_BOT_TOKEN (to SLACK_API_URL when set); without a token every send fails for good. */
export function createSlackReceiver(ctx: ReceiverContext): SlackReceiver {
  const { config } = ctx;
  const client = config.slack.botToken
    ? new WebClient(config.slack.botToken, {
        ...(config.slack.apiUrl ? { slackApiUrl: config.slack.apiUrl } : {}),
        // Temporal retries the activity with backoff; the client must not retry inside one attempt as well.
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
      })
    : undefined;

  /** channelIdOf resolves a #name to its channel id (conversations.history takes ids only). */
  async function channelIdOf(slack: WebClient, to: string): Promise<string | undefined> {
    if (!to.startsWith('#')) return to;
    let cursor: string | undefined;
    do {
      const page = await slack.conversations.list({ types: 'public_channel,private_channel', exclude_archived: true, limit: 1000, ...(cursor ? { cursor } : {}) });
      const found = page.channels?.find((c) => c.name === to.slice(1));
      if (found?.id) return found.id;
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    return undefined;
  }

  /** findMessage looks for a message an earlier attempt posted but did not record (its metadata holds the key). */
  async function findMessage(slack: WebClient, key: string, to: string): Promise<Delivery | undefined> {
    const channel = await channelIdOf(slack, to);
    if (!channel) return undefined;
    const history = await slack.conversations.history({ channel, limit: 200, include_all_metadata: true });
    const found = history.messages?.find(
      (m) => m.metadata?.event_type === NOTIFICATION_EVENT && (m.metadata.event_payload as Record<string, unknown> | undefined)?.notification_key === key,
    );
    return found?.ts ? { key, channel: 'slack', to, slackChannel: channel, ts: found.ts } : undefined;
  }

  /** post posts a message once per key; `payload` goes into the message metadata beside the key. */
  async function post(key: string, to: string, message: SlackMessage, payload: Record<string, string>): Promise<Delivery> {
    if (!client) throw notConfigured('Slack (SLACK_BOT_TOKEN)');
    if (!(await ctx.firstAttempt(key))) {
      const found = await findMessage(client, key, to);
      if (found) return found;
    }
    const posted = await client.chat.postMessage({
      channel: to,
      text: message.text,
      blocks: message.blocks as never,
      metadata: { event_type: NOTIFICATION_EVENT, event_payload: { notification_key: key, ...payload } },
      unfurl_links: false,
    });
    return { key, channel: 'slack', to, slackChannel: posted.channel ?? to, ts: posted.ts! };
  }

  /**
   * redraw edits a message in place. A message that is gone (deleted, its channel archived or the bot removed) is
   * skipped: retrying cannot bring it back, and an alert must not wait for ever to show that it ended.
   */
  async function redraw(m: { slackChannel: string; ts: string }, drawn: SlackMessage): Promise<boolean> {
    if (!client) return false;
    try {
      await client.chat.update({ channel: m.slackChannel, ts: m.ts, text: drawn.text, blocks: drawn.blocks as never });
      return true;
    } catch (err) {
      const code = (err as { data?: { error?: string } }).data?.error;
      if (code && SLACK_GONE.has(code)) {
        log.warn('Slack message gone; not redrawn', { channel: m.slackChannel, ts: m.ts, error: code });
        return false;
      }
      throw err;
    }
  }

  return {
    configured: client !== undefined,
    client,
    post,
    redraw,
    sendAlert: (req: NotificationRequest) => post(req.key, req.target.to, slackMessage(ctx.notificationOf(req), { status: 'firing' }), { alert_id: req.alertId }),
    async sendGroup(req: GroupNotificationRequest) {
      const message = slackGroupMessage(ctx.groupedOf(req), req.group.labels, ctx.workflowUrl(req.group.workflowId), req.counts);
      const delivery = await post(req.key, req.target.to, message, { group_id: req.group.workflowId, alert_ids: req.items.map((i) => i.alertId).join(',') });
      return { ...delivery, group: req.group.workflowId };
    },
  };
}
