import type { ClickHouseClient } from '@clickhouse/client';
import { CAPACITY_RESOURCES, forecastResources } from '../core/capacity';
import { weightedMean } from '../core/dashboard';
import { buildPerformanceReport, type BusinessWeek, type PerformanceReport, type ServiceWeek, type WeekFigures } from '../core/report';
import { createAlertHistoryStore } from '../store/alert-history';
import { shadowDiff } from '../core/backtest';
import { createAnalyticsQueries } from '../store/analytics';
import { createDashboardQueries } from '../store/dashboard';
import { createTrendActivities, PLATFORM, TREND_METRICS } from './trends';
import type { CapacityForecast } from '../core/capacity';
import type { TrendDirection } from '../core/trend';
import type { ReportChartData } from './report-charts';
import type { SloStatus } from '../core/slo';

/** ReportDeps are what the report activities need. */
export interface ReportDeps {
  clickhouse: ClickHouseClient;
  database: string;
  queryTimeoutMs: number;
  /** SLO statuses as of an instant (activities/slo.ts); the report has no SLO section without it. */
  measureSlos?: (req: { nowMs: number }) => Promise<SloStatus[]>;
  /** The shadow rules loaded now and the rules they would replace: each gets its week's diff, fired or not. */
  shadowRules?: () => Promise<Array<{ rule: string; replaces: string }>>;
}

const WEEK_MS = 7 * 86_400_000;
/** REPORT_METRICS are the hourly series the report reads (the trend job's four). */
const REPORT_METRICS = TREND_METRICS.map((m) => m.metric);
const HOUR_MS = 3_600_000;

/** StoredReport is one row of performance_reports, its body parsed. */
export interface StoredReport {
  report_id: string;
  generated_at: string;
  workflow_id: string;
  performance_report: PerformanceReport;
}

/**
 * createReportActivities builds the weekly report's activities: gather the two weeks' figures from the rollups and
 * assemble the report (core/report.ts), store it in performance_reports, list the stored ones.
 */
export function createReportActivities({ clickhouse, database, queryTimeoutMs, measureSlos, shadowRules }: ReportDeps) {
  const queries = createDashboardQueries({ clickhouse, database, queryTimeoutMs });
  const analytics = createAnalyticsQueries({ clickhouse, database });
  const trends = createTrendActivities({ clickhouse, database });
  const alertHistory = createAlertHistoryStore({ clickhouse, database });
  /** weekAlerts is the alert section's figures; a failed read costs the report its alert section, not the report. */
  const weekAlerts = async (startMs: number, endMs: number) => {
    try {
      const [week, before, shadows, loaded] = await Promise.all([
        alertHistory.summary({ fromMs: startMs, toMs: endMs }),
        alertHistory.summary({ fromMs: startMs - WEEK_MS, toMs: startMs }),
        alertHistory.shadowOccurrences(startMs, endMs),
        shadowRules ? shadowRules() : Promise.resolve([]),
      ]);
      // Each shadow rule against the rule it would replace, over the same week (a loaded one that never fired too).
      const byRule = new Map<string, { replaces: string; own: typeof shadows }>(loaded.map((r) => [r.rule, { replaces: r.replaces, own: [] }]));
      for (const o of shadows) {
        const entry = byRule.get(o.rule) ?? { replaces: o.replaces, own: [] };
        entry.own.push(o);
        byRule.set(o.rule, entry);
      }
      const shadow = await Promise.all(
        [...byRule].map(async ([rule, { replaces, own }]) => {
          const replaced = replaces ? await alertHistory.alerts({ fromMs: startMs, toMs: endMs, rule: replaces }, 10_000) : [];
          return shadowDiff(rule, replaces, own, replaced, endMs);
        }),
      );
      return { week, previousWeekAlerts: before.alerts, ...(shadow.length ? { shadow } : {}) };
    } catch (err) {
      console.warn(`[report] reading the alert history failed; the report goes without its alert section: ${(err as Error).message}`);
      return undefined;
    }
  };

  /** storedPlan reads the newest daily capacity plan made within two days before `atMs`, by service. */
  async function storedPlan(atMs: number): Promise<Map<string, Array<{ resource: string; forecast: CapacityForecast }>>> {
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const found = await analytics.latestCapacityPlan(day(atMs - 2 * 86_400_000), day(atMs));
    const out = new Map<string, Array<{ resource: string; forecast: CapacityForecast }>>();
    for (const r of found) out.set(r.service, [...(out.get(r.service) ?? []), { resource: r.resource, forecast: JSON.parse(r.forecast) as CapacityForecast }]);
    return out;
  }

  /** storedTrends reads the hourly trend job's newest platform analyses of the two hours before `atMs`. */
  async function storedTrends(atMs: number): Promise<Partial<Record<(typeof TREND_METRICS)[number]['trend'], TrendDirection>>> {
    const found = await trends.latestTrends({ atMs, maxAgeMs: 2 * HOUR_MS, services: [PLATFORM] });
    return Object.fromEntries(
      found.flatMap((a) => {
        const spec = TREND_METRICS.find((m) => m.metric === a.metric);
        return spec ? [[spec.trend, a.seasonal?.trend.direction ?? a.direction]] : [];
      }),
    );
  }
  /** hourly reads each service's hourly averages of the report's metrics over [fromMs, toMs), by service and metric. */
  async function hourly(fromMs: number, toMs: number) {
    const out = new Map<string, Map<string, Map<number, number>>>();
    for (const p of await analytics.hourlyAverages(REPORT_METRICS, fromMs, toMs)) {
      if (!out.has(p.service)) out.set(p.service, new Map());
      const byMetric = out.get(p.service)!;
      if (!byMetric.has(p.metric)) byMetric.set(p.metric, new Map());
      byMetric.get(p.metric)!.set(p.tMs, p.value);
    }
    return out;
  }

  /** availability is each service's share of minutes with samples in [fromMs, toMs), counted from its first minute. */
  async function availability(fromMs: number, toMs: number): Promise<Map<string, number>> {
    const found = await analytics.minutesWithData(['cpu_usage_percent', 'requests_per_second'], fromMs, toMs);
    const endMinute = Math.floor(Math.min(toMs, Date.now()) / 60_000);
    return new Map(found.map((r) => [r.service, Math.min(100, (100 * r.minutes) / Math.max(1, endMinute - r.firstMs / 60_000 + 1))]));
  }

  /** business reads the average prediction accuracy and profitable trades share of every service over a week. */
  const business = (fromMs: number, toMs: number) => analytics.overallAverages(['prediction_accuracy', 'profitable_trades_percent'], fromMs, toMs);

  /** figures reduces one service's hourly series of one week to the report's figures. */
  function figures(series: Map<string, Map<number, number>> | undefined, available: number | undefined): WeekFigures {
    const rps = series?.get('requests_per_second') ?? new Map<number, number>();
    // Each hour weighs by its request rate, so a busy hour's latency counts more than a quiet one's.
    const weightedBy = (metric: string) => weightedMean(series?.get(metric) ?? new Map<number, number>(), rps);
    const cpu = series?.get('cpu_usage_percent');
    return {
      availability: available ?? null,
      avgResponseTimeMs: weightedBy('response_time_p50_ms'),
      errorRatePercent: weightedBy('error_rate_percent'),
      requests: [...rps.values()].reduce((a, b) => a + b * 3600, 0),
      avgCpuPercent: cpu && cpu.size > 0 ? [...cpu.values()].reduce((a, b) => a + b, 0) / cpu.size : null,
    };
  }

  return {
    /**
     * generateWeeklyReport assembles the report of the week ending at `endMs` (the figures of the week before for
     * comparison, the capacity forecasts of every service as of the end).
     */
    async generateWeeklyReport(req: { endMs: number }): Promise<PerformanceReport> {
      const endMs = Math.floor(req.endMs / HOUR_MS) * HOUR_MS;
      const startMs = endMs - WEEK_MS;
      const [thisWeek, lastWeek, upThis, upLast, bizThis, bizLast, plan, stored, slo, alerts] = await Promise.all([
        hourly(startMs, endMs),
        hourly(startMs - WEEK_MS, startMs),
        availability(startMs, endMs),
        availability(startMs - WEEK_MS, startMs),
        business(startMs, endMs),
        business(startMs - WEEK_MS, startMs),
        storedPlan(endMs),
        storedTrends(endMs),
        // A broken config/slo.yaml costs the report its SLO section, not the report.
        measureSlos
          ? measureSlos({ nowMs: endMs }).catch((err: unknown) => {
              console.warn(`[report] SLO measurement failed; the report goes without it: ${(err as Error).message}`);
              return undefined;
            })
          : Promise.resolve(undefined),
        weekAlerts(startMs, endMs),
      ]);
      const services = [...new Set([...thisWeek.keys(), ...upThis.keys()])].sort();
      const history = await queries.history(services, CAPACITY_RESOURCES.map((r) => r.metric), endMs, 30);
      const weeks: ServiceWeek[] = services.map((service) => {
        const series = thisWeek.get(service);
        const hours = (metric: string) => [...(series?.get(metric) ?? new Map<number, number>()).entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
        // The daily plan's forecasts when it covered the service, else computed now.
        const capacity =
          plan.get(service) ?? forecastResources((metric) => history.get(`${service}\u0000${metric}`) ?? [], endMs, 30).flatMap(({ resource, forecast }) => (forecast ? [{ resource, forecast }] : []));
        return {
          service,
          thisWeek: figures(series, upThis.get(service)),
          lastWeek: figures(lastWeek.get(service), upLast.get(service)),
          hourly: { responseTimeMs: hours('response_time_p50_ms'), errorRatePercent: hours('error_rate_percent'), requestsPerSecond: hours('requests_per_second'), cpuPercent: hours('cpu_usage_percent') },
          capacity,
        };
      });
      const biz: BusinessWeek = {
        predictionAccuracy: [bizThis.get('prediction_accuracy') ?? null, bizLast.get('prediction_accuracy') ?? null],
        profitableTradesPercent: [bizThis.get('profitable_trades_percent') ?? null, bizLast.get('profitable_trades_percent') ?? null],
      };
      return buildPerformanceReport({ startMs, endMs, services: weeks, business: biz, storedTrends: stored, ...(slo ? { slo } : {}), ...(alerts ? { alerts } : {}) });
    },

    /**
     * reportCharts gathers what the report's charts draw: the week's hourly latency, error rate and throughput of
     * the busiest services (at most 8), and the capacity forecast most in need of attention (the soonest limit, else
     * the highest use of a limit) with its 30 days of history.
     */
    async reportCharts(req: { endMs: number }): Promise<ReportChartData> {
      const endMs = Math.floor(req.endMs / HOUR_MS) * HOUR_MS;
      const week = await hourly(endMs - WEEK_MS, endMs);
      const busiest = [...week.entries()]
        .map(([service, series]) => [service, [...(series.get('requests_per_second')?.values() ?? [])].reduce((a, b) => a + b, 0)] as const)
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .slice(0, 8)
        .map(([service]) => service)
        .sort();
      const series = (metric: string) => busiest.map((service) => ({ name: service, points: [...(week.get(service)?.get(metric) ?? new Map<number, number>())].sort((a, b) => a[0] - b[0]) }));
      const metrics: ReportChartData['metrics'] = [
        { key: 'latency', title: 'Response time p50 (hourly average)', unit: 'ms', series: series('response_time_p50_ms') },
        { key: 'errors', title: 'Error rate (hourly average)', unit: '%', series: series('error_rate_percent') },
        { key: 'throughput', title: 'Throughput (hourly average)', unit: 'req/s', series: series('requests_per_second') },
      ];
      const plan = await storedPlan(endMs);
      const services = [...week.keys()];
      const history = await queries.history(services, CAPACITY_RESOURCES.map((r) => r.metric), endMs, 30);
      const candidates = services.flatMap((service) =>
        (plan.get(service) ?? forecastResources((metric) => history.get(`${service}\u0000${metric}`) ?? [], endMs, 30).flatMap(({ resource, forecast }) => (forecast ? [{ resource, forecast }] : []))).map((f) => ({ service, ...f })),
      );
      const limitOf = (resource: string) => CAPACITY_RESOURCES.find((r) => r.resource === resource)?.threshold ?? null;
      const urgency = (c: (typeof candidates)[number]) => {
        const limit = limitOf(c.resource);
        if (c.forecast.days_until_threshold !== null) return 1000 - c.forecast.days_until_threshold;
        return limit ? c.forecast.predicted_usage / limit : -1;
      };
      const pick = candidates.sort((a, b) => urgency(b) - urgency(a))[0];
      const metricOf = (resource: string) => CAPACITY_RESOURCES.find((r) => r.resource === resource)!.metric;
      return {
        metrics,
        capacity: pick
          ? {
              service: pick.service,
              resource: pick.resource,
              unit: pick.resource === 'request_rate' ? 'req/s' : '%',
              history: history.get(`${pick.service}\u0000${metricOf(pick.resource)}`) ?? [],
              atMs: endMs + 30 * 86_400_000,
              predicted: pick.forecast.predicted_usage,
              interval: pick.forecast.confidence_interval,
              limit: limitOf(pick.resource),
            }
          : null,
      };
    },

    /** storeReport writes a report (a second write of the same report_id replaces the first). */
    async storeReport(report: PerformanceReport, workflowId: string): Promise<void> {
      const row = {
        report_id: report.report_id,
        generated_at: Math.floor(Date.now() / 1000),
        range_start: Math.floor(Date.parse(report.time_range.start) / 1000),
        range_end: Math.floor(Date.parse(report.time_range.end) / 1000),
        overall_performance: report.executive_summary.overall_performance,
        body: JSON.stringify(report),
        workflow_id: workflowId,
      };
      await analytics.insertReport(row);
    },

    /** listReports returns the latest version of the newest `limit` reports, newest first. */
    async listReports(limit: number): Promise<StoredReport[]> {
      return (await analytics.latestReports(limit)).map((r) => ({
        report_id: r.report_id,
        generated_at: new Date(r.generatedAtMs).toISOString(),
        workflow_id: r.workflow_id,
        performance_report: JSON.parse(r.body) as PerformanceReport,
      }));
    },

    /**
     * planCapacity forecasts every reporting service's resources `days` ahead as of `nowMs` and stores the plan in
     * capacity_forecasts (the daily Schedule's job); returns how many forecasts it stored.
     */
    async planCapacity(req: { nowMs: number; days: number; workflowId: string }): Promise<number> {
      const services = await analytics.servicesReporting('cpu_usage_percent', req.nowMs - 30 * 86_400_000);
      const history = await queries.history(services, CAPACITY_RESOURCES.map((r) => r.metric), req.nowMs, 30);
      const planDate = new Date(req.nowMs).toISOString().slice(0, 10);
      const generatedAt = Math.floor(Date.now() / 1000);
      const values = services.flatMap((service) =>
        forecastResources((metric) => history.get(`${service}\u0000${metric}`) ?? [], req.nowMs, req.days).flatMap(({ resource, forecast }) =>
          forecast ? [{ plan_date: planDate, generated_at: generatedAt, service_name: service, resource, forecast: JSON.stringify(forecast), workflow_id: req.workflowId }] : [],
        ),
      );
      await analytics.insertCapacityPlan(values);
      return values.length;
    },
  };
}
