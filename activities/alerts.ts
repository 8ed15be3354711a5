import { QueryNotRegisteredError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type Redis from 'ioredis';
import {
  alertLabels,
  seriesAlertLabels,
  workflowIdOfAlert,
  type AlertAction,
  type AlertInput,
  type AlertView,
  type Observation,
} from '../core/alert';
import { alertWorkflowId, fingerprint } from '../core/fingerprint';
import { seriesLabels, type SeriesValue } from '../core/rule-sql';
import { compare, isShadow, type Rule } from '../core/rules';
import { TASK_PRIORITY } from '../core/types';
import { mustSignal, silenceLimitMs, vanished, type Heartbeat } from '../core/dedup';
import { nextCoverage, redisKeys, type RuleCoverage } from '../store/redis';
import { alertLifecycleWorkflow } from '../workflows/alert-lifecycle';
import { acknowledgeUpdate, observeSignal, resolveUpdate, stateQuery } from '../workflows/messages';

/** AlertDispatchDeps are what the alert dispatch activity needs: a Temporal client to reach alert workflows. */
export interface AlertDispatchDeps {
  temporal: Client;
  redis: Redis;
  taskQueue: string;
}

/** DispatchSummary counts what one rule's evaluation sent. */
export interface DispatchSummary {
  rule: string;
  series: number;
  breaching: number;
  cleared: number;
}

/** OpenAlerts are a rule's open alerts (fingerprints) and what the evaluator last told each. */
export interface OpenAlerts {
  open: Set<string>;
  beats: Map<string, Heartbeat>;
  /** The rule's stretch of evaluations so far (see redisKeys.ruleCoverage). */
  coverage?: RuleCoverage;
}

/** openAlertsOf reads, per rule, its open alerts, their heartbeats and the rule's evaluation stretch, in one round trip. */
export async function openAlertsOf(redis: Redis, rules: readonly Rule[]): Promise<OpenAlerts[]> {
  const pipeline = redis.pipeline();
  for (const rule of rules) pipeline.smembers(redisKeys.openAlerts(rule.name)).hgetall(redisKeys.alertHeartbeats(rule.name)).hget(redisKeys.ruleCoverage, rule.name);
  const replies = (await pipeline.exec()) ?? [];
  return rules.map((_, i) => {
    const [membersErr, members] = replies[3 * i] ?? [new Error('no reply'), null];
    const [beatsErr, beats] = replies[3 * i + 1] ?? [new Error('no reply'), null];
    const [coverageErr, coverage] = replies[3 * i + 2] ?? [new Error('no reply'), null];
    if (membersErr || beatsErr || coverageErr) throw membersErr ?? beatsErr ?? coverageErr;
    return {
      open: new Set(members as string[]),
      beats: new Map(Object.entries(beats as Record<string, string>).map(([fp, json]) => [fp, JSON.parse(json) as Heartbeat])),
      ...(coverage ? { coverage: JSON.parse(coverage as string) as RuleCoverage } : {}),
    };
  });
}

/**
 * dispatchGroup sends a group's verdicts: it signals (or starts) `alert/<fingerprint>` for every breaching series —
 * a repeated breach reaches the running workflow instead of starting a second one —, tells the open alerts whose
 * series no longer breach that their condition cleared, and those whose series the rule has been evaluated without
 * for `staleAfterMs` that it vanished. New breaches of every rule go first, so a fresh alert never waits behind the
 * open ones; a steady breach is re-sent only as often as core/dedup.ts's mustSignal says (a sign of life against the
 * workflow's silence limit); `concurrency` calls are in flight at once. The open alerts' values go to Redis for the
 * dashboard, and each open alert's heartbeat records when its series was last seen.
 */
export async function dispatchGroup(
  { temporal, redis, taskQueue }: AlertDispatchDeps,
  rules: readonly Rule[],
  seriesPerRule: ReadonlyArray<readonly SeriesValue[]>,
  timing: { nowMs: number; intervalMs: number; staleAfterMs: number },
  openAlerts: readonly OpenAlerts[],
  concurrency = 16,
): Promise<DispatchSummary[]> {
  const { nowMs, intervalMs, staleAfterMs } = timing;
  const fresh: Array<() => Promise<void>> = [];
  const known: Array<() => Promise<void>> = [];
  const records = redis.pipeline();
  // Written before any signal (see redisKeys.firingNow); an entry lasts two intervals unless the series clears.
  const firingNow = redis.pipeline();
  const summaries = rules.map((rule, index) => {
    const summary: DispatchSummary = { rule: rule.name, series: 0, breaching: 0, cleared: 0 };
    const { open, beats, coverage: previousCoverage } = openAlerts[index]!;
    const coverage = nextCoverage(previousCoverage, nowMs, intervalMs);
    records.hset(redisKeys.ruleCoverage, rule.name, JSON.stringify(coverage));
    const openKey = redisKeys.openAlerts(rule.name);
    const beatsKey = redisKeys.alertHeartbeats(rule.name);
    const remember = (fp: string, beat: Heartbeat) => records.hset(beatsKey, fp, JSON.stringify(beat));
    /** tell signals an open alert's workflow; one that already ended (it removes itself too) loses its membership. */
    const tell = (fp: string, observation: Observation, told: () => void) =>
      known.push(async () => {
        try {
          await temporal.workflow.getHandle(alertWorkflowId(fp)).signal(observeSignal, observation);
          told();
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          await redis.srem(openKey, fp);
        }
      });
    const seen = new Set<string>();
    for (const s of seriesPerRule[index] ?? []) {
      summary.series++;
      const own = seriesLabels(s);
      const labels = seriesAlertLabels(rule, own, s.value);
      const fp = fingerprint(rule.name, labels);
      seen.add(fp);
      const observation: Observation = { breaching: s.breaching ?? compare(s.value, rule.condition.op, rule.condition.threshold), value: s.value, atMs: nowMs };
      // An expression aggregated away from `service` belongs to the rule's service label, or to the platform.
      const service = s.service || rule.labels.service || 'platform';
      // A heartbeat left behind by an alert that ended meanwhile says nothing about a new one.
      const beat = open.has(fp) ? beats.get(fp) : undefined;
      const signalled = (): void => {
        remember(fp, { firstMs: beat?.breaching && observation.breaching ? beat.firstMs : nowMs, lastMs: nowMs, breaching: observation.breaching, seenMs: nowMs });
      };
      if (open.has(fp)) {
        records.hset(redisKeys.alertValues(service), fp, JSON.stringify({ value: s.value, atMs: nowMs }));
        // Seen now; overwritten below if this verdict is also told.
        if (beat) remember(fp, { firstMs: beat.firstMs, lastMs: beat.lastMs, breaching: beat.breaching, seenMs: nowMs });
      }
      if (observation.breaching) {
        summary.breaching++;
        const breachingSinceMs = beat?.breaching ? beat.firstMs : nowMs;
        // (A shadow rule's alerts inhibit nothing.)
        if (nowMs - breachingSinceMs >= rule.durationMs && !isShadow(rule)) {
          const key = redisKeys.firingNow(service);
          firingNow.hset(key, fp, JSON.stringify({ labels: alertLabels({ labels, rule, service, instance: s.instance }), untilMs: nowMs + 2 * intervalMs }));
          firingNow.pexpire(key, 3 * intervalMs);
        }
        if (open.has(fp) && !mustSignal(beat, true, nowMs, rule.durationMs, intervalMs, fp)) continue;
        // An anomaly's explanation (expected band, score, method, reason) travels in the opening alert's annotations.
        const alertRule = s.annotations ? { ...rule, annotations: { ...rule.annotations, ...s.annotations } } : rule;
        const input: AlertInput = { fingerprint: fp, rule: alertRule, labels, service, instance: s.instance, firstBreach: observation, staleAfterMs: silenceLimitMs(intervalMs) };
        (open.has(fp) ? known : fresh).push(async () => {
          await temporal.workflow.signalWithStart(alertLifecycleWorkflow, {
            workflowId: alertWorkflowId(fp),
            taskQueue,
            args: [input],
            signal: observeSignal,
            signalArgs: [observation],
            priority: { priorityKey: TASK_PRIORITY[rule.severity] },
          });
          if (!open.has(fp)) await redis.sadd(openKey, fp);
          signalled();
        });
      } else if (open.has(fp)) {
        firingNow.hdel(redisKeys.firingNow(service), fp);
        tell(fp, observation, () => {
          summary.cleared++;
          signalled();
        });
      }
    }
    // Open alerts whose series this evaluation did not return: told once the rule went the stale period without it.
    if (rule.noData !== 'keep') {
      for (const fp of open) {
        const beat = beats.get(fp);
        if (seen.has(fp) || !beat || !vanished(beat, nowMs, coverage.sinceMs, staleAfterMs, intervalMs)) continue;
        tell(fp, { breaching: beat.breaching, value: 0, atMs: nowMs, stale: true }, () => remember(fp, { ...beat, staleMs: nowMs }));
      }
    }
    return summary;
  });
  const marked = await firingNow.exec();
  const markFailed = marked?.find(([err]) => err);
  if (markFailed) throw markFailed[0];
  await runLimited([...fresh, ...known], concurrency);
  const written = await records.exec();
  const failed = written?.find(([err]) => err);
  if (failed) throw failed[0];
  return summaries;
}

/** runLimited runs tasks in order with at most `limit` in flight, and fails with the first error once all settle. */
async function runLimited(tasks: ReadonlyArray<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  let failure: unknown;
  const lane = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      await task().catch((err: unknown) => {
        failure ??= err;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
  if (failure !== undefined) throw failure;
}

/** AlertCommandError says why an acknowledge or resolve did not apply: unknown alert (404) or refused (409). */
export class AlertCommandError extends Error {
  constructor(
    readonly kind: 'not-found' | 'refused',
    message: string,
  ) {
    super(message);
    this.name = 'AlertCommandError';
  }
}

/**
 * createAlertCommands builds the operations people perform on an alert through its workflow's updates. Each call
 * has a deadline, so a person clicking Acknowledge while Temporal is down gets an answer (503) within seconds.
 */
export function createAlertCommands(temporal: Client, deadlineMs = 5000) {
  const within = <T>(fn: () => Promise<T>) => temporal.withDeadline(Date.now() + deadlineMs, fn);
  const handleOf = (alertId: string) => {
    const workflowId = workflowIdOfAlert(alertId);
    if (!workflowId) throw new AlertCommandError('not-found', `no alert ${alertId}`);
    return temporal.workflow.getHandle(workflowId);
  };
  const translate = (alertId: string, err: unknown): never => {
    if (err instanceof WorkflowNotFoundError || (err instanceof QueryNotRegisteredError)) throw new AlertCommandError('not-found', `no active alert ${alertId}`);
    if (err instanceof WorkflowUpdateFailedError) throw new AlertCommandError('refused', (err.cause as Error | undefined)?.message ?? err.message);
    throw err;
  };
  /**
   * translateUpdate is translate for an update: one that finds the workflow just ended (an ack racing the resolution
   * that completed it) is refused (409) as too late, like one the workflow itself refuses; 404 stays for no such alert.
   */
  const translateUpdate = async (alertId: string, err: unknown): Promise<never> => {
    if (err instanceof WorkflowNotFoundError) {
      const closed = await within(() => handleOf(alertId).describe()).catch(() => undefined);
      if (closed && closed.status.name !== 'RUNNING') throw new AlertCommandError('refused', `alert ${alertId} has already ended`);
    }
    return translate(alertId, err);
  };
  return {
    /** describeAlert reads the current state of an alert's workflow; not-found when it has ended or is another occurrence. */
    async describeAlert(alertId: string): Promise<AlertView> {
      try {
        const view = await within(() => handleOf(alertId).query(stateQuery));
        if (view.alertId !== alertId) throw new AlertCommandError('not-found', `alert ${alertId} has ended; ${view.alertId} is the current occurrence`);
        return view;
      } catch (err) {
        if (err instanceof AlertCommandError) throw err;
        return translate(alertId, err);
      }
    },
    /** currentAlertOf is the occurrence of a series that is open now (its workflow's alert id), or undefined. */
    async currentAlertOf(fingerprint: string): Promise<string | undefined> {
      try {
        return (await within(() => temporal.workflow.getHandle(alertWorkflowId(fingerprint)).query(stateQuery))).alertId;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError || err instanceof QueryNotRegisteredError) return undefined;
        throw err;
      }
    },
    /** acknowledgeAlert applies the acknowledge update and returns the alert as it now stands. */
    async acknowledgeAlert(alertId: string, action: AlertAction): Promise<AlertView> {
      return within(() => handleOf(alertId).executeUpdate(acknowledgeUpdate, { args: [{ ...action, alertId }] })).catch(
        (err: unknown) => translateUpdate(alertId, err),
      );
    },
    /** resolveAlert applies the resolve update; the workflow records the resolution and ends. */
    async resolveAlert(alertId: string, action: AlertAction): Promise<AlertView> {
      return within(() => handleOf(alertId).executeUpdate(resolveUpdate, { args: [{ ...action, alertId }] })).catch(
        (err: unknown) => translateUpdate(alertId, err),
      );
    },
  };
}
