import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { connectTemporal } from '../../store/clients';
import type { AlertView } from '../../core/alert';
import { alertWorkflowId, fingerprint } from '../../core/fingerprint';
import type { Labels } from '../../core/types';
import { startWorker } from '../../workers/worker';
import { bearer, startTestApi, type TestApi } from './api';
import { FakeSlack, type SlackStoredMessage } from '../../scripts/local-slack';
import { TestSmtp } from '../../scripts/local-smtp';
import { eventually, testConfig, uniqueName, workflowBundle } from './stack';

/** ActiveAlertRow is an active alert as GET /api/v1/internal/monitoring/alerts/{service} lists it. */
export interface ActiveAlertRow {
  alert_id: string;
  instance: string;
  status: string;
}

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
  /** evaluate runs one evaluation of every rule group now; its interval sets the lookback (twice it, at least 60 s). */
  const evaluate = (evaluationIntervalMs = 30_000) => temporal.workflow.execute('evaluateRulesWorkflow', { taskQueue, workflowId: uniqueName('evaluate'), args: [{ evaluationIntervalMs }] });
  const handleOf = (rule: string, instance: string, labels: Labels = {}) => temporal.workflow.getHandle(alertWorkflowId(fingerprint(rule, { service, instance, ...labels })));
  /** active lists the service's active alerts as the API answers them. */
  const active = async (): Promise<ActiveAlertRow[]> => {
    const body = (await api.app.inject({ url: `/api/v1/internal/monitoring/alerts/${service}`, headers: bearer('admin') })).json();
    return (body.alerts ?? body) as ActiveAlertRow[];
  };
  /** silence creates a one-hour silence through the admin API and returns its id. */
  const silence = async (matchers: string[], comment: string): Promise<string> => {
    const created = await api.app.inject({ method: 'POST', url: '/api/v1/admin/monitoring/silences', headers: bearer('admin'), payload: { matchers, duration: '1h', comment } });
    if (created.statusCode !== 201) throw new Error(`silence answered ${created.statusCode}: ${created.body}`);
    return created.json().id as string;
  };
  /** expireSilence ends a silence now through the admin API. */
  const expireSilence = async (id: string): Promise<void> => {
    const expired = await api.app.inject({ method: 'DELETE', url: `/api/v1/admin/monitoring/silences/${id}`, headers: bearer('admin') });
    if (expired.statusCode >= 300) throw new Error(`expiring the silence answered ${expired.statusCode}: ${expired.body}`);
  };
  return {
    push,
    evaluate,
    handleOf,
    active,
    silence,
    expireSilence,
    /**
     * storm fires one alert per instance (value `value`), waits until all fire, acknowledges the first
     * `acknowledge` of them as admin, then clears every instance; returns the firing alerts.
     */
    async storm(instances: readonly string[], value: number, acknowledge: number): Promise<ActiveAlertRow[]> {
      await Promise.all(instances.map((instance) => push(instance, value)));
      await evaluate();
      const firing = await eventually(async () => {
        const list = (await active()).filter((a) => a.status === 'firing' && instances.includes(a.instance));
        expect(list).toHaveLength(instances.length);
        return list;
      }, 90_000, 500);
      for (const alert of firing.slice(0, acknowledge)) {
        const acked = await api.app.inject({ method: 'POST', url: `/api/v1/alerts/${alert.alert_id}/ack`, headers: bearer('admin') });
        if (acked.statusCode !== 200) throw new Error(`ack answered ${acked.statusCode}: ${acked.body}`);
      }
      await Promise.all(instances.map((instance) => push(instance, 1)));
      await evaluate();
      return firing;
    },
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

/** AlertingStackOptions: the rule and escalation files of the test, extra settings, and whether to run a worker in-process. */
export interface AlertingStackOptions {
  name: string;
  service: string;
  metric: string;
  rulesYaml: string;
  escalationYaml: string;
  env?: Record<string, string>;
  /** false: the test runs its own worker (a process it can kill). */
  worker?: boolean;
}

/**
 * startAlertingStack starts what an alerting test needs around the real Temporal, ClickHouse and Redis of the test
 * setup: a wire-format fake Slack, a real SMTP server, the test's rule and escalation files, a worker on its own
 * task queue, and the API; `env` is the settings a worker process would need.
 */
export async function startAlertingStack(opts: AlertingStackOptions) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `pm-${opts.name}-`));
  writeFileSync(path.join(dir, 'rules.yaml'), opts.rulesYaml);
  writeFileSync(path.join(dir, 'escalation.yaml'), opts.escalationYaml);
  const slack = new FakeSlack();
  const smtp = new TestSmtp();
  await Promise.all([slack.start(), smtp.start()]);
  const taskQueue = uniqueName(opts.name);
  const env: Record<string, string> = {
    MONITORING_RULES_PATH: path.join(dir, 'rules.yaml'),
    ALERT_ESCALATION_FILE: path.join(dir, 'escalation.yaml'),
    TEMPORAL_TASK_QUEUE: taskQueue,
    SLACK_BOT_TOKEN: slack.token,
    SLACK_API_URL: slack.url,
    SMTP_URL: smtp.url,
    ALERT_LINK_SECRET: `${opts.name}-link-secret`,
    ...opts.env,
  };
  const config = testConfig(env);
  const worker = opts.worker === false ? undefined : await startWorker(config, { workflowBundle: workflowBundle(), registerSchedules: false });
  const temporal = (await connectTemporal(config)).client;
  const api = await startTestApi(env, undefined, temporal);
  return {
    slack,
    smtp,
    api,
    temporal,
    env,
    taskQueue,
    driver: breachDriver({ api, temporal, taskQueue, service: opts.service, metric: opts.metric }),
    /** messagesOf lists the Slack messages of one alert occurrence. */
    messagesOf: (alertId: string): SlackStoredMessage[] => slack.messages.filter((m) => m.metadata?.event_payload.alert_id === alertId),
    /** mailsOf lists the e-mails of one alert occurrence. */
    mailsOf: (alertId: string) => smtp.messages.filter((m) => m.headers.get('x-alert-id') === alertId),
    async close(): Promise<void> {
      await worker?.close();
      await api.close();
      await temporal.connection.close();
      await Promise.all([slack.stop(), smtp.stop()]);
    },
  };
}

/** AlertingStack is a started alerting test stack. */
export type AlertingStack = Awaited<ReturnType<typeof startAlertingStack>>;

/** twoStepPolicy pages #ml-alerts and oncall@ at once, then #ml-alerts and lead@ `firstWait` later, as policy `name`. */
export function twoStepPolicy(name: string, firstWait = '4s'): string {
  return (
    `default_policy: ${name}\npolicies:\n  - name: ${name}\n    steps:\n` +
    `      - wait: ${firstWait}\n        targets: [{slack: "#ml-alerts"}, {email: oncall@example.com}]\n` +
    '      - wait: 1h\n        targets: [{slack: "#ml-alerts"}, {email: lead@example.com}]\n'
  );
}

/**
 * startJobStack is an alerting stack for tests of the recurring jobs (reports, trends, SLOs, business): its one rule
 * never fires, so nothing but the job under test notifies.
 */
export function startJobStack(name: string, service: string, env: Record<string, string> = {}) {
  return startAlertingStack({
    name,
    service,
    metric: 'unused_metric',
    rulesYaml: `${name}:\n  ${name}:\n    - {name: ${name}_unused, expression: "${name}_unused_metric > 1e12", severity: info}\n`,
    escalationYaml: twoStepPolicy(name),
    env,
  });
}

/**
 * startErrorRateStack is an alerting stack whose one rule pages when `service`'s error_rate_percent exceeds 3
 * (after `duration`, if given) through the two-step policy (`firstWait` between the steps), with no worker in this
 * process: the fault tests run worker processes they can kill, or a worker of their own.
 */
export function startErrorRateStack(opts: { name: string; service: string; rule: string; duration?: string; firstWait?: string; env?: Record<string, string> }) {
  const duration = opts.duration ? `      duration: ${opts.duration}\n` : '';
  return startAlertingStack({
    name: opts.name,
    service: opts.service,
    metric: 'error_rate_percent',
    worker: false,
    rulesYaml: `${opts.name}_rules:\n  errors:\n    - name: ${opts.rule}\n      expression: 'error_rate_percent{service="${opts.service}"} > 3'\n${duration}      severity: critical\n`,
    escalationYaml: twoStepPolicy(opts.name, opts.firstWait),
    ...(opts.env ? { env: opts.env } : {}),
  });
}
