import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';

/** Stops the servers global-setup started and removes their folder. */
export default async function globalTeardown(): Promise<void> {
  const dir = process.env.TEST_STACK_DIR;
  if (!dir) return;
  execFileSync('bash', [path.resolve(__dirname, '..', '..', 'scripts', 'services.sh'), 'stop'], { env: process.env, stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}
