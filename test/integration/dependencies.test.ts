import type { AlertView } from '../../core/alert';
import { fingerprint } from '../../core/fingerprint';
import { bearer } from '../helpers/api';
import { startAlertingStack, type AlertingStack } from '../helpers/alerting';
import { eventually, uniqueName } from '../helpers/stack';

/**
 * Alert dependencies (issue 20, part 6) on the real stack: a rule declares its parent (`depends_on`); while the
 * parent fires — here another service's alert, as a database outage is for its clients — the children are recorded
 * but page nobody, each timeline naming the parent, and they still resolve.
 */
describe('alert dependencies (depends_on)', () => {
  const db = uniqueName('dep-db');
  const api = uniqueName('dep-api');
  const parent = uniqueName('DatabaseDown').replaceAll('-', '_');
  const child = uniqueName('ApiErrors').replaceAll('-', '_');
  let stack: AlertingStack;

  beforeAll(async () => {
    stack = await startAlertingStack({
      name: 'dep',
      service: api,
      metric: 'dep_error_rate',
      rulesYaml:
        `dep_rules:\n  dep:\n` +
        `    - name: ${parent}\n      expression: 'dep_db_up{service="${db}"} < 1'\n      severity: critical\n` +
        `    - name: ${child}\n      expression: 'dep_error_rate{service="${api}"} > 5'\n      severity: critical\n      depends_on: {alertname: ${parent}}\n`,
      escalationYaml: 'default_policy: dep\npolicies:\n  - name: dep\n    steps:\n      - wait: 1h\n        targets: [{slack: "#ml-alerts"}]\n',
    });
  }, 120_000);
  afterAll(() => stack?.close());

  const push = async (service: string, instance: string, metric: string, value: number) => {
    const response = await stack.api.app.inject({
      method: 'POST',
      url: '/api/v1/internal/monitoring/metrics',
      headers: bearer('service'),
      payload: { application_metrics: { timestamp: new Date().toISOString(), service_name: service, instance_id: instance, metrics: { [metric]: value } } },
    });
    expect(response.statusCode).toBe(202);
  };
  const view = (rule: string, service: string, instance: string) => stack.temporal.workflow.getHandle(`alert/${fingerprint(rule, { service, instance })}`).query<AlertView>('state');

  it('pages the parent once; its firing children are recorded, page nobody, name the parent, and resolve', async () => {
    const instances = ['api-0', 'api-1', 'api-2'];
    await push(db, 'db-0', 'dep_db_up', 0);
    await Promise.all(instances.map((i) => push(api, i, 'dep_error_rate', 40)));
    await stack.driver.evaluate();

    const parentView = await eventually(async () => {
      const v = await view(parent, db, 'db-0');
      expect(v.phase).toBe('firing');
      return v;
    }, 30_000, 200);
    const children = await eventually(async () => {
      const views = await Promise.all(instances.map((i) => view(child, api, i)));
      for (const v of views) {
        expect(v.phase).toBe('firing');
        expect(v.escalation?.mutedBy).toContain(`depends on ${parent}`);
      }
      return views;
    }, 30_000, 200);
    await eventually(async () => expect(stack.messagesOf(parentView.alertId)).toHaveLength(1), 20_000, 200);
    for (const c of children) expect(stack.messagesOf(c.alertId)).toHaveLength(0);

    // Each child's timeline: suppressed, naming the parent; why says nobody was paged and why.
    for (const c of children) {
      const timeline = (await stack.api.app.inject({ url: `/api/v1/alerts/${c.alertId}/timeline`, headers: bearer('admin') })).json();
      expect(timeline.entries.find((e: { kind: string }) => e.kind === 'suppressed')?.text).toContain(`depends on ${parent} (service=${db}, instance=db-0), which is firing`);
      expect(timeline.why).toMatch(/^nobody was notified/);
    }

    // The children resolve while the parent still fires (recorded, never paged), then the parent.
    await Promise.all(instances.map((i) => push(api, i, 'dep_error_rate', 1)));
    await stack.driver.evaluate();
    await Promise.all(instances.map((i) => stack.temporal.workflow.getHandle(`alert/${fingerprint(child, { service: api, instance: i })}`).result()));
    const history = (await stack.api.app.inject({ url: `/api/v1/admin/monitoring/alerts/history?rule=${child}&from=now-1h`, headers: bearer('admin') })).json();
    expect(history.alerts).toHaveLength(3);
    expect(history.alerts.every((a: { resolved_at: string | null }) => a.resolved_at !== null)).toBe(true);
    for (const c of children) expect(stack.messagesOf(c.alertId)).toHaveLength(0);
    await push(db, 'db-0', 'dep_db_up', 1);
    await stack.driver.evaluate();
  }, 120_000);

  it('names the field of a malformed depends_on', async () => {
    const response = await stack.api.app.inject({
      method: 'POST',
      url: '/api/v1/admin/monitoring/alerts/rules',
      headers: bearer('admin'),
      payload: { name: 'dep_bad', expression: 'x > 1', depends_on: { alertname: 'A', equal: 'not a list?' } },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ field: expect.stringContaining('depends_on.equal') });
  });
});
