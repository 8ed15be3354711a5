import type { AlertView } from '../../core/alert';
import { startErrorRateStack, type AlertingStack } from '../helpers/alerting';
import { startWorkerProcess, type Proc } from '../helpers/processes';
import { eventually, quietTemporalLogs, uniqueName } from '../helpers/stack';

quietTemporalLogs();

describe('a worker killed (kill -9) in the middle of an escalation', () => {
  const service = uniqueName('svc');
  const instance = `${service}-1`;
  const rule = uniqueName('kill_rule').replaceAll('-', '_');
  const workers: Proc[] = [];
  let stack: AlertingStack;

  const startWorker = async (): Promise<Proc> => {
    const proc = await startWorkerProcess({ ...stack.env, WORKER_SCHEDULES: 'off' });
    workers.push(proc);
    return proc;
  };

  beforeAll(async () => {
    // No worker in this process: the test runs `dist/workers/worker.js` processes it can kill.
    stack = await startErrorRateStack({ name: 'kill', service, rule, duration: '3s' });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await stack?.close();
  });

  it('delivers each (step, channel) exactly once after a restart', async () => {
    const { slack, driver } = stack;
    const first = await startWorker();
    // Slack takes 3 s to answer: the worker dies after Slack has the message but before the activity completes.
    slack.delayAnswers('chat.postMessage', 3_000);
    const posting = slack.nextCall('chat.postMessage');
    await driver.breach(instance, 9);
    await posting;
    await first.kill();
    const killedAt = Date.now();
    slack.delayAnswers('chat.postMessage', 0);

    await startWorker();
    const handle = driver.handleOf(rule, instance);
    // The killed attempt misses its heartbeat (3 s), its retry finds the message by its metadata; level 2 follows 4 s later.
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
