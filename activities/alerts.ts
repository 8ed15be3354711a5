import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type Redis from 'ioredis';
import { ALERT_OBSERVE_SIGNAL, ALERT_WORKFLOW_TYPE, type AlertInput, type Observation } from '../core/alert';
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

/** createAlertDispatchActivities builds the activity that turns a rule's evaluated series into alert workflow messages. */
export function createAlertDispatchActivities({ temporal, redis, taskQueue }: AlertDispatchDeps) {
  return {
    /**
     * dispatchObservations signals (or starts) `alert/<fingerprint>` for every breaching series — a repeated breach
     * reaches the running workflow instead of starting a second one — and tells the open alerts of this rule whose
     * series no longer breach that their condition cleared.
     */
    async dispatchObservations(rule: Rule, series: SeriesValue[], nowMs: number, staleAfterMs: number): Promise<DispatchSummary> {
      const openKey = redisKeys.openAlerts(rule.name);
      const open = new Set(await redis.smembers(openKey));
      let breaching = 0;
      let cleared = 0;
      for (const s of series) {
        const labels = { ...seriesLabels(s), ...rule.labels };
        const fp = fingerprint(rule.name, labels);
        const workflowId = alertWorkflowId(fp);
        const observation: Observation = { breaching: compare(s.value, rule.condition.op, rule.condition.threshold), value: s.value, atMs: nowMs };
        if (observation.breaching) {
          breaching++;
          const input: AlertInput = { fingerprint: fp, rule, labels, service: s.service, instance: s.instance, firstBreach: observation, staleAfterMs };
          await temporal.workflow.signalWithStart(ALERT_WORKFLOW_TYPE, {
            workflowId,
            taskQueue,
            args: [input],
            signal: ALERT_OBSERVE_SIGNAL,
            signalArgs: [observation],
          });
          if (!open.has(fp)) await redis.sadd(openKey, fp);
        } else if (open.has(fp)) {
          try {
            await temporal.workflow.getHandle(workflowId).signal(ALERT_OBSERVE_SIGNAL, observation);
            cleared++;
          } catch (err) {
            if (!(err instanceof WorkflowNotFoundError)) throw err;
            // The workflow already ended (it removes itself too); drop the stale membership.
            await redis.srem(openKey, fp);
          }
        }
      }
      return { rule: rule.name, series: series.length, breaching, cleared };
    },
  };
}
