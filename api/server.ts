import { Client, Connection } from '@temporalio/client';
import { migrate } from '../store/migrations';
import { connectRedis, createClickHouse } from '../store/clients';
import { fromRoot } from '../store/paths';
import { loadRuleFiles } from '../activities/rules';
import { loadConfig } from '../core/config';
import type { Rule } from '../core/rules';
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
  let rules: Rule[] = (await loadRuleFiles(fromRoot(config.rulesPath))).flatMap((g) => g.rules);
  // Rule files are re-read every 30 s for health thresholds; a broken edit keeps the last good set.
  const reload = setInterval(() => {
    loadRuleFiles(fromRoot(config.rulesPath)).then(
      (groups) => (rules = groups.flatMap((g) => g.rules)),
      (err: unknown) => console.error('[api] rule reload failed, keeping previous rules:', (err as Error).message),
    );
  }, 30_000);
  // Lazy: the API starts and ingests while Temporal is down; alert actions answer 503 until it is back.
  const temporalConnection = Connection.lazy({ address: config.temporal.address });
  const temporal = new Client({ connection: temporalConnection, namespace: config.temporal.namespace });
  const app = await buildApp({ config, keys, clickhouse, redis, temporal, rules: () => rules, logger: true });
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
