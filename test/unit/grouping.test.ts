import { parseEscalationPolicy, parseGrouping } from '../../core/escalation';
import { ALERTMANAGER_DEFAULTS, alertGroup, nextGroupSend, type GroupingSpec } from '../../core/grouping';
import { emailGroupMessage, slackGroupMessage, type AlertNotification } from '../../core/notification';

const spec: GroupingSpec = { groupBy: ['alertname', 'service'], groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 4 * 3_600_000 };

describe('notification grouping (core/grouping.ts)', () => {
  it("reads a policy's group_by and timers, with Alertmanager's defaults", () => {
    expect(parseGrouping({ group_by: ['service', 'alertname'] }, 'p')).toEqual({ groupBy: ['alertname', 'service'], ...ALERTMANAGER_DEFAULTS });
    expect(parseGrouping({ group_by: ['...'], group_wait: '0s', group_interval: '1m', repeat_interval: '1h' }, 'p')).toEqual({
      groupBy: ['...'],
      groupWaitMs: 0,
      groupIntervalMs: 60_000,
      repeatIntervalMs: 3_600_000,
    });
    expect(parseGrouping({}, 'p')).toBeUndefined();
    expect(() => parseGrouping({ group_wait: '1s' }, 'p')).toThrow('p.group_wait: needs group_by');
    expect(() => parseGrouping({ group_by: 'service' }, 'p')).toThrow('p.group_by: expected a list of label names');
    expect(() => parseGrouping({ group_by: ['service'], group_interval: '0s' }, 'p')).toThrow('p.group_interval: must be at least 1s');
    const policy = parseEscalationPolicy({ name: 'x', steps: [{ wait: '5m', targets: [{ slack: '#a' }] }], group_by: ['service'], group_wait: '10s' }, 'policies[0]');
    expect(policy.grouping).toEqual({ groupBy: ['service'], groupWaitMs: 10_000, groupIntervalMs: 300_000, repeatIntervalMs: 4 * 3_600_000 });
  });

  it('names the policy field of a bad timer', () => {
    expect(() => parseEscalationPolicy({ name: 'x', steps: [{ wait: '5m', targets: [{ slack: '#a' }] }], group_by: ['service'], group_wait: 'soon' }, 'policies[0]')).toThrow(
      /^policies\[0\]\.group_wait: /,
    );
  });

  it('puts alerts with the same group_by values in one group, whatever their other labels', () => {
    const a = alertGroup('q', 'oncall', spec, { alertname: 'high_cpu', service: 'api', instance: 'api-1' });
    const b = alertGroup('q', 'oncall', spec, { alertname: 'high_cpu', service: 'api', instance: 'api-2' });
    const c = alertGroup('q', 'oncall', spec, { alertname: 'high_cpu', service: 'web', instance: 'web-1' });
    expect(a).toEqual(b);
    expect(a.labels).toEqual({ alertname: 'high_cpu', service: 'api' });
    expect(a.workflowId).toMatch(/^alert-group\/q\/oncall\/[0-9a-f]{16}$/);
    expect(c.workflowId).not.toBe(a.workflowId);
    // `...` groups by every label: each alert alone.
    const all = { ...spec, groupBy: ['...'] };
    expect(alertGroup('q', 'oncall', all, { service: 'api', instance: 'api-1' }).workflowId).not.toBe(alertGroup('q', 'oncall', all, { service: 'api', instance: 'api-2' }).workflowId);
  });

  it('times batches: group_wait for a new group, group_interval after a batch, escalations at once, repeat_interval while firing', () => {
    const t = 1_000_000;
    expect(nextGroupSend({ nowMs: t, firstWaitingSinceMs: t - 5000, escalationWaiting: false, liveMembers: 0 }, spec)).toEqual({
      atMs: t + 25_000,
      kind: 'batch',
      reason: "group_wait 30s after the group's first alert",
    });
    expect(nextGroupSend({ nowMs: t, firstWaitingSinceMs: t, escalationWaiting: false, lastBatchAtMs: t - 60_000, lastSentAtMs: t - 60_000, liveMembers: 2 }, spec)).toEqual({
      atMs: t + 240_000,
      kind: 'batch',
      reason: "group_interval 5m after the group's last notification",
    });
    // A group quiet for longer than group_interval sends a new alert at once.
    expect(nextGroupSend({ nowMs: t, firstWaitingSinceMs: t, escalationWaiting: false, lastBatchAtMs: t - 600_000, liveMembers: 1 }, spec)?.atMs).toBe(t);
    expect(nextGroupSend({ nowMs: t, firstWaitingSinceMs: t, escalationWaiting: true, lastBatchAtMs: t - 1000, liveMembers: 1 }, spec)).toMatchObject({ atMs: t, reason: 'an escalation step of an announced alert goes at once' });
    expect(nextGroupSend({ nowMs: t, escalationWaiting: false, lastBatchAtMs: t - 1000, lastSentAtMs: t - 1000, liveMembers: 3 }, spec)).toEqual({
      atMs: t - 1000 + 4 * 3_600_000,
      kind: 'repeat',
      reason: 'repeat_interval 4h: 3 alert(s) still firing unacknowledged',
    });
    expect(nextGroupSend({ nowMs: t, escalationWaiting: false, lastBatchAtMs: t - 1000, lastSentAtMs: t - 1000, liveMembers: 0 }, spec)).toBeUndefined();
  });

  it('draws a batch as one Slack message with each alert and its own buttons, and one e-mail with each alert\'s links', () => {
    const n = (i: number): AlertNotification => ({
      alert_id: `fp-${i}`,
      timestamp: '2026-11-28T10:00:00.000Z',
      severity: i === 1 ? 'critical' : 'warning',
      service: 'api',
      instance: `api-${i}`,
      metric: 'cpu_usage_percent',
      current_value: 90 + i,
      threshold: 80,
      message: 'High CPU <usage>',
      description: 'CPU above 80%',
      suggested_actions: [],
      runbook_url: '',
      escalation_policy: 'oncall',
      correlation_id: `fp-${i}`,
      workflow_url: `http://ui/alert/fp-${i}`,
      level: 1,
      round: 0,
    });
    const items = Array.from({ length: 25 }, (_, i) => ({ notification: n(i), state: i === 2 ? { status: 'acknowledged' as const, acknowledgedBy: 'ana' } : { status: 'firing' as const } }));
    const slack = slackGroupMessage(items, { alertname: 'high_cpu', service: 'api' }, 'http://ui/group');
    expect((slack.blocks[0] as { text: { text: string } }).text.text).toBe(':red_circle: [CRITICAL] 24 of 25 alerts firing — alertname=high_cpu, service=api');
    const actions = slack.blocks.filter((b) => (b as { type: string }).type === 'actions') as Array<{ block_id: string; elements: Array<{ action_id: string; value: string }> }>;
    expect(actions).toHaveLength(20);
    expect(actions[2]!.elements.map((e) => e.action_id)).toEqual(['alert_resolve']); // acknowledged: Resolve only
    expect(actions[0]!.elements.map((e) => [e.action_id, e.value])).toEqual([['alert_acknowledge', 'fp-0'], ['alert_resolve', 'fp-0']]);
    expect(new Set(actions.map((a) => a.block_id)).size).toBe(20);
    expect(slack.blocks.length).toBeLessThanOrEqual(50);
    expect(JSON.stringify(slack.blocks)).toContain('High CPU &lt;usage&gt;');
    expect(JSON.stringify(slack.blocks)).toContain('and 5 more alerts');

    const mail = emailGroupMessage(items.slice(0, 3).map((i) => ({ ...i, links: { acknowledge: `https://x/ack?${i.notification.alert_id}`, resolve: `https://x/res?${i.notification.alert_id}` } })), { service: 'api' });
    expect(mail.subject).toBe('[CRITICAL] 2 of 3 alerts firing — service=api');
    expect(mail.text).toContain('Acknowledge: https://x/ack?fp-0');
    expect(mail.text).not.toContain('Acknowledge: https://x/ack?fp-2');
    expect(mail.text).toContain('Resolve: https://x/res?fp-2');
    expect(mail.html).toContain('High CPU &lt;usage&gt;');
  });
});
