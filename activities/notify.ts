import { createHash } from 'node:crypto';
import { redisKeys } from '../store/redis';
import { ApplicationFailure, log } from '@temporalio/activity';
import { WebClient } from '@slack/web-api';
import type Redis from 'ioredis';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import { renderReportCharts, type ReportChart, type ReportChartData } from './report-charts';
import type { AlertInput } from '../core/alert';
import type { Config } from '../core/config';
import type { FiringMemory } from '../core/dedup';
import { policyNameOf, type Delivery, type EscalationSnapshot, type EscalationTarget, type PlannedNotification, type SentNotification } from '../core/escalation';

export type { Delivery, EscalationSnapshot } from '../core/escalation';
import {
  alertNotification,
  emailGroupMessage,
  emailMessage,
  escapeHtml,
  slackGroupMessage,
  slackMessage,
  type EmailMessage,
  type GroupCounts,
  type GroupedAlert,
  type NotificationState,
  type SlackMessage,
} from '../core/notification';
import type { AlertGroup } from '../core/grouping';
import { reportEmailMessage, reportSlackMessage, type PerformanceReport } from '../core/report';
import { describeMatchers, type Silence } from '../core/silences';
import { linkSecret, signLink } from '../store/ack-links';
import { createPolicyStore } from './policies';

/** NotifyDeps are what the notification activities need. */
export interface NotifyDeps {
  config: Config;
  redis: Redis;
}

/** NotificationRequest is one delivery the alert workflow asks for: (alert, step, target), identified by `key`. */
export interface NotificationRequest {
  key: string;
  target: EscalationTarget;
  step: Pick<PlannedNotification, 'index' | 'level' | 'round'>;
  alert: AlertInput;
  alertId: string;
  workflowId: string;
  value: number;
  firedAtMs: number;
  policy: string;
}

/** GroupNotificationRequest is one batch of a notification group to one target: its alerts as they stand. */
export interface GroupNotificationRequest {
  key: string;
  target: EscalationTarget;
  group: AlertGroup;
  /** The batch's first GROUP_ITEMS_SENT alerts as they stand; `counts` covers all of them. */
  items: Array<Omit<NotificationRequest, 'key' | 'target'> & { state: NotificationState }>;
  counts: GroupCounts;
}

const SENT_TTL_SECONDS = 30 * 24 * 3600;
const ATTEMPT_TTL_SECONDS = 24 * 3600;
/** SLACK_GONE are Slack's answers for a message that cannot be edited any more. */
const SLACK_GONE = new Set(['message_not_found', 'channel_not_found', 'is_archived', 'not_in_channel', 'cant_update_message']);

/** NOTIFICATION_EVENT is the Slack message metadata type that marks our messages with their notification key. */
export const NOTIFICATION_EVENT = 'alert_notification';

/** An alert's memory across runs (core/dedup.ts), kept a day. */
const memoryKey = (fingerprint: string) => `alerts:memory:${fingerprint}`;
const MEMORY_TTL_SECONDS = 24 * 3600;

const ledger = {
  sent: (key: string) => `notify:sent:${key}`,
  attempt: (key: string) => `notify:attempt:${key}`,
};

/** notConfigured fails a delivery for good: retrying cannot make a missing Slack token or SMTP URL appear. */
function notConfigured(what: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${what} is not configured`, 'NotConfigured');
}

/**
 * createNotifyActivities builds the notification activities. Each delivery is sent exactly once per key, even when
 * the activity is retried or its worker dies mid-send: a Redis ledger records what was sent, and a Slack message
 * carries its key in its metadata, so a retry after an unrecorded send finds the message instead of posting again.
 * (An e-mail has no such read-back: a send whose worker died before recording it is sent again with the same
 * Message-ID, which mail clients treat as one message.)
 */
export function createNotifyActivities({ config, redis }: NotifyDeps) {
  const slack = config.slack.botToken
    ? new WebClient(config.slack.botToken, {
        ...(config.slack.apiUrl ? { slackApiUrl: config.slack.apiUrl } : {}),
        // Temporal retries the activity with backoff; the client must not retry inside one attempt as well.
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
      })
    : undefined;
  const mailer = config.smtpUrl ? nodemailer.createTransport(config.smtpUrl) : undefined;
  const secret = linkSecret(config);
  const policies = createPolicyStore({ config, redis });
  const workflowUrl = (workflowId: string) =>
    `http://127.0.0.1:${config.temporal.uiPort}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  const notificationOf = (req: Pick<NotificationRequest, 'alert' | 'alertId' | 'workflowId' | 'value' | 'firedAtMs' | 'policy'> & { step: Pick<PlannedNotification, 'level' | 'round'> }) =>
    alertNotification(req.alert, {
      alertId: req.alertId,
      value: req.value,
      firedAtMs: req.firedAtMs,
      policy: req.policy,
      workflowUrl: workflowUrl(req.workflowId),
      step: req.step,
    });

  async function recorded(key: string): Promise<Delivery | undefined> {
    const sent = await redis.get(ledger.sent(key));
    return sent ? (JSON.parse(sent) as Delivery) : undefined;
  }

  /**
   * counted runs one delivery attempt and counts it, sent or failed, per channel for the whole deployment
   * (redisKeys.notificationStats; the API's /metrics serves them). A failure to count never fails the delivery.
   */
  async function counted(channel: string, attempt: () => Promise<Delivery>): Promise<Delivery> {
    const count = (outcome: 'sent' | 'failed') => redis.hincrby(redisKeys.notificationStats, `${channel}:${outcome}`, 1).catch(() => 0);
    try {
      const delivery = await attempt();
      await count('sent');
      return delivery;
    } catch (err) {
      await count('failed');
      throw err;
    }
  }

  async function record(delivery: Delivery): Promise<Delivery> {
    await redis.set(ledger.sent(delivery.key), JSON.stringify(delivery), 'EX', SENT_TTL_SECONDS);
    return delivery;
  }

  /** channelIdOf resolves a #name to its channel id (conversations.history takes ids only). */
  async function channelIdOf(client: WebClient, to: string): Promise<string | undefined> {
    if (!to.startsWith('#')) return to;
    let cursor: string | undefined;
    do {
      const page = await client.conversations.list({ types: 'public_channel,private_channel', exclude_archived: true, limit: 1000, ...(cursor ? { cursor } : {}) });
      const found = page.channels?.find((c) => c.name === to.slice(1));
      if (found?.id) return found.id;
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    return undefined;
  }

  /** findSlackMessage looks for a message an earlier attempt posted but did not record (its metadata holds the key). */
  async function findSlackMessage(client: WebClient, key: string, to: string): Promise<Delivery | undefined> {
    const channel = await channelIdOf(client, to);
    if (!channel) return undefined;
    const history = await client.conversations.history({ channel, limit: 200, include_all_metadata: true });
    const found = history.messages?.find(
      (m) => m.metadata?.event_type === NOTIFICATION_EVENT && (m.metadata.event_payload as Record<string, unknown> | undefined)?.notification_key === key,
    );
    return found?.ts ? { key, channel: 'slack', to, slackChannel: channel, ts: found.ts } : undefined;
  }

  /** postSlack posts a message once per key; `payload` goes into the message metadata beside the key. */
  async function postSlack(key: string, to: string, message: SlackMessage, payload: Record<string, string>): Promise<Delivery> {
    if (!slack) throw notConfigured('Slack (SLACK_BOT_TOKEN)');
    const firstAttempt = (await redis.set(ledger.attempt(key), '1', 'EX', ATTEMPT_TTL_SECONDS, 'NX')) === 'OK';
    if (!firstAttempt) {
      const found = await findSlackMessage(slack, key, to);
      if (found) return found;
    }
    const posted = await slack.chat.postMessage({
      channel: to,
      text: message.text,
      blocks: message.blocks as never,
      metadata: { event_type: NOTIFICATION_EVENT, event_payload: { notification_key: key, ...payload } },
      unfurl_links: false,
    });
    return { key, channel: 'slack', to, slackChannel: posted.channel ?? to, ts: posted.ts! };
  }

  /** sendEmail sends a message with one Message-ID per key: a resend after a lost record is the same message to mail clients. */
  async function sendEmail(key: string, to: string, message: EmailMessage, headers: Record<string, string>, attachments: Mail.Attachment[] = []): Promise<Delivery> {
    if (!mailer) throw notConfigured('E-mail (SMTP_URL)');
    const messageId = `<${createHash('sha256').update(key).digest('hex').slice(0, 32)}@performance-monitoring>`;
    await mailer.sendMail({ from: config.mailFrom, to, subject: message.subject, text: message.text, html: message.html, messageId, headers: { ...headers, 'X-Notification-Key': key }, attachments });
    return { key, channel: 'email', to, messageId };
  }

  /** linksFor signs an alert's Acknowledge / Resolve links for one recipient. */
  const linksFor = (alertId: string, recipient: string) => {
    const expiresAtMs = Date.now() + config.linkTtlMs;
    const link = (action: 'acknowledge' | 'resolve') => `${config.publicBaseUrl}/api/v1/alerts/ack?token=${signLink(secret, { alertId, action, recipient, expiresAtMs })}`;
    return { acknowledge: link('acknowledge'), resolve: link('resolve') };
  };

  /**
   * redrawSlack edits a message in place. A message that is gone (deleted, its channel archived or the bot removed)
   * is skipped: retrying cannot bring it back, and an alert must not wait for ever to show that it ended.
   */
  async function redrawSlack(client: WebClient, m: { slackChannel: string; ts: string }, message: SlackMessage): Promise<boolean> {
    try {
      await client.chat.update({ channel: m.slackChannel, ts: m.ts, text: message.text, blocks: message.blocks as never });
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

  async function deliverSlack(req: NotificationRequest): Promise<Delivery> {
    return record(await postSlack(req.key, req.target.to, slackMessage(notificationOf(req), { status: 'firing' }), { alert_id: req.alertId }));
  }

  async function deliverEmail(req: NotificationRequest): Promise<Delivery> {
    const message = emailMessage(notificationOf(req), linksFor(req.alertId, req.target.to));
    return record(await sendEmail(req.key, req.target.to, message, { 'X-Alert-Id': req.alertId }));
  }

  const groupedOf = (req: Pick<GroupNotificationRequest, 'items'>): GroupedAlert[] =>
    req.items.map((item) => ({ notification: notificationOf(item), state: item.state }));

  return {
    /** escalationSnapshot returns the escalation policy of a rule (file and API edits), taken as the alert fires. */
    async escalationSnapshot(rule: AlertInput['rule']): Promise<EscalationSnapshot> {
      const escalation = await policies.escalation();
      const name = policyNameOf(rule, escalation);
      const policy = escalation.policies.find((p) => p.name === name) ?? escalation.policies.find((p) => p.name === escalation.defaultPolicy)!;
      return {
        policy,
        dedup: { windowMs: config.alert.deduplicationWindowMs, maxPerHour: config.alert.maxNotificationsPerHour },
        timeoutMs: config.alert.notificationTimeoutMs,
        maxAttempts: config.alert.maxRetries + 1,
      };
    },

    /** recallFirings reads what the alert's earlier runs left: last resolution, recent notifications, their Slack messages. */
    async recallFirings(fingerprint: string): Promise<FiringMemory> {
      const raw = await redis.hgetall(memoryKey(fingerprint));
      const now = Date.now();
      return {
        ...(raw.last_resolved_ms ? { lastResolvedAtMs: Number(raw.last_resolved_ms) } : {}),
        notifiedAtMs: raw.notified ? (JSON.parse(raw.notified) as number[]).filter((t) => now - t < 3_600_000) : [],
        messages: raw.messages ? (JSON.parse(raw.messages) as SentNotification[]) : [],
      };
    },

    /** rememberNotified records that a run of the alert notified (once per run) and the Slack messages it has so far. */
    async rememberNotified(fingerprint: string, atMs: number | undefined, messages: SentNotification[]): Promise<void> {
      const key = memoryKey(fingerprint);
      if (atMs !== undefined) {
        const notified = JSON.parse((await redis.hget(key, 'notified')) ?? '[]') as number[];
        if (!notified.includes(atMs)) notified.push(atMs);
        await redis.hset(key, 'notified', JSON.stringify(notified.filter((t) => atMs - t < 3_600_000)));
      }
      await redis.hset(key, 'messages', JSON.stringify(messages));
      await redis.expire(key, MEMORY_TTL_SECONDS);
    },

    /** rememberResolved records when the alert last ended (the dedup window runs from there). */
    async rememberResolved(fingerprint: string, atMs: number): Promise<void> {
      await redis.hset(memoryKey(fingerprint), 'last_resolved_ms', String(atMs));
      await redis.expire(memoryKey(fingerprint), MEMORY_TTL_SECONDS);
    },

    /** deliverNotification sends one (alert, step, target) notification, at most once per key. */
    async deliverNotification(req: NotificationRequest): Promise<Delivery> {
      const done = await recorded(req.key);
      if (done) return done;
      return counted(req.target.channel, () => (req.target.channel === 'slack' ? deliverSlack(req) : deliverEmail(req)));
    },

    /**
     * deliverReport sends a weekly report to one target, at most once per (run, target): a Slack summary with a
     * link to the full report and its charts uploaded into the thread, or an e-mail with its tables and the charts
     * embedded. A target whose channel is not configured is skipped.
     */
    async deliverReport(req: { report: PerformanceReport; target: EscalationTarget; runId: string; charts?: ReportChartData }): Promise<Delivery | undefined> {
      const { report, target } = req;
      const key = `report:${req.runId}:${target.channel}:${target.to}`;
      let images: ReportChart[] | undefined;
      const charts = () => (images ??= req.charts ? renderReportCharts(req.charts) : []);
      let delivery = await recorded(key);
      if (!delivery) {
        if ((target.channel === 'slack' && !slack) || (target.channel === 'email' && !mailer)) return undefined;
        const url = `${config.publicBaseUrl}/api/v1/admin/monitoring/reports?id=${encodeURIComponent(report.report_id)}`;
        delivery = await counted(target.channel, async () =>
          record(
            target.channel === 'slack'
              ? await postSlack(key, target.to, reportSlackMessage(report, url, charts().length), { report_id: report.report_id })
              : await sendEmail(key, target.to, reportEmailMessage(report, url, escapeHtml, charts()), { 'X-Report-Id': report.report_id }, charts().map((c) => ({ filename: `${c.name}.png`, content: c.png, cid: `${c.name}@report`, contentType: 'image/png' }))),
          ),
        );
      }
      // Slack: the charts go into the summary's thread, once: their own ledger entry (a retry after the summary was
      // posted still uploads them) and, on a retry, a look at the thread for the share an earlier attempt completed
      // but did not record (its worker died).
      if (delivery.channel === 'slack' && slack && req.charts && !(await recorded(`${key}:charts`)) && charts().length > 0) {
        const comment = `Charts of ${report.report_id}`;
        const firstAttempt = (await redis.set(ledger.attempt(`${key}:charts`), '1', 'EX', ATTEMPT_TTL_SECONDS, 'NX')) === 'OK';
        const shared =
          !firstAttempt &&
          (await slack.conversations.replies({ channel: delivery.slackChannel, ts: delivery.ts, limit: 200 })).messages?.some((m) => m.text === comment && (m.files?.length ?? 0) > 0);
        if (!shared) {
          await slack.filesUploadV2({
            channel_id: delivery.slackChannel,
            thread_ts: delivery.ts,
            initial_comment: comment,
            file_uploads: charts().map((c) => ({ file: c.png, filename: `${c.name}.png`, title: c.title, alt_text: c.title })),
          });
        }
        await record({ ...delivery, key: `${key}:charts` });
      }
      return delivery;
    },

    /**
     * reportTargets lists where the weekly report goes: REPORT_TARGETS (`slack:#channel,email:a@b`) or, by default,
     * the first step's targets of the default escalation policy.
     */
    async reportTargets(): Promise<EscalationTarget[]> {
      if (config.reportTargets.length > 0) return [...config.reportTargets];
      const escalation = await policies.escalation();
      return escalation.policies.find((p) => p.name === escalation.defaultPolicy)!.steps[0]!.targets;
    },

    /**
     * sendSilenceReminder tells the silence's reminder targets (default: the default policy's first step) that it
     * expires soon, once per target.
     */
    async sendSilenceReminder(req: { silence: Silence; targets?: EscalationTarget[] }): Promise<number> {
      let targets = req.targets;
      if (!targets?.length) {
        const escalation = await policies.escalation();
        targets = escalation.policies.find((p) => p.name === escalation.defaultPolicy)!.steps[0]!.targets;
      }
      const { silence } = req;
      const text =
        `:hourglass: Silence ${silence.id} ${describeMatchers(silence.matchers)} by ${silence.createdBy} expires at ` +
        `${new Date(silence.endsAtMs).toISOString()}${silence.comment ? ` (${silence.comment})` : ''}. Matching alerts will notify again after that; ` +
        `extend it with POST ${config.publicBaseUrl}/api/v1/admin/monitoring/silences if the work is not done.`;
      let sent = 0;
      for (const target of targets) {
        const key = `silence:${silence.id}:reminder:${target.channel}:${target.to}`;
        if (await recorded(key)) continue;
        if (target.channel === 'slack') {
          if (!slack) continue;
          const posted = await slack.chat.postMessage({ channel: target.to, text });
          await record({ key, channel: 'slack', to: target.to, slackChannel: posted.channel ?? target.to, ts: posted.ts! });
        } else {
          if (!mailer) continue;
          await mailer.sendMail({ from: config.mailFrom, to: target.to, subject: `Silence ${silence.id} expires soon`, text });
          await record({ key, channel: 'email', to: target.to, messageId: '' });
        }
        sent++;
      }
      return sent;
    },

    /**
     * deliverGroupNotification sends a group's batch — several alerts, one message — to one target, at most once per
     * key: one Slack message with each alert's buttons, or one e-mail with each alert's signed links.
     */
    async deliverGroupNotification(req: GroupNotificationRequest): Promise<Delivery> {
      const done = await recorded(req.key);
      if (done) return done;
      const alertIds = req.items.map((i) => i.alertId).join(',');
      return counted(req.target.channel, async () => {
        if (req.target.channel === 'slack') {
          const message = slackGroupMessage(groupedOf(req), req.group.labels, workflowUrl(req.group.workflowId), req.counts);
          return record({ ...(await postSlack(req.key, req.target.to, message, { group_id: req.group.workflowId, alert_ids: alertIds })), group: req.group.workflowId });
        }
        const items = groupedOf(req).map((item, i) => ({ ...item, links: linksFor(req.items[i]!.alertId, req.target.to) }));
        const message = emailGroupMessage(items, req.group.labels, req.counts);
        return record({ ...(await sendEmail(req.key, req.target.to, message, { 'X-Alert-Group': req.group.workflowId, 'X-Alert-Ids': alertIds })), group: req.group.workflowId });
      });
    },

    /** updateGroupSlackMessages redraws a group's batch messages in place with each alert's current state. */
    async updateGroupSlackMessages(
      req: Pick<GroupNotificationRequest, 'group'> & { messages: Array<{ slackChannel: string; ts: string } & Pick<GroupNotificationRequest, 'items' | 'counts'>> },
    ): Promise<number> {
      if (!slack) return 0;
      let updated = 0;
      for (const m of req.messages) {
        const message = slackGroupMessage(groupedOf(m), req.group.labels, workflowUrl(req.group.workflowId), m.counts);
        if (await redrawSlack(slack, m, message)) updated++;
      }
      return updated;
    },

    /** updateSlackMessages redraws an alert's Slack messages in place (chat.update) to show its new state. */
    async updateSlackMessages(
      req: Pick<NotificationRequest, 'alert' | 'alertId' | 'workflowId' | 'value' | 'firedAtMs' | 'policy'> & {
        messages: Array<{ slackChannel: string; ts: string; step: Pick<PlannedNotification, 'level' | 'round'> }>;
        state: NotificationState;
      },
    ): Promise<number> {
      if (!slack) return 0;
      let updated = 0;
      for (const m of req.messages) {
        const message = slackMessage(notificationOf({ ...req, step: m.step }), req.state);
        if (await redrawSlack(slack, m, message)) updated++;
      }
      return updated;
    },
  };
}
