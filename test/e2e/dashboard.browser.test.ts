import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { PROJECT_ROOT } from '../../store/paths';
import { bearer, TEST_KEYS } from '../helpers/api';
import { startAlertingStack, twoStepPolicy, type AlertingStack } from '../helpers/alerting';
import { eventually, uniqueName } from '../helpers/stack';

/**
 * The dashboard page in headless Chromium (Debian's, driven by playwright-core) against the running stack: the
 * API listening on a port, a worker, the Temporal dev server with its Web UI, the real ClickHouse and Redis. It
 * signs in with the viewer key, sees a value change after new samples arrive, acknowledges a firing alert with its
 * button, follows the alert's link into the Temporal UI, and measures navigation → first data drawn.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(PROJECT_ROOT, '.local', 'artifacts');
const SERVICE = 'ml-inference';

/** InPage is what the test's browser-side functions read of the page (no DOM types here). */
interface InPage {
  __dashboard: { firstDataMs?: number };
  document: { querySelector(selector: string): { textContent: string | null } | null };
}

describe('dashboard page in a browser', () => {
  let stack: AlertingStack;
  let browser: Browser;
  let url: string;
  const metric = `browser_${uniqueName('cpu').replaceAll('-', '_')}`;
  const rule = `${metric}_high`;

  beforeAll(async () => {
    stack = await startAlertingStack({
      name: 'browser',
      service: SERVICE,
      metric,
      rulesYaml: `browser:\n  browser:\n    - {name: ${rule}, expression: '${metric}{service="${SERVICE}"} > 90', duration: 3s, severity: critical}\n`,
      escalationYaml: twoStepPolicy('browser'),
    });
    await stack.api.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(stack.api.app.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  const push = async (p95: number) => {
    const response = await stack.api.app.inject({
      method: 'POST',
      url: '/api/v1/internal/monitoring/metrics',
      headers: bearer('service'),
      payload: [
        { system_metrics: { timestamp: new Date().toISOString(), service_name: SERVICE, instance_id: `${SERVICE}-browser`, metrics: { cpu_usage_percent: 50, memory_usage_percent: 60 } } },
        { application_metrics: { timestamp: new Date().toISOString(), service_name: SERVICE, instance_id: `${SERVICE}-browser`, metrics: { response_time_p95_ms: p95, requests_per_second: 12 } } },
      ],
    });
    expect(response.statusCode).toBe(202);
  };

  it('signs in, draws data in under a second, follows new samples, acknowledges an alert and links to its workflow', async () => {
    await push(41);
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();

    // First visit: the page asks for a token once.
    await page.goto(url);
    await page.getByTestId('token').fill(TEST_KEYS.viewer.token);
    await page.getByTestId('sign-in').click();
    const p95Cell = page.locator(`tr[data-service="${SERVICE}"] td[data-field="p95"]`);
    await p95Cell.waitFor();
    expect(await p95Cell.textContent()).toBe('41');

    // A reload keeps the token: navigation → first data drawn, as the page itself measures it.
    await page.reload();
    // (Browser-side functions reach the page through globalThis: these tests compile without the DOM's types.)
    await page.waitForFunction(() => (globalThis as unknown as InPage).__dashboard.firstDataMs !== undefined);
    const firstDataMs = await page.evaluate(() => (globalThis as unknown as InPage).__dashboard.firstDataMs!);
    process.stderr.write(`[browser] navigation → first data drawn: ${firstDataMs.toFixed(0)} ms\n`);
    expect(firstDataMs).toBeLessThan(3000);
    // Only the viewer's service is shown.
    expect(await page.locator('tr[data-service]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-service')))).toEqual([SERVICE]);

    // New samples arrive: the value on the page changes without a reload.
    await push(77);
    await page.waitForFunction((selector) => (globalThis as unknown as InPage).document.querySelector(selector)?.textContent === '77', `tr[data-service="${SERVICE}"] td[data-field="p95"]`, { timeout: 15_000 });

    // An alert fires; the page shows it and acknowledges it with the button.
    await stack.driver.breach('i-browser', 99);
    const view = await stack.driver.firing(rule, 'i-browser');
    const { workflowId } = stack.driver.handleOf(rule, 'i-browser');
    const row = page.locator(`tr[data-alert="${view.alertId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await row.locator('button[data-action="ack"]').click();
    const stateCell = `tr[data-alert="${view.alertId}"] td[data-field="state"]`;
    await page.waitForFunction((selector) => (globalThis as unknown as InPage).document.querySelector(selector)?.textContent?.startsWith('acknowledged by viewer'), stateCell, { timeout: 15_000 });
    expect((await stack.driver.handleOf(rule, 'i-browser').query<{ phase: string; acknowledgedBy?: string }>('state')).acknowledgedBy).toBe('viewer');
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    // The alert's link opens its workflow in the Temporal UI.
    const href = await row.getByTestId('workflow-link').getAttribute('href');
    expect(href).toContain(encodeURIComponent(workflowId));
    const temporalPage = await context.newPage();
    await temporalPage.goto(href!);
    await eventually(async () => {
      expect(await temporalPage.getByText(workflowId).first().isVisible()).toBe(true);
    }, 30_000);
    await temporalPage.screenshot({ path: path.join(ARTIFACTS, 'temporal-workflow.png') });
    await context.close();
  }, 120_000);

  it('shows an admin who is on call now in each schedule, and the gap in one without anybody', async () => {
    const put = (name: string, body: object) => stack.api.app.inject({ method: 'PUT', url: `/api/v1/admin/monitoring/oncall/schedules/${name}`, headers: bearer('admin'), payload: body });
    const contacts = { dana: { email: 'dana@example.com' } };
    const covered = uniqueName('browser-primary').toLowerCase();
    const gap = uniqueName('browser-nights').toLowerCase();
    const soon = new Date(Date.now() + 10 * 86_400_000);
    expect((await put(covered, { time_zone: 'Europe/London', contacts, layers: [{ start: '2026-01-05T09:00', rotation: 'weekly', users: ['dana'] }] })).statusCode).toBe(200);
    // A layer that starts in 10 days: nobody until then.
    expect((await put(gap, { time_zone: 'Asia/Tokyo', contacts, layers: [{ start: `${soon.toISOString().slice(0, 10)}T09:00`, rotation: 'daily', users: ['dana'] }] })).statusCode).toBe(200);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await page.getByTestId('token').fill(TEST_KEYS.admin.token);
    await page.getByTestId('sign-in').click();
    const oncall = page.getByTestId('oncall');
    await eventually(async () => {
      expect(await oncall.locator(`[data-schedule="${covered}"]`).textContent()).toBe(`${covered}: dana (layer-1) with no change in the next 35 days`);
      expect(await oncall.locator(`[data-schedule="${gap}"]`).textContent()).toMatch(/: nobody until .*9:00.* Asia\/Tokyo$/);
    }, 30_000, 300);
    await oncall.screenshot({ path: path.join(ARTIFACTS, 'oncall.png') });
    await context.close();
    for (const name of [covered, gap]) await stack.api.app.inject({ method: 'DELETE', url: `/api/v1/admin/monitoring/oncall/schedules/${name}`, headers: bearer('admin') });
  }, 60_000);
});
