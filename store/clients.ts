import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { Client, Connection } from '@temporalio/client';
import Redis from 'ioredis';
import type { Config } from '../core/config';

/** The one factory of each backend client; every process builds its clients here. */

/** createClickHouse opens a ClickHouse HTTP client; `withDatabase: false` for statements that create the database. */
export function createClickHouse(config: Config, options: { withDatabase?: boolean } = {}): ClickHouseClient {
  return createClient({
    url: config.clickhouse.url,
    ...(options.withDatabase === false ? {} : { database: config.clickhouse.database }),
    request_timeout: config.monitoring.queryTimeoutMs,
    max_open_connections: config.monitoring.maxConcurrentQueries,
    // 64-bit integers answer as JSON numbers on every server (the default changed between 24.8 and 25.x), so
    // readers see one shape. On a cluster an insert into a Distributed table answers once every shard has its rows
    // (not once queued on the receiving server), so a 202 still means stored.
    clickhouse_settings: {
      output_format_json_quote_64bit_integers: 0,
      ...(config.clickhouse.cluster ? { distributed_foreground_insert: 1 } : {}),
    },
    // Callers log failures with their context (and answer 503); the driver's own error log would double them.
    log: { level: ClickHouseLogLevel.OFF },
  });
}

/**
 * createRedis opens a Redis connection that fails fast instead of queueing commands while Redis is down,
 * so callers can degrade (the realtime cache is best-effort; ClickHouse holds the durable copy).
 */
export function createRedis(config: Config, name = 'monitoring'): Redis {
  return new Redis(config.redisUrl, {
    connectionName: name,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    commandTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    lazyConnect: true,
  });
}

/** connectRedis opens a client from createRedis and waits until it is ready. */
export async function connectRedis(config: Config, name?: string): Promise<Redis> {
  const redis = createRedis(config, name);
  await redis.connect();
  return redis;
}

/** connectTemporal opens a Temporal client on the configured namespace. */
export async function connectTemporal(config: Config): Promise<{ connection: Connection; client: Client }> {
  const connection = await Connection.connect({ address: config.temporal.address });
  return { connection, client: new Client({ connection, namespace: config.temporal.namespace }) };
}
