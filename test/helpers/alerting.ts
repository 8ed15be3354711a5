import type { Client } from '@temporalio/client';
import type { AlertView } from '../../core/alert';
import { alertWorkflowId, fingerprint } from '../../core/fingerprint';
import type { Labels } from '../../core/types';
import { bearer, type TestApi } from './api';
import { eventually, uniqueName } from './stack';

/**
 * breachDriver pushes samples of one series through the API and runs rule evaluations on a task queue, as the
 * evaluation schedule would, for tests that need alerts to fire and clear on the real stack.
 */
export function breachDriver(opts: { api: TestApi; temporal: Client; taskQueue: string; service: string; metric: string }) {
  const { api, temporal, taskQueue, service, metric } = opts;
  const push = async (instance: string, value: number) => {
    const response = await api.app.inject({
      method: 'POST',
      url: '/api/v1/internal/monitoring/metrics',
      headers: bearer('service'),
      payload: { application_metrics: { timestamp: new Date().toISOString(), service_name: service, instance_id: instance, metrics: { [metric]: value } } },
    });
    if (response.statusCode !== 202) throw new Error(`push answered ${response.statusCode}: ${response.body}`);
  };
  const evaluate = () => temporal.workflow.execute('evaluateRulesWorkflow', { taskQueue, workflowId: uniqueName('evaluate'), args: [{ evaluationIntervalMs: 30_000 }] });
  const handleOf = (rule: string, instance: string, labels: Labels = {}) => temporal.workflow.getHandle(alertWorkflowId(fingerprint(rule, { service, instance, ...labels })));
  return {
    push,
    evaluate,
    handleOf,
    /** breach holds the value past a 3 s `for` (two evaluations 3.1 s apart). */
    async breach(instance: string, value: number): Promise<void> {
      await push(instance, value);
      await evaluate();
      await new Promise((resolve) => setTimeout(resolve, 3100));
      await push(instance, value);
      await evaluate();
    },
    /** firing waits until an alert's workflow says it fires (or the phase given). */
    firing(rule: string, instance: string, labels: Labels = {}, phase = 'firing'): Promise<AlertView> {
      return eventually(async () => {
        const view = await handleOf(rule, instance, labels).query<AlertView>('state');
        if (view.phase !== phase) throw new Error(`phase ${view.phase}`);
        return view;
      });
    },
  };
}
