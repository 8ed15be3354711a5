import type { AlertInput, HistoryRow } from '../../core/alert';
import { buildAlertTimeline, type TimelineEvent } from '../../core/alert-timeline';
import { BURN_RULES } from '../../core/slo';
import type { EscalationSnapshot } from '../../core/escalation';

const T0 = Date.parse('2026-12-07T10:00:00Z');
const rule = BURN_RULES[1]!;
const input: AlertInput = {
  fingerprint: '0123456789abcdef',
  rule,
  labels: { category: 'slo' },
  service: 'ml-inference',
  instance: '',
  firstBreach: { breaching: true, value: 6.98, atMs: T0 },
  staleAfterMs: 240_000,
};
const alertId = 'alert_0123456789abcdef_1796637600';
const snapshot: EscalationSnapshot = {
  policy: { name: 'ml-team-oncall', description: '', repeat: 0, steps: [{ waitMs: 300_000, targets: [{ channel: 'slack', to: '#ml-alerts' }, { channel: 'email', to: 'oncall@x' }] }] },
  dedup: { windowMs: 300_000, maxPerHour: 2 },
  timeoutMs: 30_000,
  maxAttempts: 4,
} as EscalationSnapshot;

describe('alert timeline (pure)', () => {
  it('counts a notification group’s deliveries as the alert’s, and says an SLO alert’s condition instead of its placeholder threshold', () => {
    const events: TimelineEvent[] = [
      { kind: 'started', atMs: T0, runId: 'r1', input, continued: false },
      { kind: 'signal', atMs: T0, name: 'observe', arg: { breaching: true, value: 6.98, atMs: T0 } },
      { kind: 'local', atMs: T0 + 10, activity: 'recallFirings', result: { notifiedAtMs: [], messages: [] } },
      { kind: 'local', atMs: T0 + 20, activity: 'escalationSnapshot', result: snapshot },
      { kind: 'local', atMs: T0 + 30, activity: 'notificationGate', result: { muted: false, reason: 'not silenced or inhibited' } },
      { kind: 'local', atMs: T0 + 40, activity: 'joinAlertGroup', result: null },
      { kind: 'signal', atMs: T0 + 900, name: 'groupDelivered', arg: { alertId, stepIndex: 0, sent: [{ key: 'k1', channel: 'slack', to: '#ml-alerts', slackChannel: 'C1', ts: '1.1', group: 'g' }, { key: 'k2', channel: 'email', to: 'oncall@x', messageId: '<m>', group: 'g' }], failed: 0 } },
    ];
    const rows: HistoryRow[] = [
      { alert_id: alertId, fingerprint: input.fingerprint, rule_name: rule.name, timestampMs: T0 + 5, service_name: 'ml-inference', instance_id: '', severity: 'warning', metric_name: 'error_rate_percent', threshold_value: 0, actual_value: 6.98, status: 'firing', duration_minutes: 0, acknowledged_by: '', resolution_notes: '', labels: {}, workflow_id: 'alert/0123456789abcdef' },
    ];
    const t = buildAlertTimeline(alertId, 'alert/0123456789abcdef', events, rows);
    expect(t.entries.map((e) => e.kind)).toEqual(['breach', 'firing', 'decision', 'grouped', 'notification', 'notification']);
    expect(t.entries[0]!.text).toBe('evaluation saw the breach: error_rate_percent 6.98 (error budget burn rate > 6 over 6h and 30m)');
    expect(t.entries[1]!.text).not.toContain('threshold 0');
    expect(t.notifications.map((n) => [n.channel, n.to, n.status, n.level])).toEqual([
      ['slack', '#ml-alerts', 'delivered', 1],
      ['email', 'oncall@x', 'delivered', 1],
    ]);
    expect(t.why).toBe('notified slack #ml-alerts, email oncall@x (policy ml-team-oncall: first firing in the last hour).');
  });

  it('says an alert that ended pending never notified anyone', () => {
    const t = buildAlertTimeline(alertId, 'alert/0123456789abcdef', [
      { kind: 'started', atMs: T0, runId: 'r1', input, continued: false },
      { kind: 'signal', atMs: T0, name: 'observe', arg: { breaching: true, value: 7, atMs: T0 } },
      { kind: 'signal', atMs: T0 + 30_000, name: 'observe', arg: { breaching: false, value: 1, atMs: T0 + 30_000 } },
      { kind: 'completed', atMs: T0 + 30_010, result: { alertId, phase: 'inactive', reason: 'condition-cleared', fired: false } },
    ], []);
    expect(t.entries.map((e) => e.kind)).toEqual(['breach', 'cleared', 'ended']);
    expect(t.why).toBe("it never fired (it ended while pending, before its rule's `for` elapsed), so nobody was notified.");
  });
});
