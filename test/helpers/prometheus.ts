import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './servers';

/** RealPrometheus is a Prometheus server (Debian's, installed by scripts/services.sh) a test runs. */
export interface RealPrometheus {
  url: string;
  port: number;
  dir: string;
  /** The last 20 kB it wrote to stderr, to explain a failure. */
  log: () => string;
  stop: () => void;
  dispose: () => void;
}

/**
 * startPrometheus runs `prometheus` on a free port with a config built by `config(port, dir)` (written to
 * prometheus.yml in a temporary dir; files the config names can be written to that dir first), its TSDB in the dir.
 */
export async function startPrometheus(config: (port: number, dir: string) => string, flags: string[] = []): Promise<RealPrometheus> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-prom-'));
  const port = await freePort();
  writeFileSync(path.join(dir, 'prometheus.yml'), config(port, dir));
  let log = '';
  const child: ChildProcess = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-20_000)));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    log: () => log,
    stop: () => void child.kill('SIGTERM'),
    dispose: () => {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
