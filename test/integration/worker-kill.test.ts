import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { AlertView } from '../../core/alert';
import { startAlertingStack, twoStepPolicy, type AlertingStack } from '../helpers/alerting';
import { eventually, quietTemporalLogs, uniqueName } from '../helpers/stack';

quietTemporalLogs();

const ROOT = path.resolve(__dirname, '..', '..');

describe('a worker killed (kill -9) in the middle of an escalation', () => {
  const service = uniqueName('svc');
  const instance = `${service}-1`;
  const rule = uniqueName('kill_rule').replaceAll('-', '_');
  const workers: ChildProcess[] = [];
  let stack: AlertingStack;

  /** startWorkerProcess runs `node dist/workers/worker.js` (as npm start does) and resolves once it polls. */
  const startWorkerProcess = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'workers', 'worker.js')], { env: { ...process.env, ...stack.env, WORKER_SCHEDULES: 'off' }, stdio: ['ignore', 'pipe', 'pipe'] });
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
    // No worker in this process: the test runs `dist/workers/worker.js` processes it can kill.
    stack = await startAlertingStack({
      name: 'kill',
      service,
      metric: 'error_rate_percent',
      worker: false,
      rulesYaml: `test_rules:\n  errors:\n    - name: ${rule}\n      expression: 'error_rate_percent{service="${service}"} > 3'\n      duration: 3s\n      severity: critical\n`,
      escalationYaml: twoStepPolicy('p'),
    });
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await stack?.close();
  });

  it('delivers each (step, channel) exactly once after a restart', async () => {
    const { slack, driver } = stack;
    const first = await startWorkerProcess();
    // Slack takes 3 s to answer: the worker dies after Slack has the message but before the activity completes.
    slack.delayAnswers('chat.postMessage', 3_000);
    const posting = slack.nextCall('chat.postMessage');
    await driver.breach(instance, 9);
    await posting;
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const killedAt = Date.now();
    slack.delayAnswers('chat.postMessage', 0);

    await startWorkerProcess();
    const handle = driver.handleOf(rule, instance);
    // The killed attempt times out (10 s), its retry finds the message by its metadata; level 2 follows 4 s later.
    const view = await eventually(async () => {
      const state = await handle.query<AlertView>('state');
      expect(state.escalation).toMatchObject({ stepsRun: 2, notified: 4 });
      return state;
    }, 60_000, 500);
    const posted = stack.messagesOf(view.alertId);
    expect(posted.map((m) => m.metadata?.event_payload.notification_key)).toEqual([`${view.alertId}:0:slack:#ml-alerts`, `${view.alertId}:1:slack:#ml-alerts`]);
    // The retry took the read-back path: it looked the message up instead of posting it again.
    expect(slack.calls.filter((c) => c.method === 'conversations.history').length).toBeGreaterThanOrEqual(1);
    const mails = stack.mailsOf(view.alertId);
    const distinct = new Set(mails.map((m) => m.messageId));
    expect([...distinct].length).toBe(2);
    console.log(
      `[kill] worker killed mid-send; after restart: ${posted.length} Slack messages, ${mails.length} e-mails (${distinct.size} distinct Message-IDs), both steps done ${Math.round((Date.now() - killedAt) / 1000)} s after the kill`,
    );
    await driver.push(instance, 1);
    await driver.evaluate();
    expect(await handle.result()).toMatchObject({ phase: 'resolved' });
  }, 120_000);
});
