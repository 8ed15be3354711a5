import { bearer } from '../helpers/api';
import { startErrorRateStack, type AlertingStack } from '../helpers/alerting';
import { startWorkerProcess, type Proc } from '../helpers/processes';
import { eventually, quietTemporalLogs, uniqueName } from '../helpers/stack';

quietTemporalLogs();

const ALERTS = 100;

/**
 * Workers killed (issue 7, scenario 1): two `node dist/workers/worker.js` processes share the task queue, and one of
 * them is killed with SIGKILL at a random moment every few seconds (and started again) while 100 alerts escalate
 * through two steps to Slack and e-mail, and then while a weekly report is generated and delivered. Every
 * (alert, step, channel) notification must arrive exactly once, and the report once per target.
 */
describe('workers killed (kill -9) at random moments', () => {
  const service = uniqueName('wk');
  const rule = uniqueName('wk_rule').replaceAll('-', '_');
  const workers: (Proc | undefined)[] = [undefined, undefined];
  let stack: AlertingStack;
  let kills = 0;

  /** startWorker runs worker process `slot` (prebuilt workflow bundle, no schedules) and resolves once it polls. */
  const startWorker = async (slot: number): Promise<void> => {
    workers[slot] = await startWorkerProcess({ ...stack.env, WORKER_SCHEDULES: 'off', WORKFLOW_BUNDLE: process.env.TEST_WORKFLOW_BUNDLE! });
  };

  /** kill kills the workers in `slots` at the same moment with SIGKILL and starts them again; one kill at a time. */
  let killing = Promise.resolve();
  const kill = (...slots: number[]): Promise<void> =>
    (killing = killing.then(async () => {
      await Promise.all(slots.map((slot) => workers[slot]!.kill()));
      kills += slots.length;
      await Promise.all(slots.map(startWorker));
    }));

  /** killer kills one of the two workers at a random moment every 1.5–4 s and starts it again, until stopped. */
  const killer = () => {
    let stop = false;
    const done = (async () => {
      while (!stop) {
        await new Promise((resolve) => setTimeout(resolve, 1_500 + Math.random() * 2_500));
        if (stop) break;
        await kill(Math.random() < 0.5 ? 0 : 1);
      }
    })();
    return async () => {
      stop = true;
      await done;
    };
  };

  beforeAll(async () => {
    stack = await startErrorRateStack({ name: 'wk', service, rule, firstWait: '3s', env: { REPORT_TARGETS: 'slack:#wk-reports,email:wk-reports@example.com' } });
    await Promise.all([startWorker(0), startWorker(1)]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w?.kill()));
    await stack?.close();
  });

  it(`delivers every (alert, step, channel) notification of ${ALERTS} escalations exactly once`, async () => {
    const { slack, smtp, driver } = stack;
    // Slack answers slowly, so kills land between a message's arrival and its record too.
    slack.delayAnswers('chat.postMessage', 400);
    const stopKilling = killer();
    const started = Date.now();
    const samples = Array.from({ length: ALERTS }, (_, i) => ({ name: 'error_rate_percent', value: 9, labels: { service, instance: `${service}-${i}` } }));
    const pushed = await stack.api.app.inject({ method: 'POST', url: '/api/v1/internal/monitoring/metrics', headers: bearer('service'), payload: { samples } });
    expect(pushed.statusCode).toBe(202);
    await driver.evaluate();

    const slackKeys = () => slack.messages.map((m) => m.metadata?.event_payload.notification_key).filter((k): k is string => typeof k === 'string' && k.includes(':slack:'));
    const mails = () => smtp.messages.filter((m) => m.headers.get('x-alert-id') !== undefined);
    const expected = ALERTS * 2;
    try {
      await eventually(async () => {
        expect(new Set(slackKeys()).size).toBe(expected);
        expect(new Set(mails().map((m) => m.messageId)).size).toBe(expected);
      }, 240_000, 1_000);
    } catch (err) {
      // Name what is missing: which alert, which step (a lost page is the failure this test exists for).
      const steps = new Map<string, number>();
      for (const key of new Set(slackKeys())) steps.set(key.split(':')[0]!, (steps.get(key.split(':')[0]!) ?? 0) + 1);
      process.stderr.write(`[worker-kill] Slack steps per alert short of 2: ${JSON.stringify([...steps].filter(([, n]) => n < 2))} (${steps.size} alerts seen)\n`);
      throw err;
    } finally {
      await stopKilling();
    }
    const elapsed = Date.now() - started;
    // Stragglers (a killed attempt retried after its timeout) would arrive now: wait them out, then count.
    await new Promise((resolve) => setTimeout(resolve, 12_000));

    const keys = slackKeys();
    const mailIds = mails().map((m) => m.messageId);
    const perAlert = new Map<string, number>();
    for (const key of keys) perAlert.set(key.split(':')[0]!, (perAlert.get(key.split(':')[0]!) ?? 0) + 1);
    process.stderr.write(
      `[worker-kill] ${ALERTS} alerts × 2 steps × 2 channels in ${Math.round(elapsed / 1000)} s with ${kills} SIGKILLs: ` +
        `Slack ${keys.length} messages (${new Set(keys).size} distinct keys), e-mail ${mailIds.length} sent (${new Set(mailIds).size} distinct Message-IDs) — ` +
        `lost ${expected * 2 - new Set(keys).size - new Set(mailIds).size}, duplicated Slack ${keys.length - new Set(keys).size}, e-mail resends ${mailIds.length - new Set(mailIds).size}\n`,
    );
    expect(kills).toBeGreaterThanOrEqual(3);
    expect(perAlert.size).toBe(ALERTS);
    expect([...perAlert.values()].every((n) => n === 2)).toBe(true);
    expect(keys.length).toBe(expected);
    expect(new Set(mailIds).size).toBe(expected);
    // SMTP has no read-back: a worker killed between the server's 250 and the ledger's record sends the message
    // again. A resend must be the same message — same Message-ID, notification key, recipient and subject — which
    // mail clients show once; and each (alert, step, recipient) has exactly one Message-ID.
    const byId = new Map<string, Set<string>>();
    for (const m of mails()) {
      const identity = JSON.stringify([m.headers.get('x-notification-key'), m.to && 'text' in m.to ? m.to.text : '', m.subject]);
      byId.set(m.messageId!, (byId.get(m.messageId!) ?? new Set()).add(identity));
    }
    expect([...byId.values()].every((identities) => identities.size === 1)).toBe(true);
    expect(new Set(mails().map((m) => String(m.headers.get('x-notification-key')))).size).toBe(expected);
  }, 300_000);

  it('delivers a weekly report once to each target while workers are killed', async () => {
    const { slack, smtp, api, temporal } = stack;
    const end = Date.now();
    // Eight days of hourly history: enough for the report's 30-day capacity forecast (a quarter of the horizon), so the
    // report has all four charts to upload.
    const body = Array.from({ length: 8 * 24 }, (_, h) => ({
      application_metrics: { timestamp: new Date(end - (h + 1) * 3_600_000).toISOString(), service_name: service, instance_id: `${service}-0`, metrics: { requests_per_second: 10, response_time_p50_ms: 20, error_rate_percent: 0.2 } },
    }));
    expect((await api.app.inject({ method: 'POST', url: '/api/v1/internal/monitoring/metrics', headers: bearer('service'), payload: body })).statusCode).toBe(202);
    slack.delayAnswers('chat.postMessage', 1_500);
    slack.delayAnswers('files.completeUploadExternal', 1_500);
    const killsBefore = kills;
    // Both workers die at a random moment of the generation, again while Slack holds the summary's answer, and
    // again while it holds the charts' completion (each lost attempt is retried after its heartbeat or start-to-close
    // timeout).
    const midSend = (method: string) =>
      slack.nextCall(method).then(async () => {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 1_200));
        await kill(0, 1);
      });
    const targeted = Promise.all([midSend('chat.postMessage'), midSend('files.completeUploadExternal')]);
    setTimeout(() => void kill(0, 1), 200 + Math.random() * 1_000);
    const runStarted = Date.now();
    const started = await api.app.inject({ method: 'POST', url: '/api/v1/admin/monitoring/reports', headers: bearer('admin'), payload: { end: new Date(end).toISOString() } });
    expect(started.statusCode).toBe(202);
    const outcome = await temporal.workflow.getHandle(started.json().workflow_id).result();
    await targeted;
    const runMs = Date.now() - runStarted;
    expect(outcome.failed).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    const summaries = slack.messages.filter((m) => m.metadata?.event_payload.report_id === outcome.reportId);
    const chartUploads = slack.files.filter((f) => f.threadTs !== undefined && f.threadTs === summaries[0]?.ts);
    const emails = smtp.messages.filter((m) => m.headers.get('x-report-id') === outcome.reportId);
    process.stderr.write(
      `[worker-kill] weekly report in ${Math.round(runMs / 1000)} s with ${kills - killsBefore} SIGKILLs during it: ${summaries.length} Slack summary, ${chartUploads.length} charts in its thread, ` +
        `${emails.length} e-mail(s) (${new Set(emails.map((m) => m.messageId)).size} distinct Message-IDs)\n`,
    );
    expect(summaries).toHaveLength(1);
    expect(new Set(emails.map((m) => m.messageId)).size).toBe(1);
    expect(chartUploads.length).toBe(4);
  }, 240_000);
});
