import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { eventually } from './stack';

const ROOT = path.resolve(__dirname, '..', '..');

/** Proc is a spawned process of the module (built by the test setup into dist/) and its output so far. */
export interface Proc {
  child: ChildProcess;
  output: () => string;
  /** kill sends SIGKILL and resolves once the process is gone. */
  kill: () => Promise<void>;
}

function spawnDist(file: string, env: Record<string, string>, quiet: boolean): Proc {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', file)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    // Bounded: a long run's request log is not kept whole.
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout!.on('data', quiet ? () => undefined : keep);
  child.stderr!.on('data', keep);
  return {
    child,
    output: () => output,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * startApiProcess runs `node dist/api/server.js` (as `npm start` does) on API_PORT and resolves once /healthz
 * answers 200. The request log (stdout) is dropped unless `keepLog`.
 */
export async function startApiProcess(env: Record<string, string>, keepLog = false): Promise<Proc> {
  const proc = spawnDist('api/server.js', env, !keepLog);
  const url = `http://127.0.0.1:${env.API_PORT}/healthz`;
  await eventually(async () => {
    if (proc.child.exitCode !== null) throw new Error(`API exited (${proc.child.exitCode}):\n${proc.output().slice(-2000)}`);
    expect((await fetch(url).catch(() => undefined))?.status).toBe(200);
  }, 60_000, 100);
  return proc;
}

/** startWorkerProcess runs `node dist/workers/worker.js` (as `npm start` does) and resolves once it polls. */
export async function startWorkerProcess(env: Record<string, string>): Promise<Proc> {
  const proc = spawnDist('workers/worker.js', env, false);
  await new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (/\[worker\] polling|"msg":"polling task queue/.test(proc.output())) resolve();
    };
    proc.child.stdout!.on('data', onData);
    proc.child.once('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}) before polling:\n${proc.output().slice(-2000)}`)));
  });
  return proc;
}

/** startScraperProcess runs `node dist/workers/scraper.js` (as `npm start` does) and resolves once it scrapes. */
export async function startScraperProcess(env: Record<string, string>): Promise<Proc> {
  const proc = spawnDist('workers/scraper.js', env, false);
  await new Promise<void>((resolve, reject) => {
    proc.child.stdout!.on('data', () => {
      if (/scraping every/.test(proc.output())) resolve();
    });
    proc.child.once('exit', (code, signal) => reject(new Error(`scraper exited (${code ?? signal}) before scraping:\n${proc.output().slice(-2000)}`)));
  });
  return proc;
}
