import type { CapacityForecast } from '../../core/capacity';
import { buildPerformanceReport, reportEmailMessage, reportId, reportSlackMessage, type ServiceWeek } from '../../core/report';
import { escapeHtml } from '../../core/notification';
import { detectTrend } from '../../core/trend';

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
