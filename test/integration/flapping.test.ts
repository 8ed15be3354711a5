import type { AlertOutcome, AlertView } from '../../core/alert';
import { startAlertingStack, type AlertingStack } from '../helpers/alerting';
import { FakeSlack } from '../../scripts/local-slack';
import { eventually, quietTemporalLogs, uniqueName } from '../helpers/stack';

quietTemporalLogs();

describe('a flapping alert pages once: dedup window and flap damping, on the real Temporal, ClickHouse and Redis', () => {
  const service = uniqueName('svc');
  const rule = uniqueName('flappy').replaceAll('-', '_');
  let stack: AlertingStack;

  beforeAll(async () => {
    stack = await startAlertingStack({
      name: 'flap',
      service,
      metric: 'cpu_usage_percent',
      // `for: 0s`: every breaching evaluation after a clear is a raw fire.
      rulesYaml: `test_rules:\n  cpu:\n    - name: ${rule}\n      expression: 'cpu_usage_percent{service="${service}"} > 80'\n      duration: 0s\n      severity: critical\n`,
      escalationYaml: 'default_policy: p\npolicies:\n  - name: p\n    steps:\n      - wait: 1h\n        targets: [{slack: "#ml-alerts"}]\n',
      env: { ALERT_DEDUPLICATION_WINDOW: '60s' },
    });
  });
  afterAll(() => stack?.close());

  it('sends 1 notification for 20 flaps in 100 evaluations (a noisy replay), redrawing the same message on every re-fire', async () => {
    const { driver, slack } = stack;
    const instance = `${service}-1`;
    const handle = () => driver.handleOf(rule, instance);
    const reasons: string[] = [];
    let fires = 0;
    // 20 flaps of 5 evaluations: 4 breaching (the first fires), then 1 clear that resolves the alert.
    for (let flap = 0; flap < 20; flap++) {
      for (let i = 0; i < 4; i++) {
        await driver.push(instance, 90 + i);
        await driver.evaluate();
      }
      const view = await eventually(async () => {
        const state = await handle().query<AlertView>('state');
        expect(state.escalation?.reason).toBeDefined();
        return state;
      });
      reasons.push(view.escalation!.reason!);
      await driver.push(instance, 10);
      await driver.evaluate();
      const outcome = (await handle().result()) as AlertOutcome;
      if (outcome.fired) fires++;
    }
    const posted = slack.messages.filter((m) => m.channel === FakeSlack.channelId('#ml-alerts') && JSON.stringify(m.blocks).includes(rule));
    const reduction = 1 - posted.length / fires;
    console.log(`[flap] ${fires} raw fires → ${posted.length} Slack message(s), ${slack.updatesOf(posted[0]?.ts ?? '').length} in-place edits (reduction ${(reduction * 100).toFixed(0)} %)`);
    expect(fires).toBe(20);
    expect(posted).toHaveLength(1);
    expect(reduction).toBeGreaterThanOrEqual(0.95);
    expect(reasons[0]).toBe('first firing in the last hour');
    expect(reasons.slice(1).filter((r) => !r.includes('dedup window'))).toEqual([]);
    // Every re-fire and every resolution edited the one message instead of posting another.
    expect(JSON.stringify(slack.updatesOf(posted[0]!.ts).map((u) => u.args.blocks))).toContain('*Firing again*');
    expect(slack.updatesOf(posted[0]!.ts).length).toBeGreaterThanOrEqual(20);
  }, 180_000);
});
