import { sqlIdentifier, sqlNumber, sqlString } from './escape';
import type { LabelMatcher, Rule } from './rules';
import type { Labels } from './types';

/** SeriesValue is the latest value of one series a rule watches, as the evaluation query returns it. */
export interface SeriesValue {
  service: string;
  instance: string;
  labels: Labels;
  value: number;
  atMs: number;
}

function matcherSql(matcher: LabelMatcher): string {
  const column =
    matcher.label === 'service' || matcher.label === 'service_name'
      ? 'service_name'
      : matcher.label === 'instance' || matcher.label === 'instance_id'
        ? 'instance_id'
        : `labels.value[indexOf(labels.key, ${sqlString(matcher.label)})]`;
  const value = sqlString(matcher.value);
  switch (matcher.op) {
    case '=':
      return `${column} = ${value}`;
    case '!=':
      return `${column} != ${value}`;
    case '=~':
      return `match(${column}, ${sqlString(`^(?:${matcher.value})$`)})`;
    case '!~':
      return `NOT match(${column}, ${sqlString(`^(?:${matcher.value})$`)})`;
  }
}

/**
 * latestValuesSql selects, for every series of the rule's metric seen in the lookback window ending at `nowMs`,
 * its latest value. performance_events is ordered by (metric_name, service_name, instance_id, timestamp), so
 * this reads one contiguous key range per metric.
 */
export function latestValuesSql(database: string, rule: Rule, nowMs: number, lookbackMs: number): string {
  const toSec = Math.floor(nowMs / 1000);
  const fromSec = Math.floor((nowMs - lookbackMs) / 1000);
  const where = [
    `metric_name = ${sqlString(rule.condition.metric)}`,
    `timestamp >= toDateTime(${sqlNumber(fromSec)})`,
    `timestamp <= toDateTime(${sqlNumber(toSec)})`,
    ...rule.condition.matchers.map(matcherSql),
  ];
  return [
    'SELECT service_name AS service, instance_id AS instance, labels.key AS label_keys, labels.value AS label_values,',
    '  argMax(metric_value, toUInt64(timestamp) * 1000 + timestamp_ms) AS value,',
    '  max(toUInt64(timestamp) * 1000 + timestamp_ms) AS at_ms',
    `FROM ${sqlIdentifier(database)}.performance_events`,
    `WHERE ${where.join(' AND ')}`,
    'GROUP BY service_name, instance_id, labels.key, labels.value',
  ].join('\n');
}

/** seriesLabels is the label set identifying a series: service, instance (when set) and the sample's own labels. */
export function seriesLabels(series: Pick<SeriesValue, 'service' | 'instance' | 'labels'>): Labels {
  const labels: Labels = { ...series.labels, service: series.service };
  if (series.instance) labels.instance = series.instance;
  return labels;
}
