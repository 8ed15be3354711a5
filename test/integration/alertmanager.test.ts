import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseRuleDocument } from '../../core/rules';
import { startAlertingStack, twoStepPolicy, type AlertingStack } from '../helpers/alerting';
import { TEST_KEYS } from '../helpers/api';
import { startPrometheus, type RealPrometheus } from '../helpers/prometheus';
import { eventually, quietTemporalLogs, uniqueName } from '../helpers/stack';

quietTemporalLogs();
const run = promisify(execFile);

/**
 * Alertmanager's API v2 with its real clients: a real Prometheus (2.42) loads a rule file — the same file our rules
 * check loads — and, configured with our API as its Alertmanager, hands the firing alert to our alert workflow,
 * which pages Slack once (the policy's first step; its next comes 10 minutes later); amtool (0.25) adds, queries and expires silences and lists the alert.
 */
describe('Alertmanager API v2: Prometheus and amtool talk to us', () => {
  const service = uniqueName('am-svc');
  const job = uniqueName('am-job');
  const alertname = `TargetUp_${uniqueName('am').replaceAll('-', '_')}`;
  const rulesYaml = [
    'groups:',
    `  - name: ${job}`,
    '    rules:',
    `      - alert: ${alertname}`,
    `        expr: up{job="${job}"} == 1`,
    `        labels: {severity: page, service: ${service}}`,
    '        annotations:',
    '          summary: "{{ $labels.job }} answers (up = {{ $value }})"',
  ].join('\n');
  let stack: AlertingStack;
  let prometheus: RealPrometheus;
  let dir: string;
  let apiUrl: string;

  beforeAll(async () => {
    stack = await startAlertingStack({ name: 'am', service, metric: 'up', rulesYaml, escalationYaml: twoStepPolicy('am-policy', '10m') });
    await stack.api.app.listen({ port: 0, host: '127.0.0.1' });
    apiUrl = `127.0.0.1:${(stack.api.app.server.address() as AddressInfo).port}`;
    prometheus = await startPrometheus((port, promDir) => {
      dir = promDir;
      writeFileSync(path.join(promDir, 'rules.yaml'), rulesYaml);
      // amtool authenticates as an admin, with Prometheus' http_config format.
      writeFileSync(path.join(promDir, 'amtool-http.yml'), `authorization: {credentials: ${TEST_KEYS.admin.token}}\n`);
      return [
        'global: {scrape_interval: 1s, evaluation_interval: 1s}',
        `rule_files: [${path.join(promDir, 'rules.yaml')}]`,
        'scrape_configs:',
        `  - job_name: ${job}`,
        `    static_configs: [{targets: ["127.0.0.1:${port}"]}]`,
        'alerting:',
        '  alertmanagers:',
        '    - api_version: v2',
        `      authorization: {credentials: ${TEST_KEYS.service.token}}`,
        `      static_configs: [{targets: ["${apiUrl}"]}]`,
      ].join('\n');
    });
  }, 60_000);

  afterAll(async () => {
    prometheus?.dispose();
    await stack?.close();
  });

  const amtool = async (...args: string[]) => (await run('amtool', [...args, `--alertmanager.url=http://${apiUrl}/`, `--http.config.file=${path.join(dir, 'amtool-http.yml')}`])).stdout;

  it('loads the same rule file as Prometheus, whose firing alert reaches our workflow and pages Slack once', async () => {
    // promtool accepts the file, and so does our loader (any severity, templates).
    await run('promtool', ['check', 'rules', path.join(dir, 'rules.yaml')]);
    const [group] = parseRuleDocument(readFileSync(path.join(dir, 'rules.yaml'), 'utf8'));
    expect(group!.rules[0]).toMatchObject({ name: alertname, severity: 'critical', labels: { severity: 'page', service } });

    const paged = () => stack.slack.messages.filter((m) => JSON.stringify(m).includes(alertname));
    try {
      await eventually(async () => expect(paged().length).toBeGreaterThanOrEqual(1), 45_000);
    } catch (err) {
      throw new Error(`no page for ${alertname}: ${(err as Error).message}\nPrometheus said:\n${prometheus.log()}`);
    }
    const [message] = paged();
    // The annotation Prometheus rendered arrives as written.
    expect(JSON.stringify(message)).toContain(`${job} answers (up = 1)`);
    // Prometheus re-sends the alert every evaluation; it stays one alert, paged once.
    await new Promise((r) => setTimeout(r, 4000));
    expect(paged()).toHaveLength(1);

    const listed = JSON.parse(await amtool('alert', 'query', '-o', 'json', `alertname=${alertname}`)) as Array<{ labels: Record<string, string>; status: { state: string } }>;
    expect(listed).toHaveLength(1);
    expect(listed[0]!.labels).toMatchObject({ alertname, severity: 'page', service, job });
    expect(listed[0]!.status.state).toBe('active');

    // Once its condition clears, Prometheus posts the alert with endsAt now: resolved, the alert ends. (Sent here
    // as Prometheus would, after stopping it — it would fire again otherwise, its target being itself.)
    prometheus.stop();
    const resolved = await stack.api.app.inject({
      method: 'POST',
      url: '/api/v2/alerts',
      headers: { authorization: `Bearer ${TEST_KEYS.service.token}` },
      payload: [{ labels: listed[0]!.labels, annotations: {}, startsAt: new Date(Date.now() - 60_000).toISOString(), endsAt: new Date().toISOString() }],
    });
    expect(resolved.statusCode).toBe(200);
    await eventually(async () => expect(JSON.parse(await amtool('alert', 'query', '-o', 'json', `alertname=${alertname}`))).toEqual([]), 30_000);
    expect(paged()).toHaveLength(1);
  }, 90_000);

  it('adds, queries and expires silences with amtool, with string matchers', async () => {
    // A firing alert as Prometheus posts it, for the silence to mute.
    const firing = await stack.api.app.inject({
      method: 'POST',
      url: '/api/v2/alerts',
      headers: { authorization: `Bearer ${TEST_KEYS.service.token}` },
      payload: [{ labels: { alertname, job, service, severity: 'page', instance: 'db-1' }, annotations: { summary: 'posted' }, startsAt: new Date().toISOString() }],
    });
    expect(firing.statusCode).toBe(200);
    await eventually(async () => expect(JSON.parse(await amtool('alert', 'query', '-o', 'json', `alertname=${alertname}`))).toHaveLength(1));
    const id = (await amtool('silence', 'add', `alertname="${alertname}"`, 'severity=~"pa.*"', '--comment=maintenance window', '--duration=1h', '--author=amtool-test')).trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const active = JSON.parse(await amtool('silence', 'query', '-o', 'json', `alertname=${alertname}`)) as Array<{ id: string; status: { state: string }; matchers: unknown[]; createdBy: string }>;
    expect(active.map((s) => [s.id, s.status.state, s.createdBy])).toEqual([[id, 'active', 'amtool-test']]);
    expect(active[0]!.matchers).toEqual([
      { name: 'alertname', value: alertname, isRegex: false, isEqual: true },
      { name: 'severity', value: 'pa.*', isRegex: true, isEqual: true },
    ]);
    // The silenced alert shows suppressed.
    const alerts = JSON.parse(await amtool('alert', 'query', '-o', 'json', '--silenced', `alertname=${alertname}`)) as Array<{ status: { state: string; silencedBy: string[] } }>;
    expect(alerts[0]!.status).toMatchObject({ state: 'suppressed', silencedBy: [id] });
    await amtool('silence', 'expire', id);
    const expired = JSON.parse(await amtool('silence', 'query', '-o', 'json', '--expired', `alertname=${alertname}`)) as Array<{ id: string; status: { state: string } }>;
    expect(expired.find((s) => s.id === id)?.status.state).toBe('expired');
  }, 60_000);

  it('refuses alerts without a name and silences without an end, naming the field', async () => {
    const post = (url: string, payload: unknown, key: keyof typeof TEST_KEYS) =>
      stack.api.app.inject({ method: 'POST', url, payload: payload as object, headers: { authorization: `Bearer ${TEST_KEYS[key].token}` } });
    const noName = await post('/api/v2/alerts', [{ labels: { job: 'x' } }], 'service');
    expect([noName.statusCode, noName.json().field]).toEqual([400, 'body[0].labels.alertname']);
    const noEnd = await post('/api/v2/silences', { matchers: ['alertname="x"'], comment: 'c' }, 'admin');
    expect([noEnd.statusCode, noEnd.json().field]).toEqual([400, 'body.endsAt']);
    const badMatcher = await post('/api/v2/silences', { matchers: ['alertname~x'], comment: 'c', endsAt: new Date(Date.now() + 60_000).toISOString() }, 'admin');
    expect([badMatcher.statusCode, badMatcher.json().field]).toEqual([400, 'body.matchers[0]']);
    expect((await post('/api/v2/alerts', [], 'viewer')).statusCode).toBe(403);
    expect((await post('/api/v2/silences', {}, 'service')).statusCode).toBe(403);
  });
});
