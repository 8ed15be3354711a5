import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAlertingStack, type AlertingStack } from '../helpers/alerting';
import { startScraperProcess, startWorkerProcess, type Proc } from '../helpers/processes';
import { freePort } from '../helpers/servers';
import { eventually, quietTemporalLogs, uniqueName } from '../helpers/stack';

quietTemporalLogs();

/**
 * The worker and the scraper are observable like the API (issue 16): each serves Prometheus metrics on a port of
 * its own — the worker's with the Temporal SDK's runtime metrics — and with LOG_FORMAT=json writes only JSON lines.
 */
describe('worker and scraper processes: /metrics and JSON logs', () => {
  const service = uniqueName('obs');
  let stack: AlertingStack;
  const procs: Proc[] = [];
  let target: Server;

  beforeAll(async () => {
    stack = await startAlertingStack({
      name: 'obs',
      service,
      metric: 'cpu_usage_percent',
      rulesYaml: `test_rules:\n  cpu:\n    - name: obs_cpu\n      expression: 'cpu_usage_percent{service="${service}"} > 90'\n      severity: warning\n`,
      escalationYaml: 'default_policy: p\npolicies:\n  - name: p\n    steps:\n      - wait: 1h\n        targets: [{slack: "#ml-alerts"}]\n',
      worker: false,
    });
    // A scrape target speaking the Prometheus text format.
    target = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('# TYPE obs_up gauge\nobs_up 1\n'));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    target?.close();
    await stack?.close();
  });

  /** jsonLines parses every non-empty line of a process's output, failing on any that is not JSON. */
  const jsonLines = (output: string) =>
    output
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          throw new Error(`not a JSON log line: ${line.slice(0, 300)}`);
        }
      });

  it('the worker serves its process and Temporal SDK metrics, and logs JSON lines', async () => {
    const port = await freePort();
    const worker = await startWorkerProcess({ ...stack.env, WORKER_SCHEDULES: 'off', WORKFLOW_BUNDLE: process.env.TEST_WORKFLOW_BUNDLE!, WORKER_METRICS_PORT: String(port), LOG_FORMAT: 'json' });
    procs.push(worker);
    // A workflow through the worker: the SDK counts its task.
    await stack.driver.evaluate();
    const metrics = await eventually(async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toMatch(/^temporal_workflow_completed_total\{.*\} [1-9]/m);
      return text;
    }, 30_000, 500);
    expect(metrics).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(metrics).toMatch(/^temporal_worker_task_slots_available\{/m);
    expect(metrics).toMatch(/^temporal_workflow_task_schedule_to_start_latency_seconds_bucket\{/m);
    const lines = jsonLines(worker.output());
    expect(lines).toContainEqual(expect.objectContaining({ level: 'info', component: 'worker', msg: expect.stringContaining('polling task queue'), time: expect.any(String) }));
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  }, 90_000);

  it('the scraper serves its targets\' outcomes and counts, and logs JSON lines', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-obs-'));
    const { port: targetPort } = target.address() as { port: number };
    writeFileSync(path.join(dir, 'scrape.yaml'), `service_discovery:\n  static:\n    services:\n      - name: ${service}\n        endpoints: ["http://127.0.0.1:${targetPort}/metrics", "http://127.0.0.1:${await freePort()}/metrics"]\n`);
    const port = await freePort();
    const scraper = await startScraperProcess({ ...stack.env, MONITORING_SCRAPE_CONFIG: path.join(dir, 'scrape.yaml'), MONITORING_SCRAPE_INTERVAL: '1s', SCRAPER_METRICS_PORT: String(port), LOG_FORMAT: 'json' });
    procs.push(scraper);
    const metrics = await eventually(async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toContain(`monitoring_scrape_target_up{job="${service}",instance="127.0.0.1:${targetPort}"} 1`);
      expect(text).toMatch(new RegExp(`monitoring_scrape_target_up\\{job="${service}",instance="127.0.0.1:\\d+"\\} 0`));
      expect(text).toMatch(/^monitoring_scrape_failures_total [1-9]/m);
      return text;
    }, 30_000, 500);
    expect(metrics).toMatch(/^monitoring_scrapes_total [1-9]/m);
    expect(metrics).toMatch(/^process_resident_memory_bytes \d/m);
    expect(jsonLines(scraper.output())).toContainEqual(expect.objectContaining({ level: 'info', component: 'scraper', msg: expect.stringContaining('scraping every 1 s') }));
  }, 60_000);
});
