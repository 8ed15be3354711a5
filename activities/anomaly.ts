/**
 * The anomaly scan: rules of `type: anomaly` (core/rules.ts) judged on each service's five-minute statistic of their
 * metric, read from the 1-minute rollup over the detector's memory (two weeks and a day), by the rule's method
 * (core/anomaly.ts). A verdict reaches the alert workflow as a threshold breach does (dispatchGroup), with its
 * explanation — expected band, actual value, score, method, reason — in the opening alert's annotations. The
 * `anomaly-scan` Schedule runs it every minute; it judges the newest complete five-minute bucket.
 */
import { ANOMALY_METHODS, NOVELTY_HISTORY_MS, noveltyDetector, noveltyVerdict, type AnomalyVerdict } from '../core/anomaly';
import type { SeriesValue } from '../core/rule-sql';
import type { AnomalySpec, Rule } from '../core/rules';
import type { Labels } from '../core/types';
import { createAnalyticsQueries } from '../store/analytics';
import { dispatchGroup, openAlertsOf } from './alerts';
import type { EvaluationDeps } from './evaluation';

/** BUCKET_MS is the detectors' point spacing: five minutes (their windows count these points). */
export const BUCKET_MS = 300_000;

/** AnomalyDeps are rule evaluation's: the rules, ClickHouse to read the series, Temporal and Redis to raise alerts. */
export type AnomalyDeps = EvaluationDeps;

/** AnomalyFinding is one anomaly in a stored series, with its explanation. */
export interface AnomalyFinding {
  service: string;
  atMs: number;
  value: number;
  score: number;
  severity: string;
  expected: [number, number];
  method: string;
  reason: string;
}

/** AnomalyScan says what one scan judged and raised. */
export interface AnomalyScan {
  rules: number;
  series: number;
  anomalies: number;
  bucketMs: number;
}

/** explain turns an anomaly verdict into the alert's annotations. */
export function explain(verdict: Extract<AnomalyVerdict, { kind: 'Anomaly' }>, value: number, spec: AnomalySpec, service: string): Labels {
  const reason = verdict.reason ?? `score ${verdict.score.toPrecision(4)} outside ${verdict.expected[0]} – ${verdict.expected[1]}`;
  return {
    summary: `Anomaly in ${spec.statistic}(${spec.metric}) on ${service}`,
    description: reason,
    anomaly_method: verdict.method,
    anomaly_score: verdict.score.toPrecision(4),
    anomaly_expected: `${verdict.expected[0]} – ${verdict.expected[1]}`,
    anomaly_actual: String(Number(value.toPrecision(6))),
  };
}

/** judgeLatest is a method's verdict on the last point of a series (five-minute points at `times`). */
export function judgeLatest(method: string, values: readonly number[], times?: readonly number[]): AnomalyVerdict {
  if (method === 'novelty') return noveltyVerdict(values, times, { stepMs: BUCKET_MS });
  const detector = ANOMALY_METHODS[method]!();
  let verdict: AnomalyVerdict = { kind: 'InsufficientData' };
  for (const v of values) verdict = detector.next(v);
  return verdict;
}

export function createAnomalyActivities(deps: AnomalyDeps) {
  const analytics = createAnalyticsQueries({ clickhouse: deps.clickhouse, database: deps.database });

  /** fiveMinuteSeries reads every service's (or one's) five-minute statistic of a metric over [fromMs, toMs). */
  const fiveMinuteSeries = (spec: Pick<AnomalySpec, 'metric' | 'statistic'>, fromMs: number, toMs: number, service?: string) =>
    analytics.fiveMinuteSeries(spec.metric, spec.statistic, fromMs, toMs, service);

  return {
    /**
     * scanAnomalies judges every anomaly rule's series at the newest complete five-minute bucket before `nowMs` and
     * dispatches the verdicts to the alert workflows (an anomaly opens or keeps an alert; a normal bucket clears it).
     */
    async scanAnomalies({ nowMs }: { nowMs: number }): Promise<AnomalyScan> {
      const rules: Rule[] = (await deps.loadRuleGroups()).flatMap((g) => g.rules).filter((r) => r.anomaly !== undefined);
      const bucketEnd = Math.floor(nowMs / BUCKET_MS) * BUCKET_MS;
      const latest = bucketEnd - BUCKET_MS;
      const scan: AnomalyScan = { rules: rules.length, series: 0, anomalies: 0, bucketMs: latest };
      if (rules.length === 0) return scan;
      const fromMs = bucketEnd - NOVELTY_HISTORY_MS - BUCKET_MS;
      const read = new Map<string, Promise<Map<string, { t: number[]; v: number[] }>>>();
      const seriesPerRule: SeriesValue[][] = [];
      for (const rule of rules) {
        const spec = rule.anomaly!;
        const key = `${spec.metric}\u0000${spec.statistic}`;
        if (!read.has(key)) read.set(key, fiveMinuteSeries(spec, fromMs, bucketEnd));
        const series: SeriesValue[] = [];
        for (const [service, s] of await read.get(key)!) {
          // A service without the newest bucket has no verdict now (its alert, if any, goes stale as for no data).
          if (s.t[s.t.length - 1] !== latest) continue;
          const value = s.v[s.v.length - 1]!;
          const verdict = judgeLatest(spec.method, s.v, s.t);
          if (verdict.kind === 'InsufficientData') continue;
          const anomalous = verdict.kind === 'Anomaly';
          scan.series++;
          if (anomalous) scan.anomalies++;
          series.push({ service, instance: '', labels: {}, value, breaching: anomalous, ...(anomalous ? { annotations: explain(verdict, value, spec, service) } : {}) });
        }
        seriesPerRule.push(series);
      }
      const open = await openAlertsOf(deps.redis, rules);
      // An alert of the scan goes stale (resolves for no data) after four missed buckets.
      await dispatchGroup(deps, rules, seriesPerRule, { nowMs, intervalMs: 60_000, staleAfterMs: 4 * BUCKET_MS }, open);
      return scan;
    },

    /**
     * detectAnomalies runs a method (streaming, as the benchmark does) over a service's stored five-minute series in
     * [fromMs, toMs), warmed on the memory before it, and returns the anomalies it finds there with their explanations.
     */
    async detectAnomalies(request: { metric: string; statistic: AnomalySpec['statistic']; method: string; service: string; fromMs: number; toMs: number }): Promise<AnomalyFinding[]> {
      const warm = request.fromMs - NOVELTY_HISTORY_MS;
      const s = (await fiveMinuteSeries(request, warm, request.toMs, request.service)).get(request.service);
      if (!s) return [];
      const detector = request.method === 'novelty' ? noveltyDetector({ stepMs: BUCKET_MS }) : ANOMALY_METHODS[request.method]!();
      const found: AnomalyFinding[] = [];
      s.v.forEach((value, i) => {
        const verdict = detector.next(value, s.t[i]);
        if (verdict.kind !== 'Anomaly' || s.t[i]! < request.fromMs) return;
        found.push({ service: request.service, atMs: s.t[i]!, value, score: verdict.score, severity: verdict.severity, expected: verdict.expected, method: verdict.method, reason: verdict.reason ?? '' });
      });
      return found;
    },
  };
}
