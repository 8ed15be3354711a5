import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { migrate } from '../../store/migrations';
import { loadConfig } from '../../core/config';
import { PRODUCTION, freePort, privateServerEnv } from '../helpers/servers';
import globalTeardown from './global-teardown';

/**
 * Starts throwaway ClickHouse, Redis and Temporal servers on free ports in a temporary folder (never the dev
 * stack), migrates a test database, bundles the workflow code once, and hands it all to the tests through env.
 */
export default async function globalSetup(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-test-'));
  // Temporal with its Web UI: the browser test follows the dashboard's links into it.
  const uiPort = String(await freePort());
  const env: Record<string, string> = {
    ...(await privateServerEnv(dir)),
    CLICKHOUSE_DATABASE: 'monitoring_test',
    // The seed's examples are dated 2025: a 10-year retention keeps the tables' TTLs from expiring them on insert
    // (the retention test sets the defaults on a database of its own).
    MONITORING_RETENTION_DAYS: '3650',
    MONITORING_AGGREGATE_RETENTION_DAYS: '3650',
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_UI: '1',
    TEMPORAL_UI_PORT: uiPort,
    TEMPORAL_UI_URL: `http://127.0.0.1:${uiPort}`,
  };
  // TEST_CLICKHOUSE_CLUSTER=1 (npm run test:cluster) and the production profile (npm run test:production):
  // ClickHouse as two shards behind Distributed tables.
  const shard2 = process.env.TEST_CLICKHOUSE_CLUSTER === '1' || PRODUCTION ? await clusterEnv(dir, env) : undefined;
  Object.assign(process.env, env);
  const started = Date.now();
  process.env.TEST_STACK_DIR = dir;
  try {
    execFileSync('bash', [path.join(root, 'scripts', 'services.sh'), 'start'], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    if (shard2) execFileSync('bash', [path.join(root, 'scripts', 'services.sh'), 'start', 'clickhouse'], { env: { ...process.env, ...shard2 }, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (err) {
    // Jest runs no teardown after a failed setup: stop what did start, or its servers outlive the run.
    await globalTeardown();
    throw err;
  }
  const config = loadConfig(process.env);
  await migrate(config);
  // The API's parse threads run compiled code (dist/api/parse-worker.js): build it from the sources under test.
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  process.env.TEST_PARSE_WORKER = path.join(root, 'dist', 'api', 'parse-worker.js');
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietLogger });
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.TEMPORAL_TEST_SERVER_BIN = execFileSync('bash', ['-c', `source ${JSON.stringify(path.join(root, 'scripts', 'lib.sh'))} && temporal_test_server_bin`], {
    encoding: 'utf8',
  }).trim();
  if (PRODUCTION) process.stderr.write(`\n[test-setup] production profile: Temporal server on PostgreSQL (${env.TEMPORAL_ADDRESS}), ClickHouse cluster ${env.CLICKHOUSE_CLUSTER}, Redis with AOF\n`);
  process.stderr.write(`\n[test-setup] servers up and workflows bundled in ${((Date.now() - started) / 1000).toFixed(1)} s (${dir})\n`);
}

/**
 * clusterEnv makes the run's ClickHouse the first shard of cluster `pm_test` and returns the env that starts the
 * second (its own ports and folder, the same cluster); both shards' URLs go to the migrations.
 */
async function clusterEnv(dir: string, env: Record<string, string>): Promise<Record<string, string>> {
  const [http, tcp] = await Promise.all([freePort(), freePort()]);
  const url2 = `http://127.0.0.1:${http}`;
  Object.assign(env, {
    CLICKHOUSE_CLUSTER: 'pm_test',
    CLICKHOUSE_CLUSTER_SHARDS: `127.0.0.1:${env.CLICKHOUSE_TCP_PORT},127.0.0.1:${tcp}`,
    CLICKHOUSE_SHARD_URLS: `${env.CLICKHOUSE_URL},${url2}`,
    TEST_SHARD2_DIR: path.join(dir, 'shard2'),
  });
  return { MONITORING_LOCAL_DIR: path.join(dir, 'shard2'), CLICKHOUSE_URL: url2, CLICKHOUSE_TCP_PORT: String(tcp) };
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => process.stderr.write(`[bundle] ${message}\n`),
  error: (message: string) => process.stderr.write(`[bundle] ${message}\n`),
};
