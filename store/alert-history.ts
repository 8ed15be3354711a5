/**
 * Reading alert_history (db/002): each alert occurrence that fired, with when it was acknowledged (by whom) and
 * resolved (how), and the aggregates an on-call team reviews — MTTA and MTTR per service and severity, the noisiest
 * rules, alerts per week. An occurrence is counted in the range its firing falls in; one that never fired (a
 * pending alert, or a firing settled by activities/alert-stream.ts settleUnfiredAlert without a firing row) is not
 * an alert here.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { HistoryRow } from '../core/alert';
import { sqlIdentifier } from '../core/escape';

/** AlertHistoryFilter selects alerts by the instant they fired, and optionally by service, severity and rule. */
export interface AlertHistoryFilter {
  fromMs: number;
  toMs: number;
  /** Only these services (a viewer's scope or the `service` asked for); undefined: all. */
  services?: readonly string[];
  severity?: string;
  rule?: string;
  /** Shadow rules' alerts (core/rules.ts isShadow) are left out unless asked for, by `rule` or 'only'. */
  shadow?: 'exclude' | 'only';
}

/** AlertRecord is one alert occurrence as its history tells it. */
export interface AlertRecord {
  alert_id: string;
  rule: string;
  service: string;
  instance: string;
  severity: string;
  metric: string;
  threshold: number;
  /** The value that fired it. */
  value: number;
  status: 'firing' | 'acknowledged' | 'resolved';
  fired_at: string;
  acknowledged_at: string | null;
  acknowledged_by: string;
  resolved_at: string | null;
  resolution: string;
  /** Seconds from firing to acknowledgement / to resolution (null until then). */
  time_to_acknowledge_s: number | null;
  time_to_resolve_s: number | null;
  workflow_id: string;
}

/** ResponseTimes are an alert set's count and its mean times to acknowledge and resolve (null when none was). */
export interface ResponseTimes {
  alerts: number;
  acknowledged: number;
  resolved: number;
  mtta_s: number | null;
  mttr_s: number | null;
}

/** AlertHistorySummary aggregates every alert of the filter (not only the page of records listed). */
export interface AlertHistorySummary extends ResponseTimes {
  by_service_severity: Array<ResponseTimes & { service: string; severity: string }>;
  noisiest_rules: Array<{ rule: string; alerts: number; services: number; firing_s: number }>;
  per_week: Array<{ week: string; alerts: number }>;
}

/** NOISIEST_RULES is how many rules the summary ranks. */
const NOISIEST_RULES = 10;

const iso = (clickhouseTime: string) => `${clickhouseTime.replace(' ', 'T')}Z`;
const seconds = (ms: number | null | undefined) => (ms === null || ms === undefined || !Number.isFinite(Number(ms)) ? null : Math.round(Number(ms)) / 1000);

export function createAlertHistoryStore({ clickhouse, database }: { clickhouse: ClickHouseClient; database: string }) {
  const db = sqlIdentifier(database);

  /** occurrences is the per-alert subquery of a filter, with its parameters. */
  function occurrences(filter: AlertHistoryFilter): { sql: string; params: Record<string, unknown> } {
    const where = ['timestamp >= fromUnixTimestamp64Milli({from:Int64})'];
    const params: Record<string, unknown> = { from: filter.fromMs, to: filter.toMs };
    if (filter.services) {
      where.push('service_name IN {services:Array(String)}');
      params.services = filter.services;
    }
    if (filter.severity !== undefined) {
      where.push('severity = {severity:String}');
      params.severity = filter.severity;
    }
    if (filter.rule !== undefined) {
      where.push('rule_name = {rule:String}');
      params.rule = filter.rule;
    }
    // A rule asked for by name is shown whatever it is; otherwise shadow rules stay out of the on-call figures.
    if (filter.shadow === 'only') where.push("labels['shadow'] = 'true'");
    else if (filter.rule === undefined) where.push("labels['shadow'] != 'true'");
    // (Aliases differ from the columns the WHERE clause filters on: ClickHouse would read the alias there.)
    const sql = `
      SELECT alert_id, any(rule_name) AS rule, any(service_name) AS service, any(instance_id) AS instance,
             any(severity) AS sev, any(metric_name) AS metric,
             anyIf(threshold_value, status = 'firing') AS threshold, anyIf(actual_value, status = 'firing') AS value,
             minIf(timestamp, status = 'firing') AS fired,
             countIf(status = 'acknowledged') > 0 AS is_acked, minIf(timestamp, status = 'acknowledged') AS acked_at,
             anyIf(acknowledged_by, status = 'acknowledged') AS acked_by,
             countIf(status = 'resolved') > 0 AS is_resolved, minIf(timestamp, status = 'resolved') AS resolved_at,
             anyIf(resolution_notes, status = 'resolved') AS resolution, any(workflow_id) AS workflow,
             any(labels['shadow_of']) AS replaces
      FROM ${db}.alert_history
      WHERE ${where.join(' AND ')}
      GROUP BY alert_id
      HAVING countIf(status = 'firing') > 0 AND fired < fromUnixTimestamp64Milli({to:Int64})`;
    return { sql, params };
  }

  const query = async <T>(sql: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<T[]> =>
    (await clickhouse.query({ query: sql, query_params: params, format: 'JSONEachRow', ...(signal ? { abort_signal: signal } : {}) })).json<T>();

  /** times turns the aggregate columns of responseTimesSql into ResponseTimes. */
  const times = (r: { alerts: number; acknowledged: number; resolved: number; mtta_ms: number | null; mttr_ms: number | null }): ResponseTimes => ({
    alerts: Number(r.alerts),
    acknowledged: Number(r.acknowledged),
    resolved: Number(r.resolved),
    mtta_s: Number(r.acknowledged) > 0 ? seconds(r.mtta_ms) : null,
    mttr_s: Number(r.resolved) > 0 ? seconds(r.mttr_ms) : null,
  });
  // (Aliases apart from the subquery's columns: an alias named like a column would shadow it in the other aggregates.)
  const responseTimesSql = `count() AS alerts, countIf(is_acked) AS acknowledged, countIf(is_resolved) AS resolved,
    avgIf(dateDiff('millisecond', fired, acked_at), is_acked) AS mtta_ms, avgIf(dateDiff('millisecond', fired, resolved_at), is_resolved) AS mttr_ms`;

  return {
    /** rowsOf reads one occurrence's transitions in time order (a row written twice by a retry, once). */
    async rowsOf(alertId: string, signal?: AbortSignal): Promise<HistoryRow[]> {
      type Row = Omit<HistoryRow, 'timestampMs'> & { at: number | string };
      const rows = await query<Row>(
        `SELECT * EXCEPT timestamp, toUnixTimestamp64Milli(timestamp) AS at FROM ${db}.alert_history WHERE alert_id = {id:String} ORDER BY timestamp LIMIT 1 BY status`,
        { id: alertId },
        signal,
      );
      return rows.map(({ at, ...r }) => ({ ...r, timestampMs: Number(at), threshold_value: Number(r.threshold_value), actual_value: Number(r.actual_value), duration_minutes: Number(r.duration_minutes) }));
    },

    /** alerts lists the filter's alerts, newest firing first, at most `limit`. */
    async alerts(filter: AlertHistoryFilter, limit: number, signal?: AbortSignal): Promise<AlertRecord[]> {
      const { sql, params } = occurrences(filter);
      type Row = Record<string, unknown> & { fired: string; is_acked: number | boolean; acked_at: string; is_resolved: number | boolean; resolved_at: string };
      const rows = await query<Row>(`${sql}\nORDER BY fired DESC, alert_id\nLIMIT {limit:UInt32}`, { ...params, limit }, signal);
      return rows.map((r) => {
        const firedMs = Date.parse(iso(r.fired));
        const ackedAt = r.is_acked ? iso(r.acked_at) : null;
        const resolvedAt = r.is_resolved ? iso(r.resolved_at) : null;
        return {
          alert_id: String(r.alert_id),
          rule: String(r.rule),
          service: String(r.service),
          instance: String(r.instance),
          severity: String(r.sev),
          metric: String(r.metric),
          threshold: Number(r.threshold),
          value: Number(r.value),
          status: resolvedAt ? 'resolved' : ackedAt ? 'acknowledged' : 'firing',
          fired_at: iso(r.fired),
          acknowledged_at: ackedAt,
          acknowledged_by: ackedAt ? String(r.acked_by) : '',
          resolved_at: resolvedAt,
          resolution: resolvedAt ? String(r.resolution) : '',
          time_to_acknowledge_s: ackedAt ? seconds(Date.parse(ackedAt) - firedMs) : null,
          time_to_resolve_s: resolvedAt ? seconds(Date.parse(resolvedAt) - firedMs) : null,
          workflow_id: String(r.workflow),
        };
      });
    },

    /** shadowOccurrences lists the shadow rules' alerts that fired in a range, each with the rule it would replace. */
    async shadowOccurrences(fromMs: number, toMs: number, signal?: AbortSignal): Promise<Array<{ rule: string; replaces: string; alert_id: string; service: string; instance: string; fired_at: string; resolved_at: string | null }>> {
      const { sql, params } = occurrences({ fromMs, toMs, shadow: 'only' });
      type Row = { alert_id: string; rule: string; replaces: string; service: string; instance: string; fired: string; is_resolved: number | boolean; resolved_at: string };
      const rows = await query<Row>(`${sql}\nORDER BY fired\nLIMIT 10000`, params, signal);
      return rows.map((r) => ({ rule: r.rule, replaces: r.replaces, alert_id: r.alert_id, service: r.service, instance: r.instance, fired_at: iso(r.fired), resolved_at: r.is_resolved ? iso(r.resolved_at) : null }));
    },

    /** summary aggregates all of the filter's alerts: overall, per service and severity, per rule, per week. */
    async summary(filter: AlertHistoryFilter, signal?: AbortSignal): Promise<AlertHistorySummary> {
      const { sql, params } = occurrences(filter);
      type Times = { alerts: number; acknowledged: number; resolved: number; mtta_ms: number | null; mttr_ms: number | null };
      const [overall, perGroup, rules, weeks] = await Promise.all([
        query<Times>(`SELECT ${responseTimesSql} FROM (${sql})`, params, signal),
        query<Times & { service: string; severity: string }>(`SELECT service, sev AS severity, ${responseTimesSql} FROM (${sql}) GROUP BY service, sev ORDER BY alerts DESC, service, severity`, params, signal),
        query<{ rule: string; alerts: number; services: number; firing_ms: number }>(
          `SELECT rule, count() AS alerts, uniqExact(service) AS services,
                  sum(dateDiff('millisecond', fired, if(is_resolved, resolved_at, now64(3)))) AS firing_ms
           FROM (${sql}) GROUP BY rule ORDER BY alerts DESC, firing_ms DESC, rule LIMIT ${NOISIEST_RULES}`,
          params,
          signal,
        ),
        query<{ week: string; alerts: number }>(`SELECT toString(toMonday(fired)) AS week, count() AS alerts FROM (${sql}) GROUP BY week ORDER BY week`, params, signal),
      ]);
      return {
        ...times(overall[0] ?? { alerts: 0, acknowledged: 0, resolved: 0, mtta_ms: null, mttr_ms: null }),
        by_service_severity: perGroup.map((g) => ({ service: String(g.service), severity: String(g.severity), ...times(g) })),
        noisiest_rules: rules.map((r) => ({ rule: String(r.rule), alerts: Number(r.alerts), services: Number(r.services), firing_s: seconds(Number(r.firing_ms)) ?? 0 })),
        per_week: weeks.map((w) => ({ week: String(w.week), alerts: Number(w.alerts) })),
      };
    },
  };
}
