import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { loadConfig, type Config } from '../../core/config';

/** testConfig is the configuration pointing at the servers of the test setup, with per-test overrides. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, ...overrides });
}

/** workflowBundle is the workflow code bundled once by the test setup. */
export function workflowBundle(): { code: string } {
  const file = process.env.TEST_WORKFLOW_BUNDLE;
  if (!file) throw new Error('TEST_WORKFLOW_BUNDLE is not set: run the tests through jest (global setup)');
  return { code: readFileSync(file, 'utf8') };
}

/** uniqueName returns a name no other test of this run uses (task queues, services, rules). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** eventually retries an assertion until it passes or the time runs out. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 20_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/**
 * timeSkippingEnv starts the time-skipping test server from the binary the setup installed. The SDK gives the
 * server 5 s to start, which a loaded 2-core machine can miss, so it retries.
 */
export async function timeSkippingEnv(): Promise<import('@temporalio/testing').TestWorkflowEnvironment> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const path = process.env.TEMPORAL_TEST_SERVER_BIN;
  if (!path) throw new Error('TEMPORAL_TEST_SERVER_BIN is not set: run the tests through jest (global setup)');
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

/**
 * quietTemporalLogs keeps the Temporal SDK's runtime at WARN in tests, and its native core at ERROR (an outage test
 * would otherwise print every retried poll); it can be installed once per process.
 */
export function quietTemporalLogs(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DefaultLogger, Runtime } = require('@temporalio/worker') as typeof import('@temporalio/worker');
  try {
    Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, console: {} } } });
  } catch {
    // Already installed by an earlier test file in this jest worker.
  }
}

/**
 * recordHistory saves a finished workflow's event history (protobuf binary) under test/fixtures/histories when RECORD_HISTORIES=1,
 * for test/unit/workflows/replay.test.ts to replay against later versions of the workflow code.
 */
export async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  writeFileSync(path.resolve(__dirname, '../fixtures/histories', `${name}.binpb`), proto.api.history.v1.History.encode(history).finish());
}

