import type { ClickHouseClient } from '@clickhouse/client';
import { CAPACITY_RESOURCES, forecastResources } from '../core/capacity';
import { sqlIdentifier } from '../core/escape';
import { weightedMean } from '../core/dashboard';
import { buildPerformanceReport, type BusinessWeek, type PerformanceReport, type ServiceWeek, type WeekFigures } from '../core/report';
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
}

const WEEK_MS = 7 * 86_400_000;
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
export function createReportActivities({ clickhouse, database, queryTimeoutMs, measureSlos }: ReportDeps) {
  const db = sqlIdentifier(database);
  const queries = createDashboardQueries({ clickhouse, database, queryTimeoutMs });
  const trends = createTrendActivities({ clickhouse, database });

  /** storedPlan reads the newest daily capacity plan made within two days before `atMs`, by service. */
  async function storedPlan(atMs: number): Promise<Map<string, Array<{ resource: string; forecast: CapacityForecast }>>> {
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const found = await rows<{ service: string; resource: string; forecast: string }>(
      `SELECT service_name AS service, resource, argMax(forecast, generated_at) AS forecast FROM ${db}.capacity_forecasts
       WHERE plan_date = (SELECT max(plan_date) FROM ${db}.capacity_forecasts WHERE plan_date <= {last:Date} AND plan_date >= {first:Date})
       GROUP BY service_name, resource ORDER BY service_name, resource`,
      { last: day(atMs), first: day(atMs - 2 * 86_400_000) },
    );
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
  const rows = async <T>(query: string, query_params: Record<string, unknown> = {}): Promise<T[]> =>
    (await clickhouse.query({ query, query_params, format: 'JSONEachRow' })).json<T>();
  /** range binds [fromMs, toMs) as the whole seconds `{from:Int64}` and `{to:Int64}`. */
  const range = (fromMs: number, toMs: number) => ({ from: Math.floor(fromMs / 1000), to: Math.floor(toMs / 1000) });
  const BUCKET_IN_RANGE = "bucket >= toDateTime({from:Int64}, 'UTC') AND bucket < toDateTime({to:Int64}, 'UTC')";

  /** hourly reads each service's hourly averages of the report's metrics over [fromMs, toMs). */
  async function hourly(fromMs: number, toMs: number) {
    const found = await rows<{ service: string; metric: string; t: string; v: number }>(
      `SELECT service_name AS service, metric_name AS metric, toUInt32(bucket) AS t, avgMerge(avg_value) AS v
       FROM ${db}.performance_rollup_1h
       WHERE metric_name IN ('response_time_p50_ms', 'error_rate_percent', 'requests_per_second', 'cpu_usage_percent')
         AND ${BUCKET_IN_RANGE}
       GROUP BY service_name, metric_name, bucket ORDER BY service_name, metric_name, bucket`,
      range(fromMs, toMs),
    );
    const out = new Map<string, Map<string, Map<number, number>>>();
    for (const r of found) {
      if (!out.has(r.service)) out.set(r.service, new Map());
      const byMetric = out.get(r.service)!;
      if (!byMetric.has(r.metric)) byMetric.set(r.metric, new Map());
      byMetric.get(r.metric)!.set(Number(r.t) * 1000, Number(r.v));
    }
    return out;
  }

  /** availability counts each service's minutes with samples in [fromMs, toMs), and the minutes since its first. */
  async function availability(fromMs: number, toMs: number): Promise<Map<string, number>> {
    const found = await rows<{ service: string; minutes: string; first: string }>(
      `SELECT service, count() AS minutes, min(b) AS first FROM (
         SELECT service_name AS service, toUInt32(bucket) AS b FROM ${db}.performance_rollup_1m
         WHERE metric_name IN ('cpu_usage_percent', 'requests_per_second')
           AND ${BUCKET_IN_RANGE}
         GROUP BY service_name, bucket
       ) GROUP BY service`,
      range(fromMs, toMs),
    );
    const endMinute = Math.floor(Math.min(toMs, Date.now()) / 60_000);
    return new Map(found.map((r) => [r.service, Math.min(100, (100 * Number(r.minutes)) / Math.max(1, endMinute - Number(r.first) / 60 + 1))]));
  }

  /** business reads the average prediction accuracy and profitable trades share of every service over a week. */
  async function business(fromMs: number, toMs: number): Promise<Map<string, number>> {
    const found = await rows<{ metric: string; v: number }>(
      `SELECT metric_name AS metric, avgMerge(avg_value) AS v FROM ${db}.performance_rollup_1h
       WHERE metric_name IN ('prediction_accuracy', 'profitable_trades_percent')
         AND ${BUCKET_IN_RANGE}
       GROUP BY metric_name`,
      range(fromMs, toMs),
    );
    return new Map(found.map((r) => [r.metric, Number(r.v)]));
  }

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
      const [thisWeek, lastWeek, upThis, upLast, bizThis, bizLast, plan, stored, slo] = await Promise.all([
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
      return buildPerformanceReport({ startMs, endMs, services: weeks, business: biz, storedTrends: stored, ...(slo ? { slo } : {}) });
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
      await clickhouse.insert({ table: `${db}.performance_reports`, values: [row], format: 'JSONEachRow' });
    },

    /** listReports returns the latest version of the newest `limit` reports, newest first. */
    async listReports(limit: number): Promise<StoredReport[]> {
      // (Aliases differ from the columns, so no aggregate reads another's alias in place of its column.)
      const found = await rows<{ report_id: string; latest: string; made_by: string; latest_body: string }>(
        `SELECT report_id, toUInt32(max(generated_at)) AS latest, argMax(workflow_id, generated_at) AS made_by, argMax(body, generated_at) AS latest_body
         FROM ${db}.performance_reports GROUP BY report_id ORDER BY report_id DESC LIMIT {limit:UInt32}`,
        { limit: Math.max(1, Math.floor(limit)) },
      );
      return found.map((r) => ({
        report_id: r.report_id,
        generated_at: new Date(Number(r.latest) * 1000).toISOString(),
        workflow_id: r.made_by,
        performance_report: JSON.parse(r.latest_body) as PerformanceReport,
      }));
    },

    /**
     * planCapacity forecasts every reporting service's resources `days` ahead as of `nowMs` and stores the plan in
     * capacity_forecasts (the daily Schedule's job); returns how many forecasts it stored.
     */
    async planCapacity(req: { nowMs: number; days: number; workflowId: string }): Promise<number> {
      const services = (await rows<{ service: string }>(
        `SELECT DISTINCT service_name AS service FROM ${db}.performance_rollup_1h
         WHERE metric_name = 'cpu_usage_percent' AND bucket >= toDateTime({from:Int64}, 'UTC')`,
        { from: Math.floor((req.nowMs - 30 * 86_400_000) / 1000) },
      )).map((r) => r.service).sort();
      const history = await queries.history(services, CAPACITY_RESOURCES.map((r) => r.metric), req.nowMs, 30);
      const planDate = new Date(req.nowMs).toISOString().slice(0, 10);
      const generatedAt = Math.floor(Date.now() / 1000);
      const values = services.flatMap((service) =>
        forecastResources((metric) => history.get(`${service}\u0000${metric}`) ?? [], req.nowMs, req.days).flatMap(({ resource, forecast }) =>
          forecast ? [{ plan_date: planDate, generated_at: generatedAt, service_name: service, resource, forecast: JSON.stringify(forecast), workflow_id: req.workflowId }] : [],
        ),
      );
      if (values.length > 0) await clickhouse.insert({ table: `${db}.capacity_forecasts`, values, format: 'JSONEachRow' });
      return values.length;
    },
  };
}
