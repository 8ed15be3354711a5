import { createAnomalyActivities, BUCKET_MS } from '../../activities/anomaly';
import { loadRuleFiles } from '../../activities/rules';
import { createTrendActivities } from '../../activities/trends';
import { createSloActivities } from '../../activities/slo';
import path from 'node:path';
import { stateQuery } from '../../workflows/messages';
import { alertWorkflowId, fingerprint } from '../../core/fingerprint';
import { ANOMALY_SCAN_SCHEDULE_ID, TREND_ANALYSIS_SCHEDULE_ID, scheduleDefinitions } from '../../store/schedules';
import { bearer } from '../helpers/api';
import { startAlertingStack, startJobStack, twoStepPolicy, type AlertingStack } from '../helpers/alerting';
import { eventually, quietTemporalLogs, testConfig, uniqueName } from '../helpers/stack';
import { anomalyScanWorkflow } from '../../workflows/anomaly-scan';

quietTemporalLogs();

const DAY = 288; // five-minute points
const DAYS = 6;
const END = Date.parse('2026-11-20T00:00:00Z');
const START = END - DAYS * DAY * BUCKET_MS;

/**
 * A generated week of a service's latency, one sample per five minutes: a rising trend (+0.01 ms per point), a daily
 * wave (±20 ms) and deterministic noise (±3 ms), with three planted anomalies: a spike, a drop below anything seen,
 * and the metric stuck at one value for 20 points — each more than a day (the suppression) after the one before.
 */
function generated(): { values: number[]; planted: Record<string, number> } {
  let seed = 11;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const values = Array.from({ length: DAYS * DAY }, (_, i) => 100 + 0.01 * i + 20 * Math.sin((2 * Math.PI * (i % DAY)) / DAY) + (random() - 0.5) * 6);
  const planted = { spike: 3 * DAY + 120, drop: 4 * DAY + 130, stuck: 5 * DAY + 200 };
  values[planted.spike] = 300;
  values[planted.drop] = 10;
  for (let i = planted.stuck; i < planted.stuck + 20; i++) values[i] = 117.5;
  return { values, planted };
}

/** The analytics jobs on the real servers: anomalies found in stored series, raised through the alert workflow. */
describe('anomaly detection on stored series', () => {
  let stack: AlertingStack;
  const service = uniqueName('anomalous');
  const metric = 'anomaly_probe_ms';
  const { values, planted } = generated();
  let anomalies: ReturnType<typeof createAnomalyActivities>;
  // A second service reporting live: two days ending with a spike in the newest complete bucket before `scanAt`.
  const live = uniqueName('live');
  const scanAt = Math.floor(Date.now() / BUCKET_MS) * BUCKET_MS + 30_000;
  const liveStart = scanAt - 30_000 - 2 * DAY * BUCKET_MS;
  const post = async (service: string, from: number, points: readonly number[]) => {
    const body = points.map((v, i) => ({
      application_metrics: { timestamp: new Date(from + i * BUCKET_MS + 60_000).toISOString(), service_name: service, instance_id: `${service}-1`, metrics: { [metric]: v } },
    }));
    for (let at = 0; at < body.length; at += 500) {
      const response = await stack.api.app.inject({ method: 'POST', url: '/api/v1/internal/monitoring/metrics', headers: bearer('service'), payload: body.slice(at, at + 500) });
      expect(response.statusCode).toBe(202);
    }
  };

  beforeAll(async () => {
    stack = await startAlertingStack({
      name: 'analytics',
      service,
      metric,
      rulesYaml: `anomaly_rules:\n  anomalies:\n    - {name: probe_anomaly, type: anomaly, metric: ${metric}, statistic: avg, severity: warning, labels: {category: performance}}\n`,
      escalationYaml: twoStepPolicy('analytics'),
    });
    await post(service, START, values);
    await post(live, liveStart, [...values.slice(0, 2 * DAY - 1), 300]);
    anomalies = createAnomalyActivities({
      clickhouse: stack.api.clickhouse,
      database: stack.api.config.clickhouse.database,
      temporal: stack.temporal,
      redis: stack.api.redis,
      taskQueue: stack.taskQueue,
      loadRuleGroups: () => loadRuleFiles(stack.env.MONITORING_RULES_PATH!),
    });
    // The samples are stored (the batch writer flushes within a second).
    await eventually(async () => {
      const found = await anomalies.detectAnomalies({ metric, statistic: 'avg', method: 'zscore', service, fromMs: START, toMs: END });
      expect(found.length).toBeGreaterThan(0);
    });
  }, 120_000);
  afterAll(() => stack?.close());

  it('finds each planted anomaly with the default method, with at most one false positive a day, and explains it', async () => {
    const found = await anomalies.detectAnomalies({ metric, statistic: 'avg', method: 'novelty', service, fromMs: START, toMs: END });
    const index = (atMs: number) => Math.round((atMs - START) / BUCKET_MS);
    const at = found.map((f) => index(f.atMs));
    expect(at).toContain(planted.spike);
    expect(at).toContain(planted.drop);
    // A stuck value is news once it has lasted longer than any earlier run and at least 12 points (an hour).
    expect(at).toContain(planted.stuck + 11);
    const falsePositives = at.filter((i) => ![planted.spike, planted.drop, planted.stuck + 11].includes(i));
    // The documented bound (core/anomaly.ts, README): at most one false positive per day of data on a seasonal series.
    expect(falsePositives.length).toBeLessThanOrEqual(DAYS);
    const spike = found.find((f) => index(f.atMs) === planted.spike)!;
    expect(spike).toMatchObject({ value: 300, method: 'novelty', reason: expect.stringContaining('above everything in the last') });
    expect(spike.expected[1]).toBeLessThan(300);
    expect(found.find((f) => index(f.atMs) === planted.drop)).toMatchObject({ value: 10, reason: expect.stringContaining('below everything') });
  });

  it('raises an anomaly rule’s alert through the alert workflow with the explanation, and the scan runs every minute', async () => {
    const schedule = scheduleDefinitions(testConfig(), []).find((s) => s.scheduleId === ANOMALY_SCAN_SCHEDULE_ID)!;
    expect(schedule.spec.intervals).toEqual([{ every: '1 minute' }]);
    expect(schedule.action).toMatchObject({ workflowType: anomalyScanWorkflow });

    // The scan 30 s after the live spike's bucket closed (the spike is the newest complete bucket), run by the
    // scheduled workflow on the worker.
    const scan = await stack.temporal.workflow.execute('anomalyScanWorkflow', { taskQueue: stack.taskQueue, workflowId: uniqueName('anomaly-scan'), args: [{ nowMs: scanAt }] });
    // The historical service has no newest bucket: not judged.
    expect(scan).toMatchObject({ rules: 1, series: 1, anomalies: 1, bucketMs: scanAt - 30_000 - BUCKET_MS });
    const workflowId = alertWorkflowId(fingerprint('probe_anomaly', { service: live, category: 'performance' }));
    const view = await eventually(() => stack.temporal.workflow.getHandle(workflowId).query(stateQuery));
    expect(view).toMatchObject({ phase: 'firing' });
    const message = await eventually(async () => {
      const m = stack.slack.messages.find((msg) => JSON.stringify(msg.blocks ?? msg.text).includes(live));
      expect(m).toBeDefined();
      return m!;
    });
    // The explanation — the reason, the expected band, the method — reaches the person paged.
    expect(JSON.stringify(message.blocks)).toContain('above everything in the last');

    // The next bucket is normal: the scan tells the workflow its condition cleared, and the alert resolves.
    await post(live, scanAt - 30_000, [values[2 * DAY]!]);
    const next = await eventually(async () => {
      const result = await anomalies.scanAnomalies({ nowMs: scanAt + BUCKET_MS });
      expect(result).toMatchObject({ series: 1, anomalies: 0 });
      return result;
    });
    expect(next.bucketMs).toBe(scanAt - 30_000);
    await eventually(async () => expect(await stack.temporal.workflow.getHandle(workflowId).query(stateQuery)).toMatchObject({ phase: 'resolved' }));

  });
});

/** The hourly trend job on the real servers: three weeks of a service's hourly CPU with a known trend and daily wave. */
describe('trend analysis', () => {
  let stack: AlertingStack;
  const service = uniqueName('trending');
  const HOUR = 3_600_000;
  const AT = Date.parse('2026-11-09T00:00:00Z'); // a Monday
  beforeAll(async () => {
    stack = await startJobStack('trends', service);
    // 21 days: CPU rising 30 → 51 % (+0.04 %/h), a daily wave of ±8 % peaking at 06:00 UTC; latency flat at 20 ms.
    let seed = 5;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const body = Array.from({ length: 21 * 24 }, (_, h) => {
      const timestamp = new Date(AT - (21 * 24 - h) * HOUR + 60_000).toISOString();
      const cpu = 30 + 0.04 * h + 8 * Math.sin((2 * Math.PI * (h % 24)) / 24) + (random() - 0.5) * 2;
      return [
        { system_metrics: { timestamp, service_name: service, instance_id: `${service}-1`, metrics: { cpu_usage_percent: cpu, memory_usage_percent: 40 } } },
        { application_metrics: { timestamp, service_name: service, instance_id: `${service}-1`, metrics: { response_time_p50_ms: 20 + (random() - 0.5), requests_per_second: 10, error_rate_percent: 0.1 } } },
      ];
    }).flat();
    for (let at = 0; at < body.length; at += 500) {
      const response = await stack.api.app.inject({ method: 'POST', url: '/api/v1/internal/monitoring/metrics', headers: bearer('service'), payload: body.slice(at, at + 500) });
      expect(response.statusCode).toBe(202);
    }
  }, 120_000);
  afterAll(() => stack?.close());

  it('finds the trend direction with its significance and the daily seasonality, stores them hourly, and serves them', async () => {
    const schedule = scheduleDefinitions(testConfig(), []).find((s) => s.scheduleId === TREND_ANALYSIS_SCHEDULE_ID)!;
    expect(schedule.spec.calendars).toEqual([{ minute: 5, hour: '*' }]);
    const outcome = await eventually(async () => {
      const run = await stack.temporal.workflow.execute('trendAnalysisWorkflow', { taskQueue: stack.taskQueue, workflowId: uniqueName('trend-analysis'), args: [{ nowMs: AT + 5 * 60_000 }] });
      expect(run.analyses).toBeGreaterThanOrEqual(4);
      return run;
    }, 30_000, 1_000);
    expect(outcome.analyses).toBeGreaterThanOrEqual(4);
    const stored = await createTrendActivities({ clickhouse: stack.api.clickhouse, database: stack.api.config.clickhouse.database }).latestTrends({ atMs: AT, maxAgeMs: HOUR, services: [service] });
    expect(stored.map((a) => a.metric).sort()).toEqual(['cpu_usage_percent', 'error_rate_percent', 'requests_per_second', 'response_time_p50_ms']);
    const cpu = stored.find((a) => a.metric === 'cpu_usage_percent')!;
    expect(cpu.seasonal!.trend).toMatchObject({ direction: 'Increasing', significant: true });
    expect(cpu.seasonal!.trend.slopePerPoint).toBeCloseTo(0.04, 2);
    expect(cpu.seasonal!.seasonality.daily!.strength).toBeGreaterThan(0.8);
    const profile = cpu.seasonal!.seasonality.daily!.profile;
    expect(Math.abs(profile.indexOf(Math.max(...profile)) - 6)).toBeLessThanOrEqual(1);
    // The forecast of the next hours follows the trend and the wave, inside its band.
    const truth = (h: number) => 30 + 0.04 * (21 * 24 + h - 1) + 8 * Math.sin((2 * Math.PI * ((h - 1) % 24)) / 24);
    for (const f of cpu.seasonal!.forecast.slice(0, 6)) {
      expect(truth(f.step)).toBeGreaterThanOrEqual(f.lower - 1);
      expect(truth(f.step)).toBeLessThanOrEqual(f.upper + 1);
    }
    const latency = stored.find((a) => a.metric === 'response_time_p50_ms')!;
    expect(latency.seasonal!.trend.direction).toBe('Stable');

    // The API serves the same analyses (newest at or before `at`).
    const served = await stack.api.app.inject({ url: `/api/v1/admin/monitoring/trends?service=${service}&at=${new Date(AT).toISOString()}`, headers: bearer('admin') });
    expect(served.statusCode).toBe(200);
    expect(served.json().analyses.find((a: { metric: string }) => a.metric === 'cpu_usage_percent')).toMatchObject({ service, direction: cpu.direction, seasonal: { trend: { direction: 'Increasing' } } });
    expect((await stack.api.app.inject({ url: '/api/v1/admin/monitoring/trends?at=yesterday', headers: bearer('admin') })).json()).toMatchObject({ error: 'validation_failed', field: 'querystring.at' });
  });
});

/** SLOs on the real servers: two hours of a service's minutes, the last 90 at 2 % errors (20× the 0.1 % budget rate). */
describe('SLO compliance and burn-rate alerts', () => {
  let stack: AlertingStack;
  const service = uniqueName('slo');
  const MINUTE = 60_000;
  const nowMs = Math.floor(Date.now() / MINUTE) * MINUTE;
  beforeAll(async () => {
    stack = await startJobStack('slo', service);
    const body = Array.from({ length: 120 }, (_, m) => ({
      application_metrics: {
        timestamp: new Date(nowMs - (120 - m) * MINUTE + 1_000).toISOString(),
        service_name: service,
        instance_id: `${service}-1`,
        metrics: { requests_per_second: 10, error_rate_percent: m >= 30 ? 2 : 0, response_time_p95_ms: m % 10 === 0 ? 1500 : 300 },
      },
    }));
    const response = await stack.api.app.inject({ method: 'POST', url: '/api/v1/internal/monitoring/metrics', headers: bearer('service'), payload: body });
    expect(response.statusCode).toBe(202);
  }, 120_000);
  afterAll(() => stack?.close());

  it('measures compliance and the budget, raises the fast and slow burn alerts, and shows them in the dashboard data', async () => {
    const slo = createSloActivities({ clickhouse: stack.api.clickhouse, database: stack.api.config.clickhouse.database, redis: stack.api.redis, temporal: stack.temporal, taskQueue: stack.taskQueue, sloPath: path.join(__dirname, '..', '..', 'config', 'slo.yaml') });
    const [status] = await eventually(async () => {
      const found = await slo.measureSlos({ nowMs, services: [service] });
      expect(found[0]?.window7d.availability.measured).toBe(100);
      return found;
    });
    // 120 minutes reported of 120; 12 of 120 minutes over the 1,000 ms p95 threshold; 90 × 2 % of 120 equal minutes failed.
    expect(status!.window7d).toEqual({
      availability: { measured: 100, objective: 99.9, met: true },
      latency: { measured: 90, objective: 99, met: false },
      errors: { measured: 98.5, objective: 99.9, met: false },
    });
    expect(status!.burnRates).toEqual({ '5m': 20, '30m': 20, '1h': 20, '6h': 15 });
    expect(status!).toMatchObject({ fastBurn: true, slowBurn: true, errorBudgetRemaining: -1400 });

    // The scheduled check (through the worker) raises both alerts through the alert workflow.
    const checked = await stack.temporal.workflow.execute('sloCheckWorkflow', { taskQueue: stack.taskQueue, workflowId: uniqueName('slo-check'), args: [{ nowMs }] });
    expect(checked.fastBurn).toBeGreaterThanOrEqual(1);
    for (const rule of ['slo_error_budget_fast_burn', 'slo_error_budget_slow_burn']) {
      const workflowId = alertWorkflowId(fingerprint(rule, { service, category: 'slo' }));
      await eventually(async () => expect(await stack.temporal.workflow.getHandle(workflowId).query(stateQuery)).toMatchObject({ phase: 'firing' }));
    }
    const paged = await eventually(async () => {
      const m = stack.slack.messages.find((msg) => JSON.stringify(msg.blocks).includes(service) && JSON.stringify(msg.blocks).includes('faster than sustainable'));
      expect(m).toBeDefined();
      return m!;
    });
    expect(JSON.stringify(paged.blocks)).toContain('20× faster than sustainable over 1h');

    // The dashboard data shows the check's statuses; the API measures the same.
    const dashboard = await stack.api.app.inject({ url: `/api/v1/public/monitoring/dashboard?type=slo`, headers: bearer('admin') });
    expect(dashboard.statusCode).toBe(200);
    expect(dashboard.json().dashboard_data.slo.find((s: { service_name: string }) => s.service_name === service)).toMatchObject({ errors_7d: 98.5, latency_7d: 90, fast_burn: true, slow_burn: true, burn_rate_1h: 20, error_budget_remaining: -1400 });
    const served = await stack.api.app.inject({ url: `/api/v1/admin/monitoring/slo?service=${service}&at=${new Date(nowMs).toISOString()}`, headers: bearer('admin') });
    expect(served.json().services[0]).toMatchObject({ service, fastBurn: true, window7d: { errors: { measured: 98.5 } } });
  });
});

/** The business intelligence tracker on the real servers: a day of events and a day of business-metric gauges. */
describe('business intelligence', () => {
  let stack: AlertingStack;
  const service = uniqueName('trading');
  const DAY1 = Date.parse('2026-11-10T00:00:00Z');
  const DAY2 = DAY1 + 86_400_000;
  beforeAll(async () => {
    stack = await startJobStack('business', service);
    const at = (minute: number) => new Date(DAY1 + 3_600_000 + minute * 60_000).toISOString();
    const event = (i: number, event_type: string, attributes: Record<string, string | number | boolean>, user = `u${i % 3}`) => ({ event_id: `${service}-${i}`, event_type, timestamp: at(i), service_name: service, user_id: user, attributes });
    const events = [
      // 10 momentum predictions (8 right, confidence 0.7) and 10 mean-reversion ones (5 right, confidence 0.5).
      ...Array.from({ length: 10 }, (_, i) => event(i, 'prediction', { strategy: 'momentum', success: i < 8, confidence: 0.7 })),
      ...Array.from({ length: 10 }, (_, i) => event(10 + i, 'prediction', { strategy: 'mean_reversion', success: i < 5, confidence: 0.5 })),
      // Trades: momentum +100, +50, −20, +30; mean reversion −10, −5; each 1,000 in volume.
      ...[[100, 'AAPL'], [50, 'MSFT'], [-20, 'AAPL'], [30, 'TSLA']].map(([profit, symbol], i) => event(20 + i, 'trade', { strategy: 'momentum', profit: profit!, symbol: symbol!, volume: 1000 })),
      ...[[-10, 'GOOG'], [-5, 'GOOG']].map(([profit, symbol], i) => event(24 + i, 'trade', { strategy: 'mean_reversion', profit: profit!, symbol: symbol!, volume: 1000 })),
      // API requests: 5 basic, 2 premium.
      ...Array.from({ length: 7 }, (_, i) => event(26 + i, 'api_request', { tier: i < 5 ? 'basic' : 'premium' })),
    ];
    const posted = await stack.api.app.inject({ method: 'POST', url: '/api/v1/internal/monitoring/events', headers: bearer('service'), payload: { events } });
    expect(posted.statusCode).toBe(202);
    // Day 2: no events, only the services' gauges.
    const gauges = [
      { timestamp: new Date(DAY2 + 3_600_000).toISOString(), metrics: { prediction_accuracy: 0.7, active_users: 100, api_usage_by_tier: { free: 10 } } },
      { timestamp: new Date(DAY2 + 7_200_000).toISOString(), metrics: { prediction_accuracy: 0.74, active_users: 234, api_usage_by_tier: { free: 20 } } },
    ].map((g) => ({ business_metrics: { ...g, service_name: service } }));
    const metrics = await stack.api.app.inject({ method: 'POST', url: '/api/v1/internal/monitoring/metrics', headers: bearer('service'), payload: gauges });
    expect(metrics.statusCode).toBe(202);
  }, 120_000);
  afterAll(() => stack?.close());

  it('reports trading KPIs per day, each strategy’s effectiveness, and usage and revenue by API tier', async () => {
    const url = `/api/v1/admin/monitoring/business?granularity=day&service=${service}&from=${new Date(DAY1).toISOString()}&to=${new Date(DAY2 + 86_400_000).toISOString()}`;
    const body = await eventually(async () => {
      const response = await stack.api.app.inject({ url, headers: bearer('admin') });
      expect(response.statusCode).toBe(200);
      expect(response.json().periods).toHaveLength(2);
      return response.json();
    });
    const [day1, day2] = body.periods;
    expect(day1.start).toBe('2026-11-10T00:00:00.000Z');
    // 13 of 20 predictions right; confidence (10 × 0.7 + 10 × 0.5) / 20; 3 of 6 trades profitable; (160 − 15) / 6 profit each.
    expect(day1.kpis).toEqual({
      prediction_accuracy: 0.65,
      average_confidence: 0.6,
      successful_trades_percent: 50,
      profitable_trades_percent: 50,
      average_profit_per_trade: 24.1667,
      predictions: 20,
      trades: 6,
      successful_trades: 3,
      trading_volume: 6000,
      unique_symbols: 4,
      active_users: 3,
    });
    expect(day1.strategies).toEqual([
      { strategy: 'mean_reversion', predictions: 10, success_rate: 0.5, trades: 2, profitable_trades_percent: 0, total_profit: -15, average_profit_per_trade: -7.5 },
      { strategy: 'momentum', predictions: 10, success_rate: 0.8, trades: 4, profitable_trades_percent: 75, total_profit: 160, average_profit_per_trade: 40 },
    ]);
    // config/business.yaml: basic 0.0004, premium 0.0015 per request.
    expect(day1.api_tiers).toEqual([
      { tier: 'basic', requests: 5, reported_usage: null, revenue: 0.002 },
      { tier: 'premium', requests: 2, reported_usage: null, revenue: 0.003 },
    ]);
    // Day 2 from the gauges: mean accuracy, peak active users, the tier gauge's mean.
    expect(day2.kpis).toMatchObject({ prediction_accuracy: 0.72, active_users: 234, predictions: null, trades: null });
    expect(day2.api_tiers).toEqual([{ tier: 'free', requests: 0, reported_usage: 15, revenue: 0 }]);

    const hourly = await stack.api.app.inject({ url: url.replace('granularity=day', 'granularity=hour'), headers: bearer('admin') });
    expect(hourly.json().periods.map((p: { start: string }) => p.start)).toEqual(['2026-11-10T01:00:00.000Z', '2026-11-11T01:00:00.000Z', '2026-11-11T02:00:00.000Z']);
    expect((await stack.api.app.inject({ url: url.replace('granularity=day', 'granularity=month'), headers: bearer('admin') })).json()).toMatchObject({ error: 'validation_failed', field: 'querystring.granularity' });
    expect((await stack.api.app.inject({ url: `/api/v1/admin/monitoring/business?from=2026-11-10T00:00:00Z&to=2026-11-01T00:00:00Z`, headers: bearer('admin') })).json()).toMatchObject({ field: 'querystring.from' });
  });
});
