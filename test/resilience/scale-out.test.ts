import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from '../../core/escape';
import { TEST_KEYS } from '../helpers/api';
import { startErrorRateStack, type AlertingStack } from '../helpers/alerting';
import { startApiProcess, startWorkerProcess, type Proc } from '../helpers/processes';
import { freePort, privateTemporal } from '../helpers/servers';
import type { SlackStoredMessage } from '../../scripts/local-slack';
import { eventually, quietTemporalLogs, uniqueName } from '../helpers/stack';

quietTemporalLogs();

const INSTANCES = 40;

/**
 * Scale-out on one machine (issue 7, scenario 6, processes): two API processes and two worker processes — both
 * registering the schedules at start, as two `npm start` replicas would — on one Temporal, ClickHouse and Redis.
 * A breach load arrives through both APIs; every alert must exist once, every (alert, step, channel) notification
 * be sent once, and an acknowledgement sent to both APIs at once must apply once.
 */
describe('two APIs and two workers on the same engines', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-scale-'));
  const service = uniqueName('scale');
  const rule = uniqueName('scale_rule').replaceAll('-', '_');
  let temporal: Awaited<ReturnType<typeof privateTemporal>>;
  let stack: AlertingStack;
  const procs: Proc[] = [];
  const apis: string[] = [];

  beforeAll(async () => {
    // A Temporal of its own: the workers register every schedule, which must not outlive the test elsewhere.
    temporal = await privateTemporal(false);
    stack = await startErrorRateStack({ name: 'scale', service, rule, duration: '4s', firstWait: '3s', env: { TEMPORAL_ADDRESS: temporal.address, ALERT_EVALUATION_INTERVAL: '2s' } });
    writeFileSync(path.join(dir, 'keys.json'), JSON.stringify({ keys: Object.values(TEST_KEYS) }));
    const env = { ...stack.env, MONITORING_API_KEYS_FILE: path.join(dir, 'keys.json'), WORKFLOW_BUNDLE: process.env.TEST_WORKFLOW_BUNDLE! };
    const ports = await Promise.all([freePort(), freePort()]);
    procs.push(...(await Promise.all([...ports.map((port) => startApiProcess({ ...env, API_PORT: String(port) })), startWorkerProcess(env), startWorkerProcess(env)])));
    apis.push(...ports.map((port) => `http://127.0.0.1:${port}`));
  }, 180_000);
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await stack?.close();
    temporal?.dispose();
  });

  it('raises each alert once and sends each notification once under a breach load through both APIs', async () => {
    const { slack, smtp } = stack;
    const headers = (role: keyof typeof TEST_KEYS) => ({ authorization: `Bearer ${TEST_KEYS[role].token}`, 'content-type': 'application/json' });
    let requests = 0;
    // Every instance breaches, pushed every second through a random API (the two see interleaved samples).
    const push = async () => {
      const samples = Array.from({ length: INSTANCES }, (_, i) => ({ name: 'error_rate_percent', value: 9, labels: { service, instance: `${service}-${i}` } }));
      for (let part = 0; part < 4; part++) {
        const api = apis[Math.floor(Math.random() * 2)]!;
        const response = await fetch(`${api}/api/v1/internal/monitoring/metrics`, { method: 'POST', headers: headers('service'), body: JSON.stringify({ samples: samples.filter((_, i) => i % 4 === part) }) });
        expect(response.status).toBe(202);
        requests++;
      }
    };
    // One push at a time; a failed push fails the test when the chain is awaited.
    let pushing = Promise.resolve();
    const pusher = setInterval(() => (pushing = pushing.then(push)), 1_000);
    try {
      await push();
      // This rule's alerts only (their messages name it): the workers run every recurring job of a deployment, and
      // the service's SLO burn-rate alerts (9 % errors burn its budget 90× too fast) page through the same policy.
      // A duplicate of this rule's alert would name the rule too, history row or not.
      const ours = (m: SlackStoredMessage) => m.text.includes(rule) || JSON.stringify(m.blocks).includes(rule);
      const slackKeys = () =>
        slack.messages
          .filter(ours)
          .map((m) => m.metadata?.event_payload.notification_key)
          .filter((k): k is string => typeof k === 'string' && k.includes(':slack:'));
      const mails = () => smtp.messages.filter((m) => m.headers.get('x-alert-id') !== undefined && `${m.subject ?? ''}\n${m.text ?? ''}`.includes(rule));
      const others = () => slack.messages.filter((m) => m.metadata?.event_payload.alert_id !== undefined && !ours(m)).map((m) => m.text);
      await eventually(async () => {
        expect(new Set(slackKeys()).size).toBe(INSTANCES * 2);
        expect(new Set(mails().map((m) => m.messageId)).size).toBe(INSTANCES * 2);
      }, 120_000, 1_000).catch(async (err: unknown) => {
        // What was raised and sent, so that a failure on a loaded machine explains itself.
        const rows = await (
          await stack.api.clickhouse.query({
            ...sql`SELECT alert_id, instance_id, status, toUnixTimestamp64Milli(timestamp) AS at, resolution_notes FROM alert_history WHERE rule_name = ${rule} ORDER BY timestamp`,
            format: 'JSONEachRow',
          })
        ).json<Record<string, unknown>>();
        const perAlert = new Map<string, number>();
        for (const k of new Set(slackKeys())) perAlert.set(k.split(':')[0]!, (perAlert.get(k.split(':')[0]!) ?? 0) + 1);
        process.stderr.write(`[scale-out] history ${JSON.stringify(rows)}\n[scale-out] Slack keys per alert ${JSON.stringify([...perAlert])}\n`);
        throw err;
      });
      // The breach goes on for a while: nothing more may be sent or raised.
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      const history = await (
        await stack.api.clickhouse.query({
          ...sql`SELECT instance_id, uniqExact(alert_id) AS alerts, countIf(status = 'firing') AS firings FROM alert_history WHERE rule_name = ${rule} GROUP BY instance_id`,
          format: 'JSONEachRow',
        })
      ).json<{ instance_id: string; alerts: string; firings: string }>();
      const keys = slackKeys();
      const mailIds = mails().map((m) => m.messageId);

      // One alert acknowledged through both APIs at the same moment: one wins, the other is told it is done.
      const alertId = String(slack.messages.find((m) => ours(m) && m.metadata?.event_payload.alert_id)!.metadata!.event_payload.alert_id);
      const acks = await Promise.all(
        apis.map((api, i) => fetch(`${api}/api/v1/alerts/${alertId}/ack`, { method: 'POST', headers: headers('admin'), body: JSON.stringify({ note: `from API ${i + 1}` }) })),
      );
      const statuses = acks.map((r) => r.status).sort();
      process.stderr.write(
        `[scale-out] 2 APIs + 2 workers, ${INSTANCES} instances breaching, ${requests} pushes through both APIs: ${history.length} alerts raised ` +
          `(${history.filter((h) => Number(h.alerts) === 1 && Number(h.firings) === 1).length} with exactly one occurrence and one firing row); ` +
          `Slack ${keys.length} messages (${new Set(keys).size} distinct), e-mail ${mailIds.length} (${new Set(mailIds).size} distinct); concurrent acks answered ${statuses.join(', ')}; ` +
          `other alerts (the SLO job's): ${JSON.stringify(others().slice(0, 5))}\n`,
      );
      expect(history).toHaveLength(INSTANCES);
      for (const h of history) expect([Number(h.alerts), Number(h.firings)]).toEqual([1, 1]);
      expect(keys.length).toBe(INSTANCES * 2);
      expect(new Set(keys).size).toBe(INSTANCES * 2);
      expect(mailIds.length).toBe(INSTANCES * 2);
      expect(statuses).toEqual([200, 409]);
    } finally {
      clearInterval(pusher);
      await pushing;
    }
  }, 240_000);
});
