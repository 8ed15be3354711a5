import { QueryNotRegisteredError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type Redis from 'ioredis';
import {
  ALERT_ACKNOWLEDGE_UPDATE,
  ALERT_OBSERVE_SIGNAL,
  ALERT_RESOLVE_UPDATE,
  ALERT_STATE_QUERY,
  ALERT_WORKFLOW_TYPE,
  workflowIdOfAlert,
  type AlertAction,
  type AlertInput,
  type AlertView,
  type Observation,
} from '../core/alert';
import { alertWorkflowId, fingerprint } from '../core/fingerprint';
import { seriesLabels, type SeriesValue } from '../core/rule-sql';
import { compare, type Rule } from '../core/rules';
import { redisKeys } from './redis';

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

/** openAlertSets reads, per rule, the fingerprints of its open alerts (those whose workflow may still run). */
export async function openAlertSets(redis: Redis, rules: readonly Rule[]): Promise<Array<Set<string>>> {
  const pipeline = redis.pipeline();
  for (const rule of rules) pipeline.smembers(redisKeys.openAlerts(rule.name));
  const replies = (await pipeline.exec()) ?? [];
  return rules.map((_, i) => {
    const [err, members] = replies[i] ?? [new Error('no reply'), null];
    if (err) throw err;
    return new Set(members as string[]);
  });
}

/**
 * dispatchGroup sends a group's verdicts: it signals (or starts) `alert/<fingerprint>` for every breaching series —
 * a repeated breach reaches the running workflow instead of starting a second one — and tells the open alerts whose
 * series no longer breach that their condition cleared. New breaches of every rule go first, so a fresh alert never
 * waits behind the heartbeats of a thousand open ones; `concurrency` calls are in flight at once.
 */
export async function dispatchGroup(
  { temporal, redis, taskQueue }: AlertDispatchDeps,
  rules: readonly Rule[],
  seriesPerRule: ReadonlyArray<readonly SeriesValue[]>,
  nowMs: number,
  staleAfterMs: number,
  openSets: ReadonlyArray<ReadonlySet<string>>,
  concurrency = 16,
): Promise<DispatchSummary[]> {
  const fresh: Array<() => Promise<void>> = [];
  const known: Array<() => Promise<void>> = [];
  const summaries = rules.map((rule, index) => {
    const summary: DispatchSummary = { rule: rule.name, series: 0, breaching: 0, cleared: 0 };
    const open = openSets[index]!;
    const openKey = redisKeys.openAlerts(rule.name);
    for (const s of seriesPerRule[index] ?? []) {
      summary.series++;
      const labels = { ...seriesLabels(s), ...rule.labels };
      const fp = fingerprint(rule.name, labels);
      const workflowId = alertWorkflowId(fp);
      const observation: Observation = { breaching: compare(s.value, rule.condition.op, rule.condition.threshold), value: s.value, atMs: nowMs };
      if (observation.breaching) {
        summary.breaching++;
        // An expression aggregated away from `service` belongs to the rule's service label, or to the platform.
        const service = s.service || rule.labels.service || 'platform';
        const input: AlertInput = { fingerprint: fp, rule, labels, service, instance: s.instance, firstBreach: observation, staleAfterMs };
        (open.has(fp) ? known : fresh).push(async () => {
          await temporal.workflow.signalWithStart(ALERT_WORKFLOW_TYPE, { workflowId, taskQueue, args: [input], signal: ALERT_OBSERVE_SIGNAL, signalArgs: [observation] });
          if (!open.has(fp)) await redis.sadd(openKey, fp);
        });
      } else if (open.has(fp)) {
        known.push(async () => {
          try {
            await temporal.workflow.getHandle(workflowId).signal(ALERT_OBSERVE_SIGNAL, observation);
            summary.cleared++;
          } catch (err) {
            if (!(err instanceof WorkflowNotFoundError)) throw err;
            // The workflow already ended (it removes itself too); drop the stale membership.
            await redis.srem(openKey, fp);
          }
        });
      }
    }
    return summary;
  });
  await runLimited([...fresh, ...known], concurrency);
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
  return {
    /** describeAlert reads the current state of an alert's workflow; not-found when it has ended or is another occurrence. */
    async describeAlert(alertId: string): Promise<AlertView> {
      try {
        const view = await within(() => handleOf(alertId).query<AlertView>(ALERT_STATE_QUERY));
        if (view.alertId !== alertId) throw new AlertCommandError('not-found', `alert ${alertId} has ended; ${view.alertId} is the current occurrence`);
        return view;
      } catch (err) {
        if (err instanceof AlertCommandError) throw err;
        return translate(alertId, err);
      }
    },
    /** acknowledgeAlert applies the acknowledge update and returns the alert as it now stands. */
    async acknowledgeAlert(alertId: string, action: AlertAction): Promise<AlertView> {
      return within(() => handleOf(alertId).executeUpdate<AlertView, [AlertAction]>(ALERT_ACKNOWLEDGE_UPDATE, { args: [{ ...action, alertId }] })).catch(
        (err: unknown) => translate(alertId, err),
      );
    },
    /** resolveAlert applies the resolve update; the workflow records the resolution and ends. */
    async resolveAlert(alertId: string, action: AlertAction): Promise<AlertView> {
      return within(() => handleOf(alertId).executeUpdate<AlertView, [AlertAction]>(ALERT_RESOLVE_UPDATE, { args: [{ ...action, alertId }] })).catch(
        (err: unknown) => translate(alertId, err),
      );
    },
  };
}
