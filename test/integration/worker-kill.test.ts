import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { connectTemporal } from '../../activities/clients';
import type { AlertView } from '../../core/alert';
import { alertWorkflowId, fingerprint } from '../../core/fingerprint';
import { bearer, startTestApi, type TestApi } from '../helpers/api';
import { FakeSlack } from '../helpers/fake-slack';
import { TestSmtp } from '../helpers/smtp';
import { eventually, quietTemporalLogs, testConfig, uniqueName } from '../helpers/stack';

quietTemporalLogs();

const ROOT = path.resolve(__dirname, '..', '..');

describe('a worker killed (kill -9) in the middle of an escalation', () => {
  const taskQueue = uniqueName('kill');
  const service = uniqueName('svc');
  const instance = `${service}-1`;
  const rule = uniqueName('kill_rule').replaceAll('-', '_');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-kill-'));
  writeFileSync(path.join(dir, 'rules.yaml'), `test_rules:\n  errors:\n    - name: ${rule}\n      expression: 'error_rate_percent{service="${service}"} > 3'\n      duration: 3s\n      severity: critical\n`);
  writeFileSync(
    path.join(dir, 'escalation.yaml'),
    'default_policy: p\npolicies:\n  - name: p\n    steps:\n' +
      '      - wait: 4s\n        targets: [{slack: "#ml-alerts"}, {email: oncall@example.com}]\n' +
      '      - wait: 1h\n        targets: [{slack: "#ml-alerts"}, {email: lead@example.com}]\n',
  );
  const slack = new FakeSlack();
  const smtp = new TestSmtp();
  const workers: ChildProcess[] = [];
  let env: Record<string, string>;
  let api: TestApi;
  let temporal: Client;

  /** startWorkerProcess runs `node dist/workers/worker.js` (as npm start does) and resolves once it polls. */
  const startWorkerProcess = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'workers', 'worker.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    workers.push(child);
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('[worker] polling')) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) => reject(new Error(`worker exited (${code}) before polling:\n${output}`)));
    });
    return child;
  };

  beforeAll(async () => {
    await Promise.all([slack.start(), smtp.start()]);
    env = {
      MONITORING_RULES_PATH: path.join(dir, 'rules.yaml'),
      ALERT_ESCALATION_FILE: path.join(dir, 'escalation.yaml'),
      TEMPORAL_TASK_QUEUE: taskQueue,
      WORKER_SCHEDULES: 'off',
      SLACK_BOT_TOKEN: slack.token,
      SLACK_API_URL: slack.url,
      SMTP_URL: smtp.url,
      ALERT_LINK_SECRET: 'kill-test-link-secret',
    };
    temporal = (await connectTemporal(testConfig(env))).client;
    api = await startTestApi(env, undefined, temporal);
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await api?.close();
    await temporal?.connection.close();
    await Promise.all([slack.stop(), smtp.stop()]);
  });

  const push = async (value: number) => {
    const response = await api.app.inject({
      method: 'POST',
      url: '/api/v1/internal/monitoring/metrics',
      headers: bearer('service'),
      payload: { application_metrics: { timestamp: new Date().toISOString(), service_name: service, instance_id: instance, metrics: { error_rate_percent: value } } },
    });
    expect(response.statusCode).toBe(202);
  };
  const evaluate = () => temporal.workflow.execute('evaluateRulesWorkflow', { taskQueue, workflowId: uniqueName('evaluate'), args: [{ evaluationIntervalMs: 30_000 }] });

  it('delivers each (step, channel) exactly once after a restart', async () => {
    const first = await startWorkerProcess();
    // Slack takes 3 s to answer: the worker dies after Slack has the message but before the activity completes.
    slack.delayAnswers('chat.postMessage', 3_000);
    const posting = slack.nextCall('chat.postMessage');
    await push(9);
    await evaluate();
    await new Promise((resolve) => setTimeout(resolve, 3100));
    await push(9);
    await evaluate();
    await posting;
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const killedAt = Date.now();
    slack.delayAnswers('chat.postMessage', 0);

    await startWorkerProcess();
    const handle = temporal.workflow.getHandle(alertWorkflowId(fingerprint(rule, { service, instance })));
    // The killed attempt times out (10 s), its retry finds the message by its metadata; level 2 follows 4 s later.
    const view = await eventually(async () => {
      const state = await handle.query<AlertView>('state');
      expect(state.escalation).toMatchObject({ stepsRun: 2, notified: 4 });
      return state;
    }, 60_000, 500);
    const posted = slack.messages.filter((m) => m.metadata?.event_payload.alert_id === view.alertId);
    expect(posted.map((m) => m.metadata?.event_payload.notification_key)).toEqual([`${view.alertId}:0:slack:#ml-alerts`, `${view.alertId}:1:slack:#ml-alerts`]);
    // The retry took the read-back path: it looked the message up instead of posting it again.
    expect(slack.calls.filter((c) => c.method === 'conversations.history').length).toBeGreaterThanOrEqual(1);
    const mails = smtp.messages.filter((m) => m.headers.get('x-alert-id') === view.alertId);
    const distinct = new Set(mails.map((m) => m.messageId));
    expect([...distinct].length).toBe(2);
    console.log(
      `[kill] worker killed mid-send; after restart: ${posted.length} Slack messages, ${mails.length} e-mails (${distinct.size} distinct Message-IDs), both steps done ${Math.round((Date.now() - killedAt) / 1000)} s after the kill`,
    );
    await push(1);
    await evaluate();
    expect(await handle.result()).toMatchObject({ phase: 'resolved' });
  }, 120_000);
});
