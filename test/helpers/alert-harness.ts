import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import type { NotificationRequest } from '../../activities/notify';
import type { AlertInput, AlertOutcome, HistoryRow, Observation } from '../../core/alert';
import type { FiringMemory } from '../../core/dedup';
import { parseEscalationPolicy, type EscalationPolicy } from '../../core/escalation';
import { parseRuleDocument } from '../../core/rules';
import type { ActiveAlert } from '../../core/types';
import { uniqueName, workflowBundle } from './stack';

const [rule] = parseRuleDocument(
  'seed:\n  system_health:\n    - {name: high_cpu_usage, expression: "cpu_usage_percent > 80", duration: 5m, severity: warning}\n',
).flatMap((g) => g.rules);

/** POLICY pages the on-call in Slack and by e-mail, the lead after 5 minutes, and repeats once. */
export const POLICY = parseEscalationPolicy(
  {
    name: 'ml-team-oncall',
    repeat: 1,
    steps: [
      { wait: '5m', targets: [{ slack: '#ml-alerts' }, { email: 'oncall@example.com' }] },
      { wait: '15m', targets: [{ slack: '#ml-alerts' }, { email: 'lead@example.com' }] },
    ],
  },
  'policy',
);

/**
 * alertHarness runs alertLifecycleWorkflow on Temporal's time-skipping server with recorded activities (history
 * rows, active alerts, deliveries, Slack redraws): `runAlert` starts an alert of the seed's high_cpu_usage rule
 * (5-minute `for`) and plays a script of observations against it.
 */
export function alertHarness(envOf: () => TestWorkflowEnvironment) {
  type Handle = Awaited<ReturnType<TestWorkflowEnvironment['client']['workflow']['start']>>;
  async function runAlert(
    script: (signal: (o: Omit<Observation, 'atMs'>) => Promise<void>, handle: Handle, active: Map<string, ActiveAlert>) => Promise<void>,
    extra: Partial<AlertInput> = {},
    options: {
      policy?: EscalationPolicy;
      failChannel?: 'slack' | 'email';
      memory?: Map<string, FiringMemory>;
      mutedUntilMs?: number;
      snapshotFails?: boolean;
      /** The rule's evaluation stretch at a given time (redisKeys.ruleCoverage); none recorded by default. */
      coverage?: (nowMs: number) => { sinceMs: number; lastMs: number } | undefined;
      /** Real milliseconds an activity takes (finishing order differing from scheduling order, as on a real stack). */
      delaysMs?: Partial<Record<string, number>>;
    } = {},
  ) {
    const env = envOf();
    const history: HistoryRow[] = [];
    const active = new Map<string, ActiveAlert>();
    const sent: Array<NotificationRequest & { atMs: number }> = [];
    const redraws: Array<{ keys: string[]; status: string; by?: string; note?: string; atMs: number }> = [];
    const announced: Array<{ transition: string; level?: number; round?: number; silenceId?: string; atMs: number }> = [];
    const memory = options.memory ?? new Map<string, FiringMemory>();
    const activities: Pick<
      Activities,
      | 'setActiveAlert'
      | 'closeActiveAlert'
      | 'recordAlertTransition'
      | 'settleUnfiredAlert'
      | 'escalationSnapshot'
      | 'deliverNotification'
      | 'updateSlackMessages'
      | 'recallFirings'
      | 'rememberNotified'
      | 'rememberResolved'
      | 'notificationGate'
      | 'ruleCoverage'
      | 'publishEscalation'
      | 'publishMuteTransition'
    > = {
      // The alert stream's announcements, as the workflow asks for them (no stream here).
      async publishEscalation(req) {
        announced.push({ transition: 'escalated', level: req.level, round: req.round, atMs: await env.currentTimeMs() });
      },
      async publishMuteTransition(req) {
        announced.push({ transition: req.transition, silenceId: req.silenceId, atMs: await env.currentTimeMs() });
      },
      async ruleCoverage() {
        return options.coverage?.(await env.currentTimeMs());
      },
      async notificationGate() {
        const until = options.mutedUntilMs;
        if (until === undefined) return { muted: false, reason: 'not silenced or inhibited' };
        return (await env.currentTimeMs()) < until
          ? { muted: true, reason: 'silenced by silence_test', untilMs: until, silenceId: 'silence_test' }
          : { muted: false, reason: 'not silenced or inhibited' };
      },
      async escalationSnapshot() {
        if (options.snapshotFails) throw new Error('config/escalation.yaml: policies[0].steps: expected at least one step');
        return { policy: options.policy ?? POLICY, dedup: { windowMs: 300_000, maxPerHour: 2 }, timeoutMs: 30_000, maxAttempts: 2 };
      },
      async recallFirings(fp) {
        const m = memory.get(fp);
        return m ? { ...m, notifiedAtMs: [...m.notifiedAtMs], messages: [...m.messages] } : { notifiedAtMs: [], messages: [] };
      },
      async rememberNotified(fp, atMs, messages) {
        const m = memory.get(fp) ?? { notifiedAtMs: [], messages: [] };
        if (atMs !== undefined && !m.notifiedAtMs.includes(atMs)) m.notifiedAtMs.push(atMs);
        memory.set(fp, { ...m, messages });
      },
      async rememberResolved(fp, atMs) {
        memory.set(fp, { ...(memory.get(fp) ?? { notifiedAtMs: [], messages: [] }), lastResolvedAtMs: atMs });
      },
      async deliverNotification(req) {
        if (options.failChannel === req.target.channel) throw ApplicationFailure.nonRetryable('channel down');
        sent.push({ ...req, atMs: await env.currentTimeMs() });
        return req.target.channel === 'slack'
          ? { key: req.key, channel: 'slack', to: req.target.to, slackChannel: 'C0ALERTS', ts: `${sent.length}.000` }
          : { key: req.key, channel: 'email', to: req.target.to, messageId: `<${sent.length}@test>` };
      },
      async updateSlackMessages(req) {
        redraws.push({
          keys: req.messages.map((m) => m.ts),
          status: req.state.status,
          ...(req.state.acknowledgedBy ? { by: req.state.acknowledgedBy } : {}),
          ...(req.state.note ? { note: req.state.note } : {}),
          atMs: await env.currentTimeMs(),
        });
        return req.messages.length;
      },
      async setActiveAlert(alert) {
        active.set(alert.alert_id, alert);
      },
      async closeActiveAlert(alert) {
        active.delete(alert.alert_id);
      },
      async recordAlertTransition(row) {
        history.push(row);
      },
      async settleUnfiredAlert(row) {
        if (!history.some((h) => h.alert_id === row.alert_id && h.status === 'firing') || history.some((h) => h.alert_id === row.alert_id && h.status === 'resolved')) return false;
        history.push(row);
        return true;
      },
    };
    const taskQueue = uniqueName('lifecycle');
    const delayed = Object.fromEntries(
      Object.entries(activities).map(([name, fn]) => {
        const ms = options.delaysMs?.[name];
        const f = fn as (...args: unknown[]) => Promise<unknown>;
        return [name, ms ? async (...args: unknown[]) => (await new Promise((resolve) => setTimeout(resolve, ms)), f(...args)) : f];
      }),
    );
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: workflowBundle(), activities: delayed });
    const startMs = await env.currentTimeMs();
    const input: AlertInput = {
      fingerprint: 'f1',
      rule: rule!,
      labels: { service: 'ml-inference' },
      service: 'ml-inference',
      instance: 'i-1',
      firstBreach: { breaching: true, value: 87, atMs: startMs },
      staleAfterMs: 120_000,
      ...extra,
    };
    let handle: Handle | undefined;
    const outcome = await worker.runUntil(async () => {
      handle = await env.client.workflow.start('alertLifecycleWorkflow', { taskQueue, workflowId: uniqueName('alert'), args: [input] });
      await script(async (o) => handle!.signal('observe', { ...o, atMs: await env.currentTimeMs() }), handle, active);
      return (await handle.result()) as AlertOutcome;
    });
    /** replay replays the run's recorded history against the workflow code, as a new worker would after a kill. */
    const replay = async () => Worker.runReplayHistory({ workflowBundle: workflowBundle() }, await handle!.fetchHistory(), handle!.workflowId);
    return { outcome, history, active, startMs, sent, redraws, announced, replay };
  }

  /** fireFor breaches every 30 s for 5.5 minutes: past the rule's 5-minute `for`, the alert fires. */
  const fireFor = async (observe: (o: Omit<Observation, 'atMs'>) => Promise<void>) => {
    const env = envOf();
    for (let i = 0; i < 11; i++) {
      await env.sleep('30s');
      await observe({ breaching: true, value: 91 });
    }
  };

  return { runAlert, fireFor };
}
