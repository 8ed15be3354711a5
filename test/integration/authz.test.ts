import type { RouteAccess } from '../../core/auth';
import { bearer, startTestApi, TEST_KEYS, type TestApi } from '../helpers/api';

/**
 * The authorization matrix: every route of the app × no key, each role, and (for routes naming a service) a service
 * inside and outside the viewer's scope. The expected class of each route is written here from DESIGN.md's roles,
 * so a route added without being classified — or classified differently — fails this test.
 */
const EXPECTED: Record<string, RouteAccess> = {
  'GET /healthz': 'open',
  'GET /': 'open',
  'GET /static/dashboard.js': 'open',
  'GET /static/dashboard.css': 'open',
  'GET /static/uPlot.iife.min.js': 'open',
  'GET /static/uPlot.min.css': 'open',
  'GET /docs': 'open',
  'GET /docs/json': 'open',
  'GET /docs/yaml': 'open',
  'GET /docs/static/index.html': 'open',
  'GET /docs/static/swagger-initializer.js': 'open',
  'GET /docs/static/*': 'open',
  'GET /metrics': 'internal',
  'POST /api/v1/internal/monitoring/metrics': 'ingest',
  'POST /api/v1/write': 'ingest',
  'POST /v1/traces': 'ingest',
  'POST /api/v1/integrations/cloudwatch/metric-streams': 'signed',
  'POST /api/v1/integrations/pagerduty/webhook': 'signed',
  'POST /v1/metrics': 'ingest',
  'POST /api/v2/alerts': 'ingest',
  'GET /api/v2/alerts': 'admin',
  'GET /api/v2/silences': 'admin',
  'POST /api/v2/silences': 'admin',
  'GET /api/v2/silence/:id': 'admin',
  'DELETE /api/v2/silence/:id': 'admin',
  'GET /api/v2/status': 'admin',
  'GET /api/v2/receivers': 'admin',
  'POST /api/v1/internal/monitoring/events': 'ingest',
  'GET /api/v1/internal/monitoring/health/:service_name': 'internal',
  'GET /api/v1/internal/monitoring/alerts/:service_name': 'internal',
  'GET /api/v1/public/monitoring/dashboard': 'public',
  'GET /api/v1/public/monitoring/performance': 'public',
  'GET /api/v1/public/monitoring/traces': 'public',
  'GET /api/v1/public/monitoring/traces/:trace_id': 'public',
  // Prometheus' query API (Grafana, promtool): read as the dashboard is, GET or form POST.
  ...Object.fromEntries(['query', 'query_range', 'query_exemplars', 'series', 'labels', 'label/:name/values'].flatMap((p) => [`GET /api/v1/${p}`, `POST /api/v1/${p}`].map((r) => [r, 'public']))),
  'GET /api/v1/metadata': 'public',
  'GET /api/v1/status/buildinfo': 'public',
  'POST /api/v1/alerts/:alert_id/ack': 'respond',
  'POST /api/v1/alerts/:alert_id/resolve': 'respond',
  'GET /api/v1/alerts/:alert_id/timeline': 'public',
  'POST /api/v1/integrations/slack/actions': 'signed',
  'GET /api/v1/alerts/ack': 'signed',
  'POST /api/v1/alerts/ack': 'signed',
  'GET /api/v1/admin/monitoring/overview': 'admin',
  'GET /api/v1/admin/monitoring/capacity': 'admin',
  'GET /api/v1/admin/monitoring/trends': 'admin',
  'GET /api/v1/admin/monitoring/slo': 'admin',
  'GET /api/v1/admin/monitoring/business': 'admin',
  'GET /api/v1/admin/monitoring/reports': 'admin',
  'POST /api/v1/admin/monitoring/reports': 'admin',
  'GET /api/v1/admin/monitoring/alerts/history': 'admin',
  'GET /api/v1/admin/monitoring/evaluations': 'admin',
  'GET /api/v1/admin/monitoring/alerts/rules': 'admin',
  'POST /api/v1/admin/monitoring/alerts/rules': 'admin',
  'PUT /api/v1/admin/monitoring/alerts/rules/:name': 'admin',
  'DELETE /api/v1/admin/monitoring/alerts/rules/:name': 'admin',
  'POST /api/v1/admin/monitoring/alerts/rules/backtest': 'admin',
  'GET /api/v1/admin/monitoring/silences': 'admin',
  'POST /api/v1/admin/monitoring/silences': 'admin',
  'DELETE /api/v1/admin/monitoring/silences/:id': 'admin',
  'PUT /api/v1/admin/monitoring/silences/:id': 'admin',
  'GET /api/v1/admin/monitoring/escalation-policies': 'admin',
  'PUT /api/v1/admin/monitoring/escalation-policies/:name': 'admin',
  'DELETE /api/v1/admin/monitoring/escalation-policies/:name': 'admin',
  'GET /api/v1/admin/monitoring/oncall/schedules': 'admin',
  'GET /api/v1/admin/monitoring/oncall/schedules/:name': 'admin',
  'PUT /api/v1/admin/monitoring/oncall/schedules/:name': 'admin',
  'DELETE /api/v1/admin/monitoring/oncall/schedules/:name': 'admin',
  'GET /api/v1/admin/monitoring/oncall/schedules/:name/oncall': 'admin',
  'GET /api/v1/admin/monitoring/oncall/schedules/:name/shifts': 'admin',
};

/** Which roles each class lets through (DESIGN.md: service ingests and reads internal routes, viewer the public ones). */
const ALLOWED: Record<Exclude<RouteAccess, 'open' | 'signed'>, Array<keyof typeof TEST_KEYS>> = {
  ingest: ['service', 'admin'],
  internal: ['service', 'admin'],
  public: ['viewer', 'admin'],
  respond: ['viewer', 'admin'],
  admin: ['admin'],
};

const IN_SCOPE = 'ml-inference';
const OUT_OF_SCOPE = 'feature-engineering';

describe('authorization matrix: every route × every role × in/out-of-scope service', () => {
  let api: TestApi;
  beforeAll(async () => {
    // Without Temporal: the alert routes answer 503 once the key is accepted, which is all this test needs to see.
    // Slack's signing secret is set, so its route checks (and refuses) the missing signature; answers are not
    // shared, so each request sees the data pushed just before it.
    api = await startTestApi({ SLACK_SIGNING_SECRET: 'matrix-signing-secret', MONITORING_DASHBOARD_CACHE: '0s' });
    await api.app.ready();
  });
  afterAll(() => api.close());

  it('classifies every route of the app as DESIGN.md says', () => {
    const actual = Object.fromEntries(api.app.routeTable.map((r) => [`${r.method} ${r.url}`, r.access]));
    expect(actual).toEqual(EXPECTED);
  });

  const call = (method: string, url: string, headers: Record<string, string>) =>
    api.app.inject({ method: method as 'GET', url, headers: { ...headers, 'content-type': 'application/json' }, ...(method === 'GET' || method === 'DELETE' ? {} : { payload: '{}' }) });

  const concrete = (url: string, service: string) =>
    url
      .replace(':service_name', service)
      .replace(':alert_id', 'alert-matrix-0')
      .replace(':trace_id', '5b8efff798038103d269b633813fc60c')
      .replace(':name', 'matrix-rule')
      .replace(':id', 'matrix-silence')
      .replace('/docs/static/*', '/docs/static/index.html');

  it('answers each role as its class says, and never with a 5xx other than a missing dependency', async () => {
    const rows: string[] = [];
    for (const [route, access] of Object.entries(EXPECTED)) {
      const [method, path] = route.split(' ') as [string, string];
      for (const service of path.includes(':service_name') ? [IN_SCOPE, OUT_OF_SCOPE] : [IN_SCOPE]) {
        const url = concrete(path, service);
        const anonymous = await call(method, url, {});
        for (const role of ['none', 'service', 'viewer', 'admin'] as const) {
          const response = role === 'none' ? anonymous : await call(method, url, bearer(role));
          const status = response.statusCode;
          rows.push(`${role.padEnd(7)} ${method} ${url} → ${status}`);
          expect(status === 500 ? `${route} as ${role}: 500 ${response.body}` : '').toBe('');
          if (access === 'open') {
            expect([route, role, status < 400 || status === 404]).toEqual([route, role, true]);
          } else if (access === 'signed') {
            // A bearer token neither replaces nor disturbs the signature check: the same refusal for everyone.
            expect([route, role, status]).toEqual([route, role, anonymous.statusCode]);
            expect([route, status >= 400 && status < 500]).toEqual([route, true]);
          } else if (role === 'none') {
            expect([route, role, status, response.json().error]).toEqual([route, role, 401, 'unauthorized']);
          } else if (!ALLOWED[access].includes(role)) {
            expect([route, role, status, response.json().error]).toEqual([route, role, 403, 'forbidden']);
          } else {
            expect([route, role, status === 401 || status === 403]).toEqual([route, role, false]);
          }
        }
      }
    }
    expect(rows.length).toBeGreaterThan(Object.keys(EXPECTED).length * 4);
  });

  it('keeps a viewer inside its services on every data route, leaking nothing of the others', async () => {
    // Data of a service outside the viewer's scope, in the cache and the store.
    const stamp = new Date().toISOString();
    const ingest = await call('POST', '/api/v1/internal/monitoring/metrics', bearer('service'));
    expect(ingest.statusCode).toBe(400);
    const stored = await api.app.inject({
      method: 'POST',
      url: '/api/v1/internal/monitoring/metrics',
      headers: bearer('service'),
      payload: [OUT_OF_SCOPE, IN_SCOPE].map((service) => ({ system_metrics: { timestamp: stamp, service_name: service, instance_id: `${service}-1`, metrics: { cpu_usage_percent: 55 } } })),
    });
    expect(stored.statusCode).toBe(202);
    for (const url of [
      '/api/v1/public/monitoring/dashboard',
      '/api/v1/public/monitoring/performance?from=now-5m',
      `/api/v1/public/monitoring/performance?service=${IN_SCOPE}`,
      '/api/v1/query?query=cpu_usage_percent',
      '/api/v1/series?match[]=cpu_usage_percent',
      '/api/v1/label/service/values',
    ]) {
      const response = await call('GET', url, bearer('viewer'));
      expect([url, response.statusCode]).toEqual([url, 200]);
      expect([url, response.body.includes(OUT_OF_SCOPE)]).toEqual([url, false]);
      expect([url, response.body.includes(IN_SCOPE)]).toEqual([url, true]);
    }
    for (const url of [`/api/v1/public/monitoring/performance?service=${OUT_OF_SCOPE}`, `/api/v1/public/monitoring/performance?service=${IN_SCOPE},${OUT_OF_SCOPE}`]) {
      const response = await call('GET', url, bearer('viewer'));
      expect([url, response.statusCode, response.json().field]).toEqual([url, 403, 'service_name']);
    }
    // The admin sees both.
    const all = await call('GET', '/api/v1/public/monitoring/dashboard', bearer('admin'));
    expect(all.body).toContain(OUT_OF_SCOPE);
  });
});
