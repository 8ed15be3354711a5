/**
 * Rule backtests (issue 20, part 7), pure: a rule replayed over stored history on a simulated clock. Each evaluation
 * instant's verdict per series (what the live evaluator would have told the alert: breaching, clear, or nothing)
 * drives the very lifecycle machine the alert workflows run (core/alert-machine.ts: `for`, `keep_firing_for`, stale
 * series), the re-fire decision (core/dedup.ts), the notification gate's silences, inhibition and dependency as they
 * were (core/silences.ts), grouping's group_wait/group_interval and the escalation plan's steps and waits
 * (core/escalation.ts). Nobody acknowledges a replayed alert: it escalates until it resolves. The answer is the
 * alerts and notifications the rule would have produced, and a diff against what was recorded live.
 */
import { alertLabels, seriesAlertLabels, type AlertInput, type Observation } from './alert';
import { initialState, next, type LifecycleCommand, type LifecycleState } from './alert-machine';
import { refireDecision, type DedupPolicy, type FiringMemory } from './dedup';
import { escalationPlan, type EscalationPolicy, type EscalationTarget } from './escalation';
import { fingerprint } from './fingerprint';
import { alertGroup } from './grouping';
import { notificationMute, type Dependency, type InhibitRule, type Silence } from './silences';
import { seriesLabels } from './rule-sql';
import type { Rule } from './rules';
import type { Labels } from './types';

/** SeriesVerdicts is one series of the rule at each evaluation instant: breaching, clear, or absent (undefined). */
export interface SeriesVerdicts {
  service: string;
  instance: string;
  labels: Labels;
  /** By evaluation instant (index into BacktestInput.instants). */
  verdicts: Array<{ breaching: boolean; value: number } | undefined>;
}

/** FiringSpan is another alert firing from–to (for inhibition and dependencies as they were), with its labels. */
export interface FiringSpan {
  labels: Labels;
  fromMs: number;
  toMs: number;
}

/** BacktestInput is everything a replay reads, already fetched. */
export interface BacktestInput {
  rule: Rule;
  instants: number[];
  intervalMs: number;
  series: SeriesVerdicts[];
  policy: EscalationPolicy;
  dedup: DedupPolicy;
  silences: Silence[];
  inhibitRules: InhibitRule[];
  /** Other alerts' firing spans (alert_history), for inhibition and the rule's dependency. */
  firing: FiringSpan[];
}

/** BacktestNotification is one page the replay would have sent, or held back and why. */
export interface BacktestNotification {
  at: string;
  level: number;
  round: number;
  targets: string[];
  /** Set when it went through the alert's notification group (batched). */
  group?: string;
  /** Why it was held back (a silence, an inhibition, the parent firing), and until when it waited. */
  heldBack?: string;
}

/** BacktestAlert is one alert occurrence of the replay. */
export interface BacktestAlert {
  fingerprint: string;
  service: string;
  instance: string;
  labels: Labels;
  first_breach: string;
  fired_at: string | null;
  resolved_at: string | null;
  resolution: string;
  /** The re-fire decision (dedup window, flap damping) when it fired. */
  decision?: string;
  notifications: BacktestNotification[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/** muteAt is the notification gate's decision for an alert at an instant, from the state of the world then. */
function muteAt(labels: Labels, input: BacktestInput, atMs: number) {
  const own = (f: FiringSpan) => f.labels.alertname === input.rule.name && f.labels.service === labels.service && f.labels.instance === labels.instance;
  const firingNow = input.firing.filter((f) => f.fromMs <= atMs && atMs < f.toMs && !own(f));
  const sameService = firingNow.filter((f) => f.labels.service === labels.service).map((f) => f.labels);
  const dependency: Dependency | undefined = input.rule.dependsOn;
  return notificationMute(labels, input.silences, sameService, input.inhibitRules, atMs, dependency ? { on: dependency, firingEverywhere: firingNow.map((f) => f.labels) } : undefined);
}

/**
 * pagesOf plans an alert's notifications from its firing until its end: each step of the policy at its time — held
 * while muted (re-checked every evaluation, as the live gate re-checks within a minute) — or through its group,
 * whose batches go at group_wait after the group's first alert and then every group_interval.
 */
function pagesOf(input: BacktestInput, labels: Labels, firedAtMs: number, endMs: number, groupClock: Map<string, number>): BacktestNotification[] {
  const out: BacktestNotification[] = [];
  const { policy } = input;
  let at = firedAtMs;
  for (const step of escalationPlan(policy)) {
    if (at >= endMs) break;
    // Held back while a silence, inhibition or the parent mutes it.
    const heldFrom = at;
    const heldBy = muteAt(labels, input, at);
    for (let mute = heldBy; mute.muted && at < endMs; mute = muteAt(labels, input, at)) at += Math.min(input.intervalMs, 60_000);
    if (at >= endMs) {
      out.push({ at: iso(heldFrom), level: step.level, round: step.round, targets: targetsOf(step.targets, step.oncall), heldBack: heldBy.reason });
      break;
    }
    let sentAt = at;
    let group: string | undefined;
    if (policy.grouping && step.index === 0) {
      const g = alertGroup('backtest', policy.name, policy.grouping, { alertname: input.rule.name, ...labels });
      group = g.workflowId;
      const first = groupClock.get(group);
      // A group's first batch waits group_wait; a later one goes at the next group_interval boundary after it.
      if (first === undefined || at >= first + 24 * 3_600_000) {
        sentAt = at + policy.grouping.groupWaitMs;
        groupClock.set(group, sentAt);
      } else sentAt = at <= first ? first : first + Math.ceil((at - first) / policy.grouping.groupIntervalMs) * policy.grouping.groupIntervalMs;
      if (sentAt >= endMs) break;
    }
    out.push({ at: iso(sentAt), level: step.level, round: step.round, targets: targetsOf(step.targets, step.oncall), ...(group ? { group } : {}), ...(heldFrom !== at ? { heldBack: `held from ${iso(heldFrom)}: ${heldBy.reason}` } : {}) });
    at = sentAt + step.waitMs;
  }
  return out;
}

function targetsOf(targets: readonly EscalationTarget[], oncall: readonly string[] | undefined): string[] {
  return [...targets.map((t) => `${t.channel}:${t.to}`), ...(oncall ?? []).map((s) => `oncall:${s}`)];
}

/**
 * backtestRule replays the rule over the evaluation instants and returns every alert occurrence it would have had,
 * with its notifications. `onProgress` hears how many series are done.
 */
export function backtestRule(input: BacktestInput, onProgress: (done: number, total: number) => void = () => undefined): BacktestAlert[] {
  const alerts: BacktestAlert[] = [];
  const groupClock = new Map<string, number>();
  const staleAfterMs = 4 * input.intervalMs;
  input.series.forEach((series, index) => {
    // Labelled as the live dispatch labels the series' alert (its first value for templates that read it).
    const labels = seriesAlertLabels(input.rule, seriesLabels(series), series.verdicts.find(Boolean)?.value ?? 0);
    const fp = fingerprint(input.rule.name, labels);
    const memory: FiringMemory = { notifiedAtMs: [], messages: [] };
    let open: { alertInput: AlertInput; state: LifecycleState; alert: BacktestAlert } | undefined;

    const finish = (state: LifecycleState, commands: LifecycleCommand[], atMs: number) => {
      const current = open!;
      current.state = state;
      for (const c of commands) {
        if (c.type === 'escalate') {
          current.alert.fired_at = iso(atMs);
          const decision = refireDecision(memory, current.alertInput.firstBreach.atMs, atMs, input.dedup);
          current.alert.decision = decision.reason;
          if (decision.notify) memory.notifiedAtMs.push(atMs);
        }
        if (c.type === 'record' && c.status === 'resolved') {
          current.alert.resolved_at = iso(c.atMs);
          current.alert.resolution = c.notes;
        }
        if (c.type === 'rememberResolved') memory.lastResolvedAtMs = c.atMs;
        if (c.type === 'complete') {
          if (current.alert.fired_at) {
            const firedMs = Date.parse(current.alert.fired_at);
            const endMs = current.alert.resolved_at ? Date.parse(current.alert.resolved_at) : Infinity;
            const notifies = !current.alert.decision || !/dedup window|flapping/.test(current.alert.decision);
            if (notifies) current.alert.notifications = pagesOf(input, alertLabels(current.alertInput), firedMs, Math.min(endMs, input.instants[input.instants.length - 1]! + 1), groupClock);
          }
          alerts.push(current.alert);
          open = undefined;
        }
      }
    };

    input.instants.forEach((t, i) => {
      const verdict = series.verdicts[i];
      if (!open) {
        if (!verdict?.breaching) return;
        const firstBreach: Observation = { breaching: true, value: verdict.value, atMs: t };
        const alertInput: AlertInput = { fingerprint: fp, rule: input.rule, labels, service: series.service, instance: series.instance, firstBreach, staleAfterMs } as AlertInput;
        open = {
          alertInput,
          state: initialState(alertInput),
          alert: { fingerprint: fp, service: series.service, instance: series.instance, labels, first_breach: iso(t), fired_at: null, resolved_at: null, resolution: '', notifications: [] },
        };
        const ticked = next(open.state, alertInput, { type: 'tick', now: t, continueAsNewSuggested: false });
        finish(ticked.state, ticked.commands, t);
        return;
      }
      let state = open.state;
      if (verdict) state = next(state, open.alertInput, { type: 'observe', observation: { breaching: verdict.breaching, value: verdict.value, atMs: t } }).state;
      let ticked = next(state, open.alertInput, { type: 'tick', now: t, continueAsNewSuggested: false });
      // The evaluator has run all along (the replay's instants are consecutive): an unseen series is gone.
      if (ticked.commands.some((c) => c.type === 'checkCoverage')) ticked = next(ticked.state, open.alertInput, { type: 'coverage', now: t, unseenMs: t - ticked.state.lastObservedMs });
      finish(ticked.state, ticked.commands, t);
    });
    // Still open at the end of the range: reported as it stands, with the pages it had sent by then.
    if (open) {
      const still = open as { alertInput: AlertInput; alert: BacktestAlert };
      if (still.alert.fired_at && !/dedup window|flapping/.test(still.alert.decision ?? '')) {
        still.alert.notifications = pagesOf(input, alertLabels(still.alertInput), Date.parse(still.alert.fired_at), input.instants[input.instants.length - 1]! + 1, groupClock);
      }
      alerts.push(still.alert);
    }
    onProgress(index + 1, input.series.length);
  });
  return alerts.sort((a, b) => a.first_breach.localeCompare(b.first_breach));
}

/** ActualAlert is one occurrence as alert_history recorded it live. */
export interface ActualAlert {
  alert_id: string;
  service: string;
  instance: string;
  fired_at: string;
  resolved_at: string | null;
}

/** BacktestDiff compares the replay with what happened live, occurrence by occurrence (same series, overlapping). */
export interface BacktestDiff {
  matched: Array<{ service: string; instance: string; alert_id: string; fired_at: string; actual_fired_at: string; fired_delta_s: number; resolved_at: string | null; actual_resolved_at: string | null; resolved_delta_s: number | null }>;
  only_backtest: Array<Pick<BacktestAlert, 'service' | 'instance' | 'fired_at' | 'resolved_at'>>;
  only_actual: ActualAlert[];
}

/**
 * diffAgainstActual pairs each fired replayed (or shadow) alert with the live occurrence of the same series it
 * overlaps.
 */
export function diffAgainstActual(replayed: ReadonlyArray<Pick<BacktestAlert, 'service' | 'instance' | 'fired_at' | 'resolved_at'>>, actual: readonly ActualAlert[], toMs: number): BacktestDiff {
  const diff: BacktestDiff = { matched: [], only_backtest: [], only_actual: [] };
  const unmatched = new Set(actual);
  const span = (from: string, to: string | null) => [Date.parse(from), to ? Date.parse(to) : toMs] as const;
  for (const alert of replayed) {
    if (!alert.fired_at) continue;
    const [a0, a1] = span(alert.fired_at, alert.resolved_at);
    const live = [...unmatched].find((l) => {
      const [b0, b1] = span(l.fired_at, l.resolved_at);
      return l.service === alert.service && l.instance === alert.instance && a0 <= b1 && b0 <= a1;
    });
    if (!live) {
      diff.only_backtest.push({ service: alert.service, instance: alert.instance, fired_at: alert.fired_at, resolved_at: alert.resolved_at });
      continue;
    }
    unmatched.delete(live);
    diff.matched.push({
      service: alert.service,
      instance: alert.instance,
      alert_id: live.alert_id,
      fired_at: alert.fired_at,
      actual_fired_at: live.fired_at,
      fired_delta_s: (Date.parse(alert.fired_at) - Date.parse(live.fired_at)) / 1000,
      resolved_at: alert.resolved_at,
      actual_resolved_at: live.resolved_at,
      resolved_delta_s: alert.resolved_at && live.resolved_at ? (Date.parse(alert.resolved_at) - Date.parse(live.resolved_at)) / 1000 : null,
    });
  }
  diff.only_actual = [...unmatched];
  return diff;
}

/** shadowDiff sums a shadow rule's occurrences against the replaced rule's (what the weekly report shows). */
export function shadowDiff(rule: string, replaces: string, shadow: readonly ActualAlert[], replaced: readonly ActualAlert[], toMs: number) {
  const diff = diffAgainstActual(shadow, replaced, toMs);
  const deltas = diff.matched.map((m) => m.fired_delta_s);
  return {
    rule,
    replaces,
    fired: shadow.length,
    replaced_fired: replaced.length,
    matched: diff.matched.length,
    only_shadow: diff.only_backtest.length,
    only_replaced: diff.only_actual.length,
    mean_fired_delta_s: deltas.length ? Math.round((deltas.reduce((a, b) => a + b, 0) / deltas.length) * 10) / 10 : null,
  };
}
