import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signLink } from '../../store/ack-links';
import { slackSignature } from '../../api/routes/integrations';
import { freePort, privateClickHouse, type PrivateClickHouse } from '../helpers/servers';
import { eventually } from '../helpers/stack';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Security (issue 7, scenario 8) against the API as `npm start` runs it (`node dist/api/server.js`), its output
 * captured: forged, expired and replayed e-mail links and Slack requests are refused; no secret or token reaches
 * the logs; a dependency's failure is answered without the driver's text; every secret comparison is the
 * constant-time one.
 */
describe('security: signatures, secrets in logs, error texts', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-security-'));
  const secrets = {
    admin: 'sec-admin-token-7f3a9c2e51d84b06',
    service: 'sec-service-token-2b8e4d91c7a05f36',
    link: 'sec-link-secret-4c1f8e7a2d9b3605',
    slack: 'sec-slack-signing-secret-9e2c7b14',
    smtpPassword: 'sec-smtp-password-61d0a9f3',
  };
  let api: ChildProcess;
  let base: string;
  let output = '';
  let deadBase: string;
  let dead: ChildProcess;
  let privateServer: PrivateClickHouse;

  /** startApi runs the API process with the secrets in its environment and resolves once it listens. */
  const startApi = async (env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> => {
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'api', 'server.js')], {
      env: {
        ...process.env,
        API_PORT: String(port),
        MONITORING_API_KEYS_FILE: path.join(dir, 'keys.json'),
        ALERT_LINK_SECRET: secrets.link,
        SLACK_SIGNING_SECRET: secrets.slack,
        SMTP_URL: `smtp://alerts:${secrets.smtpPassword}@127.0.0.1:1`,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const url = `http://127.0.0.1:${port}`;
    await eventually(async () => expect((await fetch(`${url}/healthz`).catch(() => undefined))?.status).toBeDefined(), 60_000, 250);
    return { child, url };
  };

  beforeAll(async () => {
    writeFileSync(
      path.join(dir, 'keys.json'),
      JSON.stringify({ keys: [{ name: 'admin', token: secrets.admin, role: 'admin' }, { name: 'svc', token: secrets.service, role: 'service' }] }),
    );
    ({ child: api, url: base } = await startApi({}));
    // A second API on a ClickHouse of its own, stopped once the API is up (the driver's errors must not reach the answers).
    privateServer = await privateClickHouse();
    ({ child: dead, url: deadBase } = await startApi({ CLICKHOUSE_URL: privateServer.url, MONITORING_QUERY_TIMEOUT: '2s' }));
    privateServer.stop();
  }, 120_000);
  afterAll(() => {
    api?.kill('SIGKILL');
    dead?.kill('SIGKILL');
    privateServer?.dispose();
  });

  const post = (url: string, body: string, headers: Record<string, string>) => fetch(url, { method: 'POST', body, headers });

  it('refuses forged, expired and replayed e-mail links', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const claims = { alertId: 'alert_00000000deadbeef_1', action: 'acknowledge' as const, recipient: 'oncall@example.com' };
    const forged = signLink('not-the-secret', { ...claims, expiresAtMs: Date.now() + 60_000 });
    expect((await post(`${base}/api/v1/alerts/ack`, `token=${forged}`, form)).status).toBe(401);
    const expired = signLink(secrets.link, { ...claims, expiresAtMs: Date.now() - 1 });
    expect((await post(`${base}/api/v1/alerts/ack`, `token=${expired}`, form)).status).toBe(410);
    // A tampered payload (the claims of another alert under the original signature).
    const genuine = signLink(secrets.link, { ...claims, expiresAtMs: Date.now() + 60_000 });
    const [, mac] = genuine.split('.');
    const other = Buffer.from(JSON.stringify({ id: 'alert_0000000000000001_1', a: 'resolve', to: 'mallory@example.com', exp: Date.now() + 60_000 })).toString('base64url');
    expect((await post(`${base}/api/v1/alerts/ack`, `token=${other}.${mac}`, form)).status).toBe(401);
    // A genuine link for an alert that no longer exists (used, or replayed later): nothing to do, never a 5xx.
    const replayed = [await post(`${base}/api/v1/alerts/ack`, `token=${genuine}`, form), await post(`${base}/api/v1/alerts/ack`, `token=${genuine}`, form)];
    for (const r of replayed) {
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
    }
  });

  it('refuses forged, stale and replayed-with-another-body Slack requests', async () => {
    const body = `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: 'U1', name: 'eve' }, actions: [{ action_id: 'alert_acknowledge', value: 'alert_00000000deadbeef_1' }] }))}`;
    const now = String(Math.floor(Date.now() / 1000));
    const headers = (timestamp: string, signature: string) => ({ 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature });
    expect((await post(`${base}/api/v1/integrations/slack/actions`, body, headers(now, slackSignature('not-the-secret', now, body)))).status).toBe(401);
    const old = String(Math.floor(Date.now() / 1000) - 301);
    expect((await post(`${base}/api/v1/integrations/slack/actions`, body, headers(old, slackSignature(secrets.slack, old, body)))).status).toBe(401);
    // A captured genuine signature replayed on another body (another alert) is refused.
    const genuine = slackSignature(secrets.slack, now, body);
    expect((await post(`${base}/api/v1/integrations/slack/actions`, body.replace('deadbeef', 'feedface'), headers(now, genuine))).status).toBe(401);
    expect((await post(`${base}/api/v1/integrations/slack/actions`, body, headers(now, 'v0=' + '0'.repeat(64)))).status).toBe(401);
  });

  it('answers a dependency failure without the driver’s text', async () => {
    const ingest = await post(`${deadBase}/api/v1/internal/monitoring/metrics`, JSON.stringify({ samples: [{ name: 'x', value: 1, labels: { service: 's' } }] }), {
      authorization: `Bearer ${secrets.service}`,
      'content-type': 'application/json',
    });
    expect(ingest.status).toBe(503);
    expect(ingest.headers.get('retry-after')).toBeTruthy();
    const reads = await Promise.all(
      ['/api/v1/public/monitoring/performance?service=s&metric=x', '/api/v1/admin/monitoring/slo', '/api/v1/admin/monitoring/business', '/api/v1/internal/monitoring/health/s'].map((url) =>
        fetch(`${deadBase}${url}`, { headers: { authorization: `Bearer ${secrets.admin}` } }),
      ),
    );
    for (const response of [ingest, ...reads]) {
      const text = await response.text();
      expect(response.status).toBeLessThan(600);
      // No driver, socket or stack text in any answer.
      expect(text).not.toMatch(/ECONNREFUSED|ETIMEDOUT|ENOTFOUND|socket|at .*\.(js|ts):\d+|ClickHouseError|ReplyError|Code: \d+\./);
    }
  });

  it('keeps every secret and token out of the logs', async () => {
    // Traffic that logs: good and bad tokens, a failing dependency, a bad body.
    await fetch(`${base}/api/v1/admin/monitoring/overview`, { headers: { authorization: `Bearer ${secrets.admin}` } });
    await fetch(`${base}/api/v1/admin/monitoring/overview`, { headers: { authorization: `Bearer ${secrets.admin}x` } });
    await post(`${base}/api/v1/internal/monitoring/metrics`, '{"broken": ', { authorization: `Bearer ${secrets.service}`, 'content-type': 'application/json' });
    await post(`${deadBase}/api/v1/internal/monitoring/events`, JSON.stringify({ event_type: 'x', timestamp: new Date().toISOString(), service_name: 's' }), { authorization: `Bearer ${secrets.service}`, 'content-type': 'application/json' });
    await fetch(`${base}/api/v1/alerts/ack?token=${signLink(secrets.link, { alertId: 'a', action: 'resolve', recipient: 'r@example.com', expiresAtMs: Date.now() + 60_000 })}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(output.length).toBeGreaterThan(0);
    for (const [name, secret] of Object.entries(secrets)) expect({ name, leaked: output.includes(secret) }).toEqual({ name, leaked: false });
    // The link token is a bearer credential too.
    expect(output).not.toMatch(/token=[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}/);
  });

  it('compares every secret in constant time', () => {
    // The three places a presented secret meets the real one: API keys (digests), Slack signatures, link MACs.
    for (const [file, compare] of [
      ['api/keys.ts', /timingSafeEqual\(entry\.digest, candidate\)/],
      ['api/routes/integrations.ts', /timingSafeEqual\(given, slackMac\(/],
      ['store/ack-links.ts', /timingSafeEqual\(given, expected\)/],
    ] as const) {
      const source = readFileSync(path.join(ROOT, file), 'utf8');
      expect(source).toMatch(compare);
      // …and nowhere a plain comparison of a token, signature or secret.
      expect(source).not.toMatch(/(token|signature|secret|digest)\s*===\s*\w/i);
    }
  });
});
