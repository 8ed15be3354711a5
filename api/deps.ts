/**
 * What the API's routes are built from: AppInput (the clients and settings the caller owns) and AppDeps (the stores,
 * gates and clients every route plugin receives), made once per app by createDeps.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type Redis from 'ioredis';
import type { Client } from '@temporalio/client';
import { createAlertCommands } from '../activities/alerts';
import { createReportActivities } from '../activities/report';
import { createSloActivities } from '../activities/slo';
import { createTrendActivities } from '../activities/trends';
import type { ApiKey } from '../core/auth';
import type { Config } from '../core/config';
import type { Rule } from '../core/rules';
import { linkSecret } from '../store/ack-links';
import { createBusinessStore } from '../store/business';
import { createClickHouseStore } from '../store/clickhouse';
import { createDashboardQueries } from '../store/dashboard';
import { createEvaluationHealth, createEvaluationTickStore } from '../store/evaluation-ticks';
import { IdempotencyStore } from '../store/idempotency';
import { fromRoot } from '../store/paths';
import { createRedisStore } from '../store/redis';
import { SampleWriter } from '../store/sample-writer';
import { ParsePool } from './parse-pool';
import { QueryGate } from './query-gate';
import { Telemetry } from './telemetry';

/** AppInput is what the API is built from; the caller owns (and closes) the clients. */
export interface AppInput {
  config: Config;
  keys: readonly ApiKey[];
  clickhouse: ClickHouseClient;
  redis: Redis;
  /** A Temporal client for alert actions; without it those routes answer 503. */
  temporal?: Client;
  /** The current alert rules (health thresholds); a function so a reload applies without a restart. */
  rules: () => readonly Rule[];
  /** Where those rules come from (files and API rules, store/rule-source.ts): refreshed after a rule edit. */
  ruleSource?: { refresh(): Promise<void> };
  /** Log with pino to stdout (true) or to a stream (tests read the lines). */
  logger?: boolean | { write(line: string): void };
  /**
   * The compiled parse thread script (default: parse-worker.js beside this module, which exists when running
   * from dist/); without one, bodies are parsed on the request thread. inlineBelowBytes: see ParsePoolOptions.
   */
  parsePool?: { workerFile?: string; inlineBelowBytes?: number };
}

/** AppDeps is what route plugins receive. */
export interface AppDeps {
  config: Config;
  clickhouseStore: ReturnType<typeof createClickHouseStore>;
  redisStore: ReturnType<typeof createRedisStore>;
  dashboardQueries: ReturnType<typeof createDashboardQueries>;
  reports: ReturnType<typeof createReportActivities>;
  trends: ReturnType<typeof createTrendActivities>;
  slo: ReturnType<typeof createSloActivities>;
  business: ReturnType<typeof createBusinessStore>;
  /** Bounds the read queries of the dashboard and performance routes (MONITORING_MAX_CONCURRENT_QUERIES, _QUERY_TIMEOUT). */
  queryGate: QueryGate;
  /** The API's /metrics registry and its timer of ClickHouse, Redis and Temporal calls. */
  telemetry: Telemetry;
  writer: SampleWriter;
  parsePool: ParsePool;
  clickhouse: ClickHouseClient;
  redis: Redis;
  temporal: Client | undefined;
  /** Signs and verifies e-mail action links (shared with the worker through ALERT_LINK_SECRET or its file). */
  linkSecret: string;
  idempotency: IdempotencyStore;
  alertCommands: ReturnType<typeof createAlertCommands> | undefined;
  /** The rule groups' evaluation ticks, judged (store/evaluation-ticks.ts); undefined without Temporal. */
  evaluationHealth: ReturnType<typeof createEvaluationHealth> | undefined;
  rules: () => readonly Rule[];
  ruleSource: { refresh(): Promise<void> } | undefined;
}

function createParsePool(config: Config, options: AppInput['parsePool'] = {}): ParsePool {
  const workerFile = options.workerFile ?? path.join(__dirname, 'parse-worker.js');
  const threads = existsSync(workerFile) ? (config.monitoring.parseThreads ?? Math.max(1, os.availableParallelism() - 1)) : 0;
  return new ParsePool({ threads, workerFile, inlineBelowBytes: options.inlineBelowBytes ?? 64 * 1024 });
}

/** createDeps builds the routes' dependencies from the app's input. */
export function createDeps(input: AppInput): AppDeps {
  const { config } = input;
  return {
    config,
    clickhouseStore: createClickHouseStore({ clickhouse: input.clickhouse, database: config.clickhouse.database }),
    redisStore: createRedisStore({ redis: input.redis, realtimeTtlSeconds: config.monitoring.cacheTtlSeconds }),
    dashboardQueries: createDashboardQueries({
      clickhouse: input.clickhouse,
      database: config.clickhouse.database,
      queryTimeoutMs: config.monitoring.queryTimeoutMs,
      ...(config.clickhouse.cluster ? { cluster: config.clickhouse.cluster } : {}),
    }),
    reports: createReportActivities({ clickhouse: input.clickhouse, database: config.clickhouse.database, queryTimeoutMs: config.monitoring.queryTimeoutMs }),
    trends: createTrendActivities({ clickhouse: input.clickhouse, database: config.clickhouse.database }),
    business: createBusinessStore({ clickhouse: input.clickhouse, database: config.clickhouse.database, pricesPath: fromRoot(config.businessPath) }),
    slo: createSloActivities({ clickhouse: input.clickhouse, database: config.clickhouse.database, redis: input.redis, taskQueue: config.temporal.taskQueue, sloPath: fromRoot(config.sloPath) }),
    queryGate: new QueryGate(config.monitoring.maxConcurrentQueries, config.monitoring.queryTimeoutMs),
    telemetry: new Telemetry(),
    writer: new SampleWriter(input.clickhouse, config.clickhouse.database, {
      batchSize: config.monitoring.batchSize,
      flushIntervalMs: config.monitoring.batchFlushIntervalMs,
      maxQueuedRows: config.monitoring.maxQueuedRows,
      maxConcurrentInserts: config.monitoring.maxConcurrentInserts,
    }),
    parsePool: createParsePool(config, input.parsePool),
    clickhouse: input.clickhouse,
    redis: input.redis,
    temporal: input.temporal,
    linkSecret: linkSecret(config),
    idempotency: new IdempotencyStore(input.redis, config.monitoring.idempotencyTtlSeconds),
    alertCommands: input.temporal ? createAlertCommands(input.temporal) : undefined,
    evaluationHealth: input.temporal ? createEvaluationHealth(input.temporal, input.config.temporal.taskQueue, createEvaluationTickStore(input.redis)) : undefined,
    rules: input.rules,
    ruleSource: input.ruleSource,
  };
}
