import { escalationEvent } from '../core/alert-event';
import type { AlertStream } from './alert-stream';
import { firingAlertsMatching, redisKeys } from '../store/redis';
import type Redis from 'ioredis';
import type { ClickHouseClient } from '@clickhouse/client';
import { renderReportCharts, type ReportChart, type ReportChartData } from './report-charts';
import type { AlertInput } from '../core/alert';
import type { Config } from '../core/config';
import type { FiringMemory } from '../core/dedup';
import { policyNameOf, type Delivery, type EscalationSnapshot, type EscalationTarget, type PlannedNotification, type SentNotification } from '../core/escalation';

export type { Delivery, EscalationSnapshot } from '../core/escalation';
import { alertNotification, escapeHtml, slackGroupMessage, slackMessage, type GroupedAlert, type NotificationState } from '../core/notification';
import { reportEmailMessage, reportSlackMessage, type PerformanceReport } from '../core/report';
import type { Handoff } from '../core/oncall';
import { describeMatchers, type Silence } from '../core/silences';
import { linkSecret, signLink } from '../store/ack-links';
import { createPolicyStore } from '../store/policy-store';
import { createReceivers, type AlertDescription, type GroupNotificationRequest, type NotificationRequest, type ReceiverContext } from './receivers';

export type { GroupNotificationRequest, NotificationRequest } from './receivers';

/** NotifyDeps are what the notification activities need. */
export interface NotifyDeps {
  config: Config;
  redis: Redis;
  /** Where escalation policies edited through the API are kept (store/policy-store.ts). */
  clickhouse: ClickHouseClient;
  /** The alert event stream, when configured: escalations are published on it. */
  alertStream?: AlertStream;
}

const SENT_TTL_SECONDS = 30 * 24 * 3600;
const ATTEMPT_TTL_SECONDS = 24 * 3600;

/** An alert's memory across runs (core/dedup.ts), kept a day. */
const memoryKey = (fingerprint: string) => `alerts:memory:${fingerprint}`;
const MEMORY_TTL_SECONDS = 24 * 3600;

const ledger = {
  sent: (key: string) => `notify:sent:${key}`,
  attempt: (key: string) => `notify:attempt:${key}`,
};

/**
 * createNotifyActivities builds the notification activities. Each delivery is sent exactly once per key, even when
 * the activity is retried or its worker dies mid-send: a Redis ledger records what was sent, and the receivers
 * (activities/receivers/, one per channel) make a retry after an unrecorded send harmless — a Slack message carries
 * its key in its metadata and is found again, an e-mail keeps its Message-ID, a webhook its Idempotency-Key.
 */
export function createNotifyActivities({ config, redis, clickhouse, alertStream }: NotifyDeps) {
  const secret = linkSecret(config);
  const policies = createPolicyStore({ config, redis, clickhouse });
  const workflowUrl = (workflowId: string) =>
    `${config.temporal.uiBaseUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  const notificationOf = (req: AlertDescription) =>
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

  const groupedOf = (req: Pick<GroupNotificationRequest, 'items'>): GroupedAlert[] =>
    req.items.map((item) => ({ notification: notificationOf(item), state: item.state }));
  /** linksFor signs an alert's Acknowledge / Resolve links for one recipient. */
  const linksFor = (alertId: string, recipient: string) => {
    const expiresAtMs = Date.now() + config.linkTtlMs;
    const link = (action: 'acknowledge' | 'resolve') => `${config.publicBaseUrl}/api/v1/alerts/ack?token=${signLink(secret, { alertId, action, recipient, expiresAtMs })}`;
    return { acknowledge: link('acknowledge'), resolve: link('resolve') };
  };
  const firstAttempt = async (key: string) => (await redis.set(ledger.attempt(key), '1', 'EX', ATTEMPT_TTL_SECONDS, 'NX')) === 'OK';
  const context: ReceiverContext = { config, notificationOf, groupedOf, linksFor, workflowUrl, firstAttempt };
  const receivers = createReceivers(context);
  const { slack, email } = receivers;

  /**
   * sendNotice sends a plain notice (no alert: a silence's reminder, an on-call handoff) to each Slack, e-mail or SMS
   * target once per `keyPrefix` and target — a text carries the subject only (one segment) —; a webhook, a pager and
   * a voice call take alerts only. It returns how many went out now.
   */
  async function sendNotice(keyPrefix: string, targets: readonly EscalationTarget[], subject: string, text: string): Promise<number> {
    let sent = 0;
    for (const target of targets) {
      const key = `${keyPrefix}:${target.channel}:${target.to}`;
      if (await recorded(key)) continue;
      if (target.channel === 'slack') {
        if (!slack.client) continue;
        const posted = await slack.client.chat.postMessage({ channel: target.to, text });
        await record({ key, channel: 'slack', to: target.to, slackChannel: posted.channel ?? target.to, ts: posted.ts! });
      } else if (target.channel === 'email') {
        if (!email.configured) continue;
        await email.sendText(target.to, subject, text);
        await record({ key, channel: 'email', to: target.to, messageId: '' });
      } else if (target.channel === 'sms') {
        if (!receivers.sms.configured) continue;
        await record(await receivers.sms.sendNotice(key, target.to, subject));
      } else continue;
      sent++;
    }
    return sent;
  }

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

    /**
     * rememberNotified records that a run of the alert notified (once per run), the Slack messages it has so far,
     * and every Slack channel it reached (its group's too: where a silence of it is announced).
     */
    async rememberNotified(fingerprint: string, atMs: number | undefined, messages: SentNotification[], channels?: string[]): Promise<void> {
      const key = memoryKey(fingerprint);
      if (atMs !== undefined) {
        const notified = JSON.parse((await redis.hget(key, 'notified')) ?? '[]') as number[];
        if (!notified.includes(atMs)) notified.push(atMs);
        await redis.hset(key, 'notified', JSON.stringify(notified.filter((t) => atMs - t < 3_600_000)));
      }
      await redis.hset(key, 'messages', JSON.stringify(messages));
      if (channels) await redis.hset(key, 'channels', JSON.stringify(channels));
      await redis.expire(key, MEMORY_TTL_SECONDS);
    },

    /** rememberResolved records when the alert last ended (the dedup window runs from there). */
    async rememberResolved(fingerprint: string, atMs: number): Promise<void> {
      await redis.hset(memoryKey(fingerprint), 'last_resolved_ms', String(atMs));
      await redis.expire(memoryKey(fingerprint), MEMORY_TTL_SECONDS);
    },

    /** deliverNotification sends one (alert, step, target) notification, at most once per key. */
    async deliverNotification(req: NotificationRequest): Promise<Delivery> {
      // Runs started before their workflow announced escalations itself: a later step of the policy (level 2 on, or
      // the policy repeated) goes on the alert stream before the page (every target of the step, and every retry,
      // publishes the same event id). After the page, a delivery cancelled by the alert's resolution (its worker
      // killed mid-way) would have paged without saying so — found by the stream's kill test.
      if (alertStream && !req.announced && (req.step.level > 1 || req.step.round > 0)) {
        const links = alertStream.links(req.workflowId, req.alert.service);
        await alertStream.publish(escalationEvent({ ...req, level: req.step.level, round: req.step.round, atMs: Date.now() }, links));
      }
      return (await recorded(req.key)) ?? (await counted(req.target.channel, async () => record(await receivers[req.target.channel].sendAlert(req))));
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
        // The report goes to Slack and e-mail targets whose channel is configured (webhooks and pagers take alerts only).
        if ((target.channel !== 'slack' && target.channel !== 'email') || !receivers[target.channel].configured) return undefined;
        const url = `${config.publicBaseUrl}/api/v1/admin/monitoring/reports?id=${encodeURIComponent(report.report_id)}`;
        delivery = await counted(target.channel, async () =>
          record(
            target.channel === 'slack'
              ? await slack.post(key, target.to, reportSlackMessage(report, url, charts().length), { report_id: report.report_id })
              : await email.send(key, target.to, reportEmailMessage(report, url, escapeHtml, charts()), { 'X-Report-Id': report.report_id }, charts().map((c) => ({ filename: `${c.name}.png`, content: c.png, cid: `${c.name}@report`, contentType: 'image/png' }))),
          ),
        );
      }
      // Slack: the charts go into the summary's thread, once: their own ledger entry (a retry after the summary was
      // posted still uploads them) and, on a retry, a look at the thread for the share an earlier attempt completed
      // but did not record (its worker died).
      const client = slack.client;
      if (delivery.channel === 'slack' && client && req.charts && !(await recorded(`${key}:charts`)) && charts().length > 0) {
        const comment = `Charts of ${report.report_id}`;
        const shared =
          !(await firstAttempt(`${key}:charts`)) &&
          (await client.conversations.replies({ channel: delivery.slackChannel, ts: delivery.ts, limit: 200 })).messages?.some((m) => m.text === comment && (m.files?.length ?? 0) > 0);
        if (!shared) {
          await client.filesUploadV2({
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
      return sendNotice(`silence:${silence.id}:reminder`, targets, `Silence ${silence.id} expires soon`, text);
    },

    /**
     * announceSilence tells the channels of the firing alerts a silence matches that it now mutes them (`created`)
     * or no longer does (`ended`: they notify now), one message per Slack channel listing its alerts, once per
     * (silence, transition, channel). An alert's channels are the Slack channels it reached (itself or through its
     * group); one never posted anywhere (inhibited, or silenced from the start) is not listed: its own page follows
     * when the silence ends.
     */
    async announceSilence(req: { silence: Silence; transition: 'created' | 'ended'; by?: string; replacedBy?: string }): Promise<number> {
      const { silence } = req;
      const alerts = await firingAlertsMatching(redis, silence.matchers);
      if (alerts.length === 0 || !slack.client) return 0;
      const byChannel = new Map<string, typeof alerts>();
      for (const alert of alerts) {
        const raw = await redis.hget(memoryKey(alert.fingerprint), 'channels');
        for (const channel of raw ? (JSON.parse(raw) as string[]) : []) byChannel.set(channel, [...(byChannel.get(channel) ?? []), alert]);
      }
      let sent = 0;
      for (const [channel, here] of byChannel) {
        const list = here.slice(0, 20).map((a) => `• ${a.rule} — ${a.service}/${a.instance} (${a.severity}, ${a.status})`).join('\n');
        const more = here.length > 20 ? `\n… and ${here.length - 20} more` : '';
        const text =
          req.transition === 'created'
            ? `:mute: Silence ${silence.id} by ${silence.createdBy} mutes ${here.length} firing alert(s) here until ${new Date(silence.endsAtMs).toISOString()}${silence.comment ? ` — ${silence.comment}` : ''}. ${describeMatchers(silence.matchers)}\n${list}${more}`
            : req.replacedBy
              ? `:pencil2: Silence ${silence.id} was edited by ${req.by ?? 'someone'} into ${req.replacedBy}: ${here.length} alert(s) firing here stay muted by it while it matches them.\n${list}${more}`
              : `:loud_sound: Silence ${silence.id} ${req.by ? `was expired by ${req.by}` : 'has ended'}: ${here.length} alert(s) still firing here notify again now.\n${list}${more}`;
        sent += await sendNotice(`silence:${silence.id}:${req.transition}`, [{ channel: 'slack', to: channel }], `Silence ${silence.id}`, text);
      }
      return sent;
    },

    /**
     * sendHandoffNotice tells the person coming on call (their contacts in the schedule) that their shift starts,
     * once per (schedule, handoff, contact).
     */
    async sendHandoffNotice(req: { schedule: string; timeZone: string; handoff: Handoff; targets: EscalationTarget[] }): Promise<number> {
      const { schedule, handoff } = req;
      const local = (ms: number) => new Date(ms).toLocaleString('en-GB', { timeZone: req.timeZone, dateStyle: 'medium', timeStyle: 'short' });
      const text =
        `:pager: You are on call for ${schedule} from ${local(handoff.atMs)} until ${local(handoff.untilMs)} (${req.timeZone}), taking over from ` +
        `${handoff.outgoing ?? 'nobody (a gap)'}. Who is on call: GET ${config.publicBaseUrl}/api/v1/admin/monitoring/oncall/schedules/${schedule}/oncall`;
      return sendNotice(`oncall:${schedule}:handoff:${handoff.atMs}:${handoff.incoming}`, req.targets, `On call for ${schedule} from ${local(handoff.atMs)} until ${local(handoff.untilMs)} (${req.timeZone})`, text);
    },

    /**
     * deliverGroupNotification sends a group's batch — several alerts, one message — to one target, at most once per
     * key: one Slack message with each alert's buttons, or one e-mail with each alert's signed links.
     */
    async deliverGroupNotification(req: GroupNotificationRequest): Promise<Delivery> {
      const done = await recorded(req.key);
      if (done) return done;
      return counted(req.target.channel, async () => record(await receivers[req.target.channel].sendGroup(req)));
    },

    /**
     * syncPagingIncidents tells the paging services an alert paged (PagerDuty, Opsgenie) that it was acknowledged or
     * resolved here, so their incident follows; once per (delivery, status) — a retry after a lost answer repeats
     * an acknowledge or resolve, which both services take as a no-op.
     */
    async syncPagingIncidents(req: { fingerprint: string; status: NotificationState['status']; by?: string; deliveries: Array<{ key: string; channel: 'pagerduty' | 'opsgenie'; to: string }> }): Promise<number> {
      let synced = 0;
      for (const d of req.deliveries) {
        // A group's batch delivery is shared by its alerts: each alert's incident is told on its own.
        const key = `${d.key}:${req.fingerprint}:${req.status}`;
        if (await recorded(key)) continue;
        await receivers[d.channel].sync(d.to, req.fingerprint, req.status, req.by);
        await record({ key, channel: d.channel, to: d.to, status: 202 });
        synced++;
      }
      return synced;
    },

    /** updateGroupSlackMessages redraws a group's batch messages in place with each alert's current state. */
    async updateGroupSlackMessages(
      req: Pick<GroupNotificationRequest, 'group'> & { messages: Array<{ slackChannel: string; ts: string } & Pick<GroupNotificationRequest, 'items' | 'counts'>> },
    ): Promise<number> {
      let updated = 0;
      for (const m of req.messages) {
        const message = slackGroupMessage(groupedOf(m), req.group.labels, workflowUrl(req.group.workflowId), m.counts);
        if (await slack.redraw(m, message)) updated++;
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
      let updated = 0;
      for (const m of req.messages) {
        const message = slackMessage(notificationOf({ ...req, step: m.step }), req.state);
        if (await slack.redraw(m, message)) updated++;
      }
      return updated;
    },
  };
}
