import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * The worker's and the scraper's own telemetry, like the API's: Prometheus metrics on a port of their own
 * (WORKER_METRICS_PORT, SCRAPER_METRICS_PORT; METRICS_HOST) and logs as JSON lines when LOG_FORMAT=json (the
 * production profile and docker-compose), text otherwise. The worker's /metrics adds the Temporal SDK's runtime
 * metrics (task slots, poll and schedule-to-start latencies, workflow and activity outcomes) to Node's process
 * metrics.
 */

/** LogFields are a log line's structured fields. */
export type LogFields = Record<string, unknown>;

/** ProcessLogger writes one component's log lines. */
export interface ProcessLogger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** jsonLogs is true when LOG_FORMAT=json. */
export const jsonLogs = (env: NodeJS.ProcessEnv = process.env) => env.LOG_FORMAT === 'json';

/** logLine formats one line: JSON ({time, level, component, msg, …fields}) or text ("[component] msg"). */
export function logLine(json: boolean, component: string, level: string, message: string, fields: LogFields = {}, time = new Date()): string {
  if (json) return JSON.stringify({ time: time.toISOString(), level, component, msg: message, ...fields });
  const extra = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
  return `[${component}] ${message}${extra}`;
}

/** processLogger logs as `component` to stdout (info) and stderr (warn, error). */
export function processLogger(component: string, json = jsonLogs()): ProcessLogger {
  const write = (level: string, stream: NodeJS.WriteStream) => (message: string, fields?: LogFields) => stream.write(`${logLine(json, component, level, message, fields)}\n`);
  return { info: write('info', process.stdout), warn: write('warn', process.stderr), error: write('error', process.stderr) };
}

/** freeLoopbackPort asks the OS for a port nobody listens on (for the SDK's internal exporter). */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * installTemporalRuntime configures the process's Temporal runtime (once, before any connection): the SDK's logs
 * through `logger`'s format, its metrics on a loopback Prometheus exporter whose address it returns.
 */
export async function installTemporalRuntime(json: boolean): Promise<string> {
  const { DefaultLogger, Runtime } = await import('@temporalio/worker');
  const address = `127.0.0.1:${await freeLoopbackPort()}`;
  Runtime.install({
    logger: new DefaultLogger('INFO', (entry) => {
      const { message, level, meta } = entry;
      const time = new Date(Number(entry.timestampNanos / 1_000_000n));
      const line = logLine(json, 'temporal', level.toLowerCase(), message, (meta ?? {}) as LogFields, time);
      (level === 'WARN' || level === 'ERROR' ? process.stderr : process.stdout).write(`${line}\n`);
    }),
    telemetryOptions: {
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      metrics: { prometheus: { bindAddress: address, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } },
    },
  });
  return address;
}

/**
 * serveMetrics answers GET /metrics with `registry` (plus Node's process metrics) and, when given, the text of
 * another exporter (the Temporal SDK's) appended, on host:port. Resolves once listening.
 */
export async function serveMetrics(options: { host: string; port: number; registry: Registry; append?: string }): Promise<Server> {
  collectDefaultMetrics({ register: options.registry });
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    void (async () => {
      const own = await options.registry.metrics();
      const sdk = options.append ? await fetch(`http://${options.append}/metrics`).then((r) => r.text(), () => '') : '';
      res.writeHead(200, { 'content-type': options.registry.contentType }).end(`${own}${sdk ? `\n${sdk}` : ''}`);
    })().catch((err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}

/**
 * startMetrics serves /metrics on the port `name` says (0: off), or logs why it cannot (port taken) and goes on
 * without: a process that cannot expose its metrics still does its work.
 */
export async function startMetrics(options: { env: NodeJS.ProcessEnv; name: string; fallback: number; registry: Registry; append?: string; logger: ProcessLogger }): Promise<{ server?: Server; port: number }> {
  const port = metricsPort(options.env, options.name, options.fallback);
  if (port === 0) return { port };
  try {
    const server = await serveMetrics({ host: options.env.METRICS_HOST ?? '127.0.0.1', port, registry: options.registry, ...(options.append ? { append: options.append } : {}) });
    return { server, port };
  } catch (err) {
    options.logger.warn(`metrics endpoint not started on :${port} (${(err as Error).message}); set ${options.name}`, { port });
    return { port: 0 };
  }
}

/** metricsPort reads a metrics port variable (0 turns the endpoint off). */
export function metricsPort(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name}: expected a port number (0 turns metrics off), got ${JSON.stringify(raw)}`);
  return port;
}
