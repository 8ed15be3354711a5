import type { CapacityForecast } from '../../core/capacity';
import { buildPerformanceReport, reportEmailMessage, reportId, reportSlackMessage, type ServiceWeek } from '../../core/report';
import { escapeHtml } from '../../core/notification';
import { detectTrend } from '../../core/trend';
import type { SloStatus } from '../../core/slo';

describe("the seed's trend analyzer (core/trend.ts)", () => {
  it('compares the last window with the one before, with the seed semantics', () => {
    expect(detectTrend([10, 10, 12, 12], 2, 0.1)).toBe('Increasing');
    expect(detectTrend([10, 10, 8, 8], 2, 0.1)).toBe('Decreasing');
    expect(detectTrend([10, 10, 10.5, 10.5], 2, 0.1)).toBe('Stable');
    // Exactly the sensitivity is not a change (the seed compares with >).
    expect(detectTrend([10, 11], 1, 0.1)).toBe('Stable');
  });

  it('is Insufficient under two windows (the seed checked one and read two) and survives a zero earlier average', () => {
    expect(detectTrend([1, 2, 3], 2, 0.1)).toBe('Insufficient');
    expect(detectTrend([], 1, 0.1)).toBe('Insufficient');
    expect(detectTrend([0, 0, 5, 5], 2, 0.1)).toBe('Increasing');
    expect(detectTrend([0, 0, -1, -1], 2, 0.1)).toBe('Decreasing');
    expect(detectTrend([0, 0, 0, 0], 2, 0.1)).toBe('Stable');
    // A negative earlier average: the change is measured against its size.
    expect(detectTrend([-10, -10, -5, -5], 2, 0.1)).toBe('Increasing');
  });
});

describe('the weekly performance report (core/report.ts)', () => {
  const END = Date.parse('2026-11-30T08:00:00Z');
  const flat = (v: number, hours = 168) => Array.from({ length: hours }, () => v);
  const rising = (from: number, to: number, hours = 168) => Array.from({ length: hours }, (_, i) => from + ((to - from) * i) / (hours - 1));
  const scaleUp: CapacityForecast = {
    predicted_usage: 88,
    recommended_capacity: 105.6,
    confidence_interval: [84, 92],
    scaling_recommendation: { type: 'ScaleUp', factor: 1.32, urgency: 'high', reason: 'r' },
    model: 'linear',
    holdout_rmse: { linear: 1 },
    days_until_threshold: 5,
    points: 720,
  };
  const service = (name: string, over: Partial<ServiceWeek> = {}): ServiceWeek => ({
    service: name,
    thisWeek: { availability: 99.95, avgResponseTimeMs: 20, errorRatePercent: 0.1, requests: 1_200_000, avgCpuPercent: 56 },
    lastWeek: { availability: 99.9, avgResponseTimeMs: 22, errorRatePercent: 0.1, requests: 1_000_000, avgCpuPercent: 50 },
    hourly: { responseTimeMs: flat(20), errorRatePercent: flat(0.1), requestsPerSecond: flat(2), cpuPercent: flat(56) },
    capacity: [],
    ...over,
  });

  it("fills the seed's performance_report from the week's figures", () => {
    const report = buildPerformanceReport({
      startMs: END - 7 * 86_400_000,
      endMs: END,
      services: [service('ml-inference'), service('feature-engineering', { capacity: [{ resource: 'cpu', forecast: scaleUp }] })],
      business: { predictionAccuracy: [0.76, 0.74], profitableTradesPercent: [67, 66] },
    });
    expect(report.report_id).toBe('perf_report_20261130');
    expect(report.time_range).toEqual({ start: '2026-11-23T08:00:00.000Z', end: '2026-11-30T08:00:00.000Z' });
    expect(report.executive_summary).toEqual({ overall_performance: 'excellent', availability_percent: 99.95, average_response_time_ms: 20, total_requests_processed: 2_400_000, business_impact: 'positive' });
    expect(report.service_performance[0]).toEqual({ service_name: 'ml-inference', availability: 99.95, avg_response_time: 20, error_rate: 0.1, throughput_improvement: 20, cost_efficiency: 80 });
    expect(report.trends).toEqual({ response_time_trend: 'stable', error_rate_trend: 'stable', throughput_trend: 'stable', resource_utilization_trend: 'stable' });
    expect(report.recommendations).toEqual([
      { priority: 'high', category: 'scaling', description: 'Consider scaling feature-engineering cpu by ×1.32 (its limit is reached in 5 days)', expected_impact: 'keeps cpu under its limit through the forecast (88.0 predicted, linear model)' },
    ]);
  });

  it("has the week's alerts: totals, MTTA/MTTR in minutes overall and per severity (weighted by counts), the noisiest rules", () => {
    const times = (alerts: number, acknowledged: number, resolved: number, mtta_s: number | null, mttr_s: number | null) => ({ alerts, acknowledged, resolved, mtta_s, mttr_s });
    const report = buildPerformanceReport({
      startMs: END - 7 * 86_400_000,
      endMs: END,
      services: [service('ml-inference')],
      business: { predictionAccuracy: [null, null], profitableTradesPercent: [null, null] },
      alerts: {
        previousWeekAlerts: 9,
        week: {
          ...times(6, 4, 5, 150, 1200),
          by_service_severity: [
            // critical: 3 acknowledged at 60 s and 1 at 300 s on average → (3×60 + 1×300) / 4 = 120 s = 2 min
            { service: 'a', severity: 'critical', ...times(3, 3, 3, 60, 600) },
            { service: 'b', severity: 'critical', ...times(1, 1, 1, 300, 2400) },
            { service: 'a', severity: 'warning', ...times(2, 0, 1, null, 1800) },
          ],
          noisiest_rules: [
            { rule: 'HighQueue', alerts: 4, services: 2, firing_s: 5400 },
            { rule: 'DiskFull', alerts: 2, services: 1, firing_s: 1800 },
          ],
        },
      },
    });
    expect(report.alerts).toEqual({
      total: 6,
      previous_week: 9,
      acknowledged: 4,
      resolved: 5,
      mtta_minutes: 2.5,
      mttr_minutes: 20,
      by_severity: [
        { severity: 'critical', alerts: 4, mtta_minutes: 2, mttr_minutes: 17.5 },
        { severity: 'warning', alerts: 2, mtta_minutes: null, mttr_minutes: 30 },
      ],
      top_rules: [
        { rule: 'HighQueue', alerts: 4, services: 2, firing_hours: 1.5 },
        { rule: 'DiskFull', alerts: 2, services: 1, firing_hours: 0.5 },
      ],
    });
    const email = reportEmailMessage(report, 'http://x/r', (t) => t);
    expect(email.text).toContain('Alerts: 6 fired (9 the week before; critical 4, warning 2) · MTTA 2.5 min · MTTR 20 min · noisiest: HighQueue (4), DiskFull (2)');
    expect(email.html).toContain('<tr><td>critical</td><td>4</td><td>2</td><td>17.5</td></tr>');
    expect(email.html).toContain('<tr><td>HighQueue</td><td>4</td><td>2</td><td>1.5</td></tr>');
    const quiet = buildPerformanceReport({
      startMs: END - 7 * 86_400_000,
      endMs: END,
      services: [service('ml-inference')],
      business: { predictionAccuracy: [null, null], profitableTradesPercent: [null, null] },
      alerts: { previousWeekAlerts: 2, week: { ...times(0, 0, 0, null, null), by_service_severity: [], noisiest_rules: [] } },
    });
    expect(reportSlackMessage(quiet, 'http://x/r').blocks[1]).toMatchObject({ text: { text: expect.stringContaining('Alerts: none fired this week (2 the week before).') } });
  });

  it('keeps the alert and shadow lines in the Slack section when many services missed their SLOs', () => {
    const times = { alerts: 1, acknowledged: 0, resolved: 1, mtta_s: null, mttr_s: 60 };
    const window = (met: boolean) => ({ availability: { measured: met ? 99.99 : 97, objective: 99.9, met }, latency: { measured: null, objective: 99, met: null }, errors: { measured: null, objective: 99, met: null } });
    const slo = Array.from({ length: 80 }, (_, i) => ({ service: `a-service-with-a-rather-long-name-${i}`, window7d: window(i % 10 === 0), errorBudgetRemaining: -i }) as unknown as SloStatus);
    const report = buildPerformanceReport({
      startMs: END - 7 * 86_400_000,
      endMs: END,
      services: [service('ml-inference')],
      business: { predictionAccuracy: [null, null], profitableTradesPercent: [null, null] },
      slo,
      alerts: {
        previousWeekAlerts: 0,
        week: { ...times, by_service_severity: [{ service: 'a', severity: 'critical', ...times }], noisiest_rules: [{ rule: 'HighQueue', alerts: 1, services: 1, firing_s: 60 }] },
        shadow: [{ rule: 'HighQueueV2', replaces: 'HighQueue', fired: 1, replaced_fired: 1, matched: 1, only_shadow: 0, only_replaced: 0, mean_fired_delta_s: null }],
      },
    });
    const text = (reportSlackMessage(report, 'http://x/r').blocks[1] as { text: { text: string } }).text.text;
    // The least budget left first, five by name, the rest counted.
    expect(text).toContain('SLOs: 8 of 80 services met every objective this week (missed: a-service-with-a-rather-long-name-79, -79% of its error budget left;');
    expect(text).toContain('a-service-with-a-rather-long-name-75, -75% of its error budget left; 67 more)');
    expect(text).toContain('Alerts: 1 fired');
    expect(text).toContain('Shadow HighQueueV2 (would replace HighQueue): 1 fired against 1; 1 the same incidents; 0 only the shadow, 0 only the live rule.');
  });

  it('reads trends from the last day against the day before, and recommends on errors and slower responses', () => {
    const slow = service('slow', {
      thisWeek: { availability: 99.2, avgResponseTimeMs: 80, errorRatePercent: 2, requests: 100_000, avgCpuPercent: 20 },
      hourly: { responseTimeMs: [...flat(20, 144), ...rising(40, 80, 24)], errorRatePercent: flat(2), requestsPerSecond: [...flat(1, 144), ...flat(2, 24)], cpuPercent: [...flat(30, 144), ...flat(20, 24)] },
    });
    const report = buildPerformanceReport({ startMs: END - 7 * 86_400_000, endMs: END, services: [slow], business: { predictionAccuracy: [null, null], profitableTradesPercent: [0.5, 0.6] } });
    expect(report.executive_summary).toMatchObject({ overall_performance: 'fair', business_impact: 'negative' });
    expect(report.trends).toEqual({ response_time_trend: 'degrading', error_rate_trend: 'stable', throughput_trend: 'increasing', resource_utilization_trend: 'optimizing' });
    expect(report.recommendations.map((r) => [r.priority, r.category])).toEqual([
      ['high', 'reliability'],
      ['medium', 'performance'],
    ]);
    expect(report.service_performance[0]!.cost_efficiency).toBeCloseTo(28.6, 1);
  });

  it('says so when there is no data rather than inventing figures', () => {
    const report = buildPerformanceReport({ startMs: END - 7 * 86_400_000, endMs: END, services: [], business: { predictionAccuracy: [null, null], profitableTradesPercent: [null, null] } });
    expect(report.executive_summary).toEqual({ overall_performance: 'no data', availability_percent: null, average_response_time_ms: null, total_requests_processed: 0, business_impact: 'unknown' });
    expect(report.trends.response_time_trend).toBe('insufficient data');
    expect(reportId(END)).toBe('perf_report_20261130');
  });

  it('draws the report for Slack and e-mail, escaping service names', () => {
    const report = buildPerformanceReport({ startMs: END - 7 * 86_400_000, endMs: END, services: [service('<svc>')], business: { predictionAccuracy: [null, null], profitableTradesPercent: [null, null] } });
    const slack = reportSlackMessage(report, 'http://x/r');
    expect(slack.text).toBe('Weekly performance report 2026-11-23 – 2026-11-30: excellent');
    expect(JSON.stringify(slack.blocks)).toContain('<http://x/r|Full report (perf_report_20261130)>');
    const mail = reportEmailMessage(report, 'http://x/r', escapeHtml);
    expect(mail.html).toContain('&lt;svc&gt;');
    expect(mail.html).not.toContain('<svc>');
    expect(mail.text).toContain('• <svc>: availability 99.95%');
  });
});
