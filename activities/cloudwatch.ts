/**
 * The CloudWatch collector: the `cloudwatch` Schedule runs collectCloudWatch every period. Each run lists the
 * configured namespaces' metrics (ListMetrics, paginated), reads every period from the collector's watermark to
 * now − delay with GetMetricData (500 queries a call, paginated by NextToken; throttling answered by the AWS SDK's
 * adaptive retries with backoff, then by the activity's), stores each period's samples once (their ingest_id names
 * the period; a retried run skips the periods stored) and advances the watermark. A worker away for a while leaves
 * no gap: the next run reads every period since the watermark (up to max_catchup back).
 */
import { readFile } from 'node:fs/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { CloudWatchClient, GetMetricDataCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { heartbeat } from '@temporalio/activity';
import { parse as parseYaml } from 'yaml';
import { parseCloudWatchConfig, periodsDue, queriesOf, resultSamples, wanted, type CloudWatchConfig, type CloudWatchMetric, type CloudWatchNamespace } from '../core/cloudwatch';
import { fnv1a64 } from '../core/fingerprint';
import type { Sample } from '../core/types';
import { createCollectorState } from '../store/collector-state';

/** loadCloudWatchConfig reads the collector's file (no file: no namespaces). */
export async function loadCloudWatchConfig(file: string): Promise<CloudWatchConfig> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  return parseCloudWatchConfig(text ? parseYaml(text) : {});
}

export function createCloudWatchActivities({ clickhouse, database, configPath }: { clickhouse: ClickHouseClient; database: string; configPath: string }) {
  const state = createCollectorState({ clickhouse, database });
  return {
    /** collectCloudWatch reads every period due at `nowMs` and returns what it did. */
    async collectCloudWatch({ nowMs }: { nowMs: number }): Promise<{ fromMs?: number; toMs?: number; metrics: number; samples: number; calls: number }> {
      const config = await loadCloudWatchConfig(configPath);
      if (config.namespaces.length === 0) return { metrics: 0, samples: 0, calls: 0 };
      // One collector per configuration: a changed file starts its own watermark (and periods) afresh.
      const collector = `cloudwatch/${fnv1a64(JSON.stringify(config.namespaces.map((n) => [n.namespace, n.metrics, n.dimensions, n.statistics, n.service])))}`;
      const due = periodsDue(config, await state.watermark(collector), nowMs);
      if (!due) return { metrics: 0, samples: 0, calls: 0 };
      const client = new CloudWatchClient({ region: config.region, maxAttempts: 8, retryMode: 'adaptive' });
      let calls = 0;
      try {
        const metrics: Array<{ config: CloudWatchNamespace; metric: CloudWatchMetric }> = [];
        for (const ns of config.namespaces) {
          for (const name of ns.metrics.length > 0 ? ns.metrics : [undefined]) {
            let token: string | undefined;
            do {
              const page = await client.send(new ListMetricsCommand({ Namespace: ns.namespace, ...(name ? { MetricName: name } : {}), ...(token ? { NextToken: token } : {}) }));
              calls++;
              for (const m of page.Metrics ?? []) {
                const metric = { Namespace: m.Namespace ?? ns.namespace, MetricName: m.MetricName ?? '', Dimensions: (m.Dimensions ?? []).map((d) => ({ Name: d.Name ?? '', Value: d.Value ?? '' })) };
                if (wanted(ns, metric)) metrics.push({ config: ns, metric });
              }
              token = page.NextToken;
              heartbeat({ listing: ns.namespace });
            } while (token);
          }
        }
        const samples: Sample[] = [];
        for (const batch of queriesOf(metrics)) {
          let token: string | undefined;
          do {
            const page = await client.send(
              new GetMetricDataCommand({
                StartTime: new Date(due.fromMs),
                EndTime: new Date(due.toMs),
                ScanBy: 'TimestampAscending',
                MetricDataQueries: batch.map((q) => ({ Id: q.id, MetricStat: { Metric: q.metric, Period: config.periodMs / 1000, Stat: q.statistic }, ReturnData: true })),
                ...(token ? { NextToken: token } : {}),
              }),
            );
            calls++;
            for (const result of page.MetricDataResults ?? []) {
              const query = batch.find((q) => q.id === result.Id);
              if (query) samples.push(...resultSamples(query, config.region, result.Timestamps ?? [], result.Values ?? []));
            }
            token = page.NextToken;
            heartbeat({ samples: samples.length });
          } while (token);
        }
        // Only whole periods inside the range, each once: a retried run skips the periods it already stored.
        const prefix = `${collector}/`;
        const stored = await state.storedPeriods(prefix, due.fromMs, due.toMs);
        const fresh = samples.filter((s) => s.timestampMs >= due.fromMs && s.timestampMs < due.toMs && !stored.has(Math.floor(s.timestampMs / config.periodMs) * config.periodMs));
        await state.insertPeriods(prefix, config.periodMs, fresh);
        await state.setWatermark(collector, due.toMs);
        return { fromMs: due.fromMs, toMs: due.toMs, metrics: metrics.length, samples: fresh.length, calls };
      } finally {
        client.destroy();
      }
    },
  };
}
