import type { ClickHouseClient } from '@clickhouse/client';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type Redis from 'ioredis';
import { createClickHouse, createRedis } from '../../store/clients';
import { loadRuleFiles } from '../../activities/rules';
import { fromRoot } from '../../store/paths';
import { createRuleSource } from '../../store/rule-source';
import { buildApp } from '../../api/app';
import type { ApiKey } from '../../core/auth';
import type { Config } from '../../core/config';
import type { Rule } from '../../core/rules';
import { testConfig } from './stack';

/** TEST_KEYS are one key per role, the viewer scoped to ml-inference as `npm start` creates them. */
export const TEST_KEYS = {
  admin: { name: 'admin', token: 'admin-token-0123456789', role: 'admin' },
  service: { name: 'svc', token: 'service-token-0123456789', role: 'service' },
  viewer: { name: 'viewer', token: 'viewer-token-0123456789', role: 'viewer', services: ['ml-inference'] },
} satisfies Record<string, ApiKey>;

/** bearer builds the Authorization header of a test key. */
export const bearer = (role: keyof typeof TEST_KEYS) => ({ authorization: `Bearer ${TEST_KEYS[role].token}` });

/** TestApi is an app built against the test servers, with the clients it holds. */
export interface TestApi {
  app: FastifyInstance;
  config: Config;
  clickhouse: ClickHouseClient;
  redis: Redis;
  close: () => Promise<void>;
}

/** startTestApi builds the API on the test servers (or on the given overrides, e.g. a dead ClickHouse). */
export async function startTestApi(
  overrides: Record<string, string> = {},
  rules?: Rule[],
  temporal?: Client,
  keys: readonly ApiKey[] = Object.values(TEST_KEYS),
  /** Rules from files and the admin API as `npm start`'s API reads them (store/rule-source.ts), instead of `rules`. */
  withRuleSource = false,
  /** Where the API's log lines go (none by default). */
  logTo?: { write(line: string): void },
): Promise<TestApi> {
  const config = testConfig(overrides);
  const clickhouse = createClickHouse(config);
  const redis = createRedis(config, 'test-api');
  // A test of a Redis outage points REDIS_URL at a dead port: the client stays up and fails its commands fast.
  await redis.connect().catch(() => undefined);
  const ruleSet = rules ?? (await loadRuleFiles('config/rules')).flatMap((g) => g.rules);
  const ruleSource = withRuleSource
    ? createRuleSource({ loadFiles: () => loadRuleFiles(fromRoot(config.rulesPath)), store: { clickhouse, redis, database: config.clickhouse.database }, taskQueue: config.temporal.taskQueue, initial: ruleSet })
    : undefined;
  await ruleSource?.refresh();
  // Bodies above 512 bytes go to a parse thread, so tests cover both the inline and the threaded path.
  const parsePool = { workerFile: process.env.TEST_PARSE_WORKER!, inlineBelowBytes: 512 };
  const app = await buildApp({ config, keys, clickhouse, redis, rules: ruleSource ? ruleSource.current : () => ruleSet, ...(ruleSource ? { ruleSource } : {}), parsePool, ...(temporal ? { temporal } : {}), ...(logTo ? { logger: logTo } : {}) });
  return {
    app,
    config,
    clickhouse,
    redis,
    close: async () => {
      // A slow step is named (a scraper test's teardown once outlasted its hook's minute under the full run's load).
      const started = Date.now();
      await app.close();
      if (Date.now() - started > 5_000) console.warn(`[test-api] app.close() took ${Date.now() - started} ms`);
      redis.disconnect();
      await clickhouse.close();
    },
  };
}
