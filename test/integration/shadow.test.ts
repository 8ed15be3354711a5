import { fingerprint } from '../../core/fingerprint';
import { bearer } from '../helpers/api';
import { startAlertingStack, type AlertingStack } from '../helpers/alerting';
import { eventually, uniqueName } from '../helpers/stack';

/**
 * Shadow rules (issue 20, part 7) on the real stack: a rule marked `shadow` runs live beside the rule it would
 * replace — its alerts fire, resolve and are recorded — but pages nobody, is no active alert and stays out of the
 * on-call figures; the weekly report compares the two.
 */
describe('shadow rules', () => {
  const service = uniqueName('sh');
  const live = uniqueName('sh_cpu').replaceAll('-', '_');
  const shadow = `${live}_v2`;
  let stack: AlertingStack;

  beforeAll(async () => {
    stack = await startAlertingStack({
      name: 'sh',
      service,
      metric: 'cpu_usage_percent',
      rulesYaml:
        `sh_rules:\n  sh:\n` +
        `    - name: ${live}\n      expression: 'cpu_usage_percent{service="${service}"} > 90'\n      severity: critical\n` +
        `    - name: ${shadow}\n      expression: 'cpu_usage_percent{service="${service}"} > 80'\n      severity: critical\n      shadow: {replaces: ${live}}\n`,
      escalationYaml: 'default_policy: sh\npolicies:\n  - name: sh\n    steps:\n      - wait: 1h\n        targets: [{slack: "#ml-alerts"}, {email: oncall@example.com}]\n',
      env: { REPORT_TARGETS: 'slack:#weekly-reports' },
    });
  }, 120_000);
  afterAll(() => stack?.close());

  const history = async (query: string) => (await stack.api.app.inject({ url: `/api/v1/admin/monitoring/alerts/history?from=now-1h&${query}`, headers: bearer('admin') })).json();
  const handle = (rule: string) => stack.temporal.workflow.getHandle(`alert/${fingerprint(rule, { service, instance: 'sh-0', ...(rule === shadow ? { shadow: 'true', shadow_of: live } : {}) })}`);

  it('fires and resolves beside the live rule, pages nobody, is no active alert, and shows in the weekly report against it', async () => {
    await stack.driver.push('sh-0', 95);
    await stack.driver.evaluate();
    await eventually(async () => expect((await history(`rule=${shadow}`)).alerts).toHaveLength(1), 30_000, 300);
    const liveAlert = await eventually(async () => {
      const [found] = (await history(`rule=${live}`)).alerts;
      expect(found).toBeDefined();
      return found;
    }, 30_000, 300);
    await eventually(async () => expect(stack.messagesOf(liveAlert.alert_id)).toHaveLength(1), 20_000, 200);
    const shadowAlert = (await history(`rule=${shadow}`)).alerts[0];
    expect(stack.messagesOf(shadowAlert.alert_id)).toHaveLength(0);
    expect(stack.mailsOf(shadowAlert.alert_id)).toHaveLength(0);
    // Not an active alert, and not in the figures of the history without a rule filter.
    expect((await stack.driver.active()).map((a) => a.alert_id)).toEqual([liveAlert.alert_id]);
    expect((await history(`service=${service}`)).alerts.map((a: { rule: string }) => a.rule)).toEqual([live]);
    const why = (await stack.api.app.inject({ url: `/api/v1/alerts/${shadowAlert.alert_id}/timeline`, headers: bearer('admin') })).json().why;
    expect(why).toContain(`a shadow rule (beside ${live}, which it would replace)`);

    // 85 %: the live rule clears, the shadow still fires; then both resolve.
    await stack.driver.push('sh-0', 85);
    await stack.driver.evaluate();
    await handle(live).result();
    await stack.driver.push('sh-0', 40);
    await stack.driver.evaluate();
    await handle(shadow).result();
    expect((await history(`rule=${shadow}`)).alerts[0].resolved_at).not.toBeNull();

    // The report's week ends on a Monday 08:00 (REPORT_TIMEZONE): the one a week from now holds this hour.
    const started = await stack.api.app.inject({ method: 'POST', url: '/api/v1/admin/monitoring/reports', headers: bearer('admin'), payload: { end: new Date(Date.now() + 7 * 86_400_000).toISOString() } });
    expect(started.statusCode).toBe(202);
    const outcome = (await stack.temporal.workflow.getHandle(started.json().workflow_id).result()) as { reportId: string };
    const [stored] = (await stack.api.app.inject({ url: `/api/v1/admin/monitoring/reports?id=${outcome.reportId}`, headers: bearer('admin') })).json().reports;
    const diff = stored.performance_report.alerts.shadow_rules.find((d: { rule: string }) => d.rule === shadow);
    expect(diff).toMatchObject({ replaces: live, fired: 1, replaced_fired: 1, matched: 1, only_shadow: 0, only_replaced: 0 });
    // In the Slack summary (its section block), where the on-call lead reads it.
    expect(stack.slack.messages.some((m) => JSON.stringify(m.blocks).includes(`Shadow ${shadow} (would replace ${live}): 1 fired against 1; 1 the same incidents`))).toBe(true);
  }, 120_000);
});
