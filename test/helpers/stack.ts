import { readFileSync } from 'node:fs';
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
