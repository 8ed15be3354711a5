import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';

/** Stops the servers global-setup started and removes their folder. */
export default async function globalTeardown(): Promise<void> {
  const dir = process.env.TEST_STACK_DIR;
  if (!dir) return;
  const services = path.resolve(__dirname, '..', '..', 'scripts', 'services.sh');
  execFileSync('bash', [services, 'stop'], { env: process.env, stdio: 'ignore' });
  // The second ClickHouse shard of a cluster run (TEST_CLICKHOUSE_CLUSTER=1).
  if (process.env.TEST_SHARD2_DIR) execFileSync('bash', [services, 'stop', 'clickhouse'], { env: { ...process.env, MONITORING_LOCAL_DIR: process.env.TEST_SHARD2_DIR }, stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}
