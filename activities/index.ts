import type { ClickHouseClient } from '@clickhouse/client';
import type { Client } from '@temporalio/client';
import type Redis from 'ioredis';
import type { Config } from '../core/config';
import { createAlertStreamActivities, type AlertStream } from './alert-stream';
import { createAnomalyActivities } from './anomaly';
import { createCloudWatchActivities } from './cloudwatch';
import { createClickHouseStore } from '../store/clickhouse';
import { createEvaluationActivities } from './evaluation';
import { createGroupingActivities } from './grouping';
import { createNotifyActivities } from './notify';
import { createOncallActivities } from './oncall';
import { createSilenceActivities } from './silences';
import { fromRoot } from '../store/paths';
import { isShadow } from '../core/rules';
import { createRedisStore } from '../store/redis';
import { createReportActivities } from './report';
import { createRuleActivities } from './rules';
import { createSloActivities } from './slo';
import { createTraceActivities } from './traces';
import { createTrendActivities } from './trends';

/** ActivityDeps are the shared clients every activity group is built from. */
export interface ActivityDeps {
  config: Config;
  clickhouse: ClickHouseClient;
  redis: Redis;
  temporal: Client;
  /** The alert event stream (NATS JetStream), when configured: every transition recorded is published on it. */
  alertStream?: AlertStream;
}

/** createActivities composes every activity group into the object given to the worker. */
export function createActivities({ config, clickhouse, redis, temporal, alertStream }: ActivityDeps) {
  const taskQueue = config.temporal.taskQueue;
  const rules = createRuleActivities({ rulesPath: fromRoot(config.rulesPath), store: { clickhouse, redis, database: config.clickhouse.database }, taskQueue });
  const slo = createSloActivities({ clickhouse, database: config.clickhouse.database, redis, temporal, taskQueue, sloPath: fromRoot(config.sloPath) });
  return {
    ...createClickHouseStore({
      clickhouse,
      database: config.clickhouse.database,
      ...(config.clickhouse.cluster ? { cluster: { name: config.clickhouse.cluster, shardUrls: config.clickhouse.shardUrls } } : {}),
    }),
    ...createRedisStore({ redis, realtimeTtlSeconds: config.monitoring.cacheTtlSeconds }),
    ...createAlertStreamActivities({ config, clickhouse, redis, temporal, ...(alertStream ? { stream: alertStream } : {}) }),
    ...rules,
    ...createEvaluationActivities({ clickhouse, database: config.clickhouse.database, temporal, redis, taskQueue, loadRuleGroups: rules.loadRuleGroups }),
    ...createAnomalyActivities({ clickhouse, database: config.clickhouse.database, temporal, redis, taskQueue, loadRuleGroups: rules.loadRuleGroups }),
    ...createNotifyActivities({ config, redis, clickhouse, ...(alertStream ? { alertStream } : {}) }),
    ...createGroupingActivities({ temporal, taskQueue }),
    ...createSilenceActivities({ config, redis, clickhouse }),
    ...createOncallActivities({ config, redis, clickhouse }),
    ...createTrendActivities({ clickhouse, database: config.clickhouse.database }),
    ...createCloudWatchActivities({ clickhouse, database: config.clickhouse.database, configPath: fromRoot(config.cloudwatchPath) }),
    ...createTraceActivities({ clickhouse, database: config.clickhouse.database, redis, realtimeTtlSeconds: config.monitoring.cacheTtlSeconds }),
    ...slo,
    ...createReportActivities({
      clickhouse,
      database: config.clickhouse.database,
      queryTimeoutMs: config.monitoring.queryTimeoutMs,
      measureSlos: slo.measureSlos,
      shadowRules: async () => (await rules.loadRuleGroups()).flatMap((g) => g.rules.filter(isShadow).map((r) => ({ rule: r.name, replaces: r.labels.shadow_of ?? '' }))),
    }),
  };
}

/** Activities is the type workflows proxy. */
export type Activities = ReturnType<typeof createActivities>;
