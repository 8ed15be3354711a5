import { Client, Connection } from '@temporalio/client';
import { migrate } from '../store/migrations';
import { connectRedis, createClickHouse } from '../store/clients';
import { fromRoot } from '../store/paths';
import { loadRuleFiles } from '../activities/rules';
import { loadConfig } from '../core/config';
import { createRuleSource } from '../store/rule-source';
import { buildApp } from './app';
import { ensureKeysFile, loadKeys } from './keys';

/** main starts the API: keys file (created when missing), migrations, clients, then listen; closes gracefully on SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const keysFile = fromRoot(config.apiKeysFile);
  if (await ensureKeysFile(keysFile)) console.log(`[api] created API keys in ${keysFile}`);
  const keys = await loadKeys(keysFile);
  await migrate(config);
  const clickhouse = createClickHouse(config);
  const redis = await connectRedis(config, 'api');
  // Health and the dashboard judge by the files' rules and the API's (as the evaluation does), re-read every 30 s
  // and after each rule edit; a broken file edit or a store outage keeps the last good set.
  const loadFiles = () => loadRuleFiles(fromRoot(config.rulesPath));
  const rules = createRuleSource({
    loadFiles,
    store: { clickhouse, redis, database: config.clickhouse.database },
    taskQueue: config.temporal.taskQueue,
    initial: (await loadFiles()).flatMap((g) => g.rules),
    onError: (err) => console.error('[api] rule reload failed, keeping previous rules:', (err as Error).message),
  });
  await rules.refresh();
  const reload = setInterval(() => void rules.refresh(), 30_000);
  // Lazy: the API starts and ingests while Temporal is down; alert actions answer 503 until it is back.
  const temporalConnection = Connection.lazy({ address: config.temporal.address });
  const temporal = new Client({ connection: temporalConnection, namespace: config.temporal.namespace });
  const app = await buildApp({ config, keys, clickhouse, redis, temporal, rules: rules.current, ruleSource: rules, logger: true });
  await app.listen({ port: config.apiPort, host: config.apiHost });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      clearInterval(reload);
      // app.close() stops accepting, answers in-flight requests and flushes the sample writer; then the clients go.
      app
        .close()
        .then(() => Promise.allSettled([clickhouse.close(), redis.quit(), temporalConnection.close()]))
        .then(
          () => process.exit(0),
          () => process.exit(1),
        );
    });
  }
}

main().catch((err) => {
  console.error('[api] fatal:', err);
  process.exit(1);
});
