import type { HistoryRow } from '../../core/alert';
import { createClickHouseStore } from '../../store/clickhouse';
import { bearer } from '../helpers/api';
import { startAlertingStack, twoStepPolicy, type AlertingStack } from '../helpers/alerting';
import { eventually, uniqueName } from '../helpers/stack';

const HISTORY = '/api/v1/admin/monitoring/alerts/history';
const MINUTE = 60_000;
const DAY = 86_400_000;

/**
 * Alert history (issue 20 part 3): what alert_history holds, read back per alert and aggregated — MTTA, MTTR, the
 * noisiest rules, alerts per week — on the real ClickHouse, and a real alert's life (fired, acknowledged, resolved)
 * as the API tells it.
 */
describe('alert history', () => {
  const service = uniqueName('hist');
  const rule = uniqueName('hist_queue').replaceAll('-', '_');
  let stack: AlertingStack;

  beforeAll(async () => {
    stack = await startAlertingStack({
      name: 'hist',
      service,
      metric: 'hist_queue_depth',
      rulesYaml: `hist_rules:\n  hist:\n    - name: ${rule}\n      expression: 'hist_queue_depth{service="${service}"} > 100'\n      severity: critical\n`,
      escalationYaml: twoStepPolicy('hist', '1h'),
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });

  const get = async (query: Record<string, string>, role: 'admin' | 'viewer' | 'service' = 'admin') =>
    stack.api.app.inject({ url: `${HISTORY}?${new URLSearchParams(query)}`, headers: bearer(role) });

  it('lists each alert that fired in the range with its acknowledgement and resolution, and aggregates MTTA, MTTR, rules and weeks', async () => {
    const svc = `${service}-seeded`;
    const history = createClickHouseStore({ clickhouse: stack.api.clickhouse, database: stack.api.config.clickhouse.database });
    // Whole minutes, 10 days ago: a fixed shape whatever the day the test runs on.
    const t0 = Math.floor((Date.now() - 10 * DAY) / MINUTE) * MINUTE;
    const base: Omit<HistoryRow, 'alert_id' | 'status' | 'timestampMs'> = {
      fingerprint: 'fp', rule_name: 'HighQueue', service_name: svc, instance_id: 'q-1', severity: 'critical', metric_name: 'queue_depth',
      threshold_value: 100, actual_value: 250, duration_minutes: 0, acknowledged_by: '', resolution_notes: '', labels: {}, workflow_id: 'alert/fp',
    };
    const rows: HistoryRow[] = [
      // a: acknowledged after 1 min by alice, resolved after 5 min.
      { ...base, alert_id: 'a', status: 'firing', timestampMs: t0 },
      { ...base, alert_id: 'a', status: 'acknowledged', timestampMs: t0 + MINUTE, acknowledged_by: 'alice' },
      { ...base, alert_id: 'a', status: 'resolved', timestampMs: t0 + 5 * MINUTE, resolution_notes: 'condition cleared' },
      // b: resolved after 2 min, never acknowledged.
      { ...base, alert_id: 'b', status: 'firing', timestampMs: t0 + 60 * MINUTE },
      { ...base, alert_id: 'b', status: 'resolved', timestampMs: t0 + 62 * MINUTE, resolution_notes: 'condition cleared' },
      // c: still firing, another rule; d: a warning, acknowledged after 3 min, a week later.
      { ...base, alert_id: 'c', rule_name: 'DiskFull', status: 'firing', timestampMs: t0 + 120 * MINUTE },
      { ...base, alert_id: 'd', severity: 'warning', status: 'firing', timestampMs: t0 + 7 * DAY },
      { ...base, alert_id: 'd', severity: 'warning', status: 'acknowledged', timestampMs: t0 + 7 * DAY + 3 * MINUTE, acknowledged_by: 'bob' },
      // e: never fired (a settled resolution alone) — not an alert; f: fired before the range.
      { ...base, alert_id: 'e', status: 'resolved', timestampMs: t0 + 30 * MINUTE },
      { ...base, alert_id: 'f', status: 'firing', timestampMs: t0 - 2 * DAY },
      { ...base, alert_id: 'f', status: 'resolved', timestampMs: t0 + 10 * MINUTE },
    ];
    // A retried write of a transition (the table collapses it later; until then the reader must not count it twice).
    rows.push({ ...rows[0]! });
    for (const row of rows) await history.insertAlertHistory(row);

    const from = new Date(t0 - DAY).toISOString();
    const response = await get({ service: svc, from, to: new Date(t0 + 8 * DAY).toISOString() });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.alerts.map((a: { alert_id: string }) => a.alert_id)).toEqual(['d', 'c', 'b', 'a']);
    const byId = Object.fromEntries(body.alerts.map((a: { alert_id: string }) => [a.alert_id, a]));
    expect(byId.a).toMatchObject({
      status: 'resolved', rule: 'HighQueue', severity: 'critical', value: 250, threshold: 100, acknowledged_by: 'alice', resolution: 'condition cleared',
      fired_at: new Date(t0).toISOString(), acknowledged_at: new Date(t0 + MINUTE).toISOString(), resolved_at: new Date(t0 + 5 * MINUTE).toISOString(),
      time_to_acknowledge_s: 60, time_to_resolve_s: 300,
    });
    expect(byId.b).toMatchObject({ status: 'resolved', acknowledged_at: null, acknowledged_by: '', time_to_acknowledge_s: null, time_to_resolve_s: 120 });
    expect(byId.c).toMatchObject({ status: 'firing', rule: 'DiskFull', resolved_at: null, time_to_resolve_s: null });
    expect(byId.d).toMatchObject({ status: 'acknowledged', severity: 'warning', acknowledged_by: 'bob', time_to_acknowledge_s: 180 });

    const { summary } = body;
    expect(summary).toMatchObject({ alerts: 4, acknowledged: 2, resolved: 2, mtta_s: 120, mttr_s: 210 });
    expect(summary.by_service_severity).toEqual([
      { service: svc, severity: 'critical', alerts: 3, acknowledged: 1, resolved: 2, mtta_s: 60, mttr_s: 210 },
      { service: svc, severity: 'warning', alerts: 1, acknowledged: 1, resolved: 0, mtta_s: 180, mttr_s: null },
    ]);
    expect(summary.noisiest_rules.map((r: { rule: string; alerts: number }) => [r.rule, r.alerts])).toEqual([['HighQueue', 3], ['DiskFull', 1]]);
    const monday = (ms: number) => {
      const d = new Date(ms);
      d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
      return d.toISOString().slice(0, 10);
    };
    const weeks = new Map<string, number>();
    for (const ms of [t0, t0 + 60 * MINUTE, t0 + 120 * MINUTE, t0 + 7 * DAY]) weeks.set(monday(ms), (weeks.get(monday(ms)) ?? 0) + 1);
    expect(summary.per_week).toEqual([...weeks].map(([week, alerts]) => ({ week, alerts })));

    // Filters: severity, rule, a range that holds only the first week, and the limit (the summary still counts all).
    expect((await get({ service: svc, from, severity: 'warning' })).json().alerts.map((a: { alert_id: string }) => a.alert_id)).toEqual(['d']);
    expect((await get({ service: svc, from, rule: 'DiskFull' })).json().summary.alerts).toBe(1);
    expect((await get({ service: svc, from, to: new Date(t0 + DAY).toISOString() })).json().summary).toMatchObject({ alerts: 3, mtta_s: 60, mttr_s: 210 });
    const limited = (await get({ service: svc, from, limit: '1' })).json();
    expect([limited.alerts.length, limited.summary.alerts]).toEqual([1, 4]);
  });

  it('tells a real alert as it fired, was acknowledged and resolved', async () => {
    await stack.driver.push('q-0', 500);
    await stack.driver.evaluate();
    const alertId = await eventually(async () => {
      const firing = (await stack.driver.active()).find((a) => a.status === 'firing');
      expect(firing).toBeDefined();
      return firing!.alert_id;
    }, 60_000, 500);
    expect((await stack.api.app.inject({ method: 'POST', url: `/api/v1/alerts/${alertId}/ack`, headers: bearer('admin'), payload: { note: 'looking' } })).statusCode).toBe(200);
    await stack.driver.push('q-0', 1);
    await stack.driver.evaluate();
    const record = await eventually(async () => {
      const alerts = (await get({ service })).json().alerts as Array<Record<string, unknown>>;
      expect(alerts).toHaveLength(1);
      expect(alerts[0]!.status).toBe('resolved');
      return alerts[0]!;
    }, 60_000, 500);
    expect(record).toMatchObject({ alert_id: alertId, rule, service, instance: 'q-0', severity: 'critical', value: 500, threshold: 100, acknowledged_by: 'admin' });
    expect(record.time_to_acknowledge_s as number).toBeGreaterThan(0);
    expect(record.time_to_resolve_s as number).toBeGreaterThanOrEqual(record.time_to_acknowledge_s as number);
    expect(String(record.workflow_id)).toMatch(/^alert\//);
  }, 120_000);

  it('refuses bad parameters naming the field, and keys other than admin', async () => {
    const bad = async (query: Record<string, string>, field: string) => {
      const r = await get(query);
      expect(r.statusCode).toBe(400);
      expect(JSON.stringify(r.json())).toContain(field);
    };
    await bad({ severity: 'urgent' }, 'severity');
    await bad({ from: 'yesterday' }, 'from');
    await bad({ from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'from');
    await bad({ limit: '0' }, 'limit');
    expect((await get({}, 'viewer')).statusCode).toBe(403);
    expect((await get({}, 'service')).statusCode).toBe(403);
    expect((await stack.api.app.inject({ url: HISTORY })).statusCode).toBe(401);
  });
});
