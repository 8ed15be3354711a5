import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { migrate } from '../store/migrations';
import { connectRedis, connectTemporal, createClickHouse } from '../store/clients';
import { createActivities } from '../activities';
import { createAlertStream } from '../activities/alert-stream';
import { loadConfig, type Config } from '../core/config';
import { heartbeatInterceptor } from './heartbeat';
import { ensureHandoffWorkflows, ensureSchedules } from '../store/schedules';
import { createOncallStore } from '../store/oncall-store';
import { currentRuleGroups } from '../activities/rules';
import { evaluatedGroups } from '../core/rules';
import { fromRoot } from '../store/paths';
import { Registry } from 'prom-client';
import { installTemporalRuntime, jsonLogs, processLogger, startMetrics } from './observability';

/** WorkerHandle is a running worker and what it holds open. */
export interface WorkerHandle {
  worker: Worker;
  run: Promise<void>;
  close: () => Promise<void>;
}

/**
 * startWorker connects to Temporal, ClickHouse and Redis, applies migrations, registers the schedules and starts
 * polling the task queue. `workflowBundle` lets tests reuse one bundle across workers.
 */
export async function startWorker(
  config: Config,
  options: { workflowBundle?: WorkerOptions['workflowBundle']; registerSchedules?: boolean; taskQueue?: string } = {},
): Promise<WorkerHandle> {
  const clickhouse = createClickHouse(config);
  await migrate(config);
  const redis = await connectRedis(config, 'worker');
  const temporal = await connectTemporal(config);
  const taskQueue = options.taskQueue ?? config.temporal.taskQueue;
  if (options.registerSchedules !== false) {
    await ensureSchedules(temporal.client, config, evaluatedGroups(await currentRuleGroups(fromRoot(config.rulesPath), { clickhouse, redis, database: config.clickhouse.database }, config.temporal.taskQueue)));
    // Each stored on-call schedule has its handoff workflow (one restored into a fresh Temporal gets it here).
    const schedules = [...(await createOncallStore({ config, redis, clickhouse }).all()).keys()];
    await ensureHandoffWorkflows(temporal.client, config.temporal.taskQueue, schedules);
  }
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const alertStream = createAlertStream(config, redis);
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue,
    interceptors: { activity: [heartbeatInterceptor] },
    // A storm of new alerts lands on the shared (non-sticky) queue, which a fixed poller count serves with two polls
    // at a time (7 workflow tasks a second against the Temporal server on PostgreSQL under load): pollers scale
    // with the backlog instead.
    workflowTaskPollerBehavior: { type: 'autoscaling', minimum: 2, initial: 5, maximum: 40 },
    activityTaskPollerBehavior: { type: 'autoscaling', minimum: 1, initial: 5, maximum: 20 },
    // Open alert workflows kept in memory between their tasks (each one not cached replays its history on its next
    // task); the SDK's default follows the heap size (about 2,300 with Node's default heap here).
    ...cachedWorkflows(process.env.WORKER_MAX_CACHED_WORKFLOWS),
    activities: createActivities({ config: { ...config, temporal: { ...config.temporal, taskQueue } }, clickhouse, redis, temporal: temporal.client, ...(alertStream ? { alertStream } : {}) }),
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
  });
  const run = worker.run();
  return {
    worker,
    run,
    close: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await run.catch(() => undefined);
      await Promise.allSettled([connection.close(), temporal.connection.close(), clickhouse.close(), redis.quit(), alertStream?.close()]);
    },
  };
}

/** cachedWorkflows reads WORKER_MAX_CACHED_WORKFLOWS (unset: the SDK's default). */
function cachedWorkflows(raw: string | undefined): Pick<WorkerOptions, 'maxCachedWorkflows'> {
  if (raw === undefined || raw === '') return {};
  if (!/^\d+$/.test(raw)) throw new Error(`WORKER_MAX_CACHED_WORKFLOWS: expected a whole number, got "${raw}"`);
  return { maxCachedWorkflows: Number(raw) };
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = processLogger('worker');
  // Before any connection: the SDK's logs in our format, its runtime metrics on a loopback exporter.
  const sdkMetrics = await installTemporalRuntime(jsonLogs());
  // WORKER_SCHEDULES=off: poll only (a second worker, or a test's worker process, leaves the schedules alone).
  // WORKFLOW_BUNDLE: a prebuilt workflow bundle (bundleWorkflowCode's output) instead of bundling at start — a
  // restarted worker polls in a second rather than after webpack's ~10 s.
  const codePath = process.env.WORKFLOW_BUNDLE;
  const handle = await startWorker(config, { registerSchedules: process.env.WORKER_SCHEDULES !== 'off', ...(codePath ? { workflowBundle: { codePath } } : {}) });
  const metrics = await startMetrics({ env: process.env, name: 'WORKER_METRICS_PORT', fallback: 9464, registry: new Registry(), append: sdkMetrics, logger });
  logger.info(`polling task queue "${config.temporal.taskQueue}" on ${config.temporal.address}${metrics.port ? `; metrics on :${metrics.port}/metrics` : ''}`, { taskQueue: config.temporal.taskQueue });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void handle.close());
  await handle.run;
  await handle.close();
  metrics.server?.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    processLogger('worker').error('fatal', { error: (err as Error)?.stack ?? String(err) });
    process.exit(1);
  });
}
