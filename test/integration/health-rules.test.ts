import { bearer, startTestApi, type TestApi } from '../helpers/api';
import { uniqueName } from '../helpers/stack';

/**
 * Health judges by the rules made through the admin API too (issue 21), as the evaluation does: the API reads the
 * rule files and the API's rules (store/rule-source.ts), refreshed after each rule edit and every 30 s.
 */
describe('health counts rules created through the admin API', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({}, undefined, undefined, undefined, true);
  });
  afterAll(() => api.close());

  it('turns a service critical once an API rule its values breach exists, and healthy again when it is deleted', async () => {
    const service = uniqueName('apirule');
    const rule = uniqueName('queue_deep').replaceAll('-', '_');
    const health = async () => (await api.app.inject({ url: `/api/v1/internal/monitoring/health/${service}`, headers: bearer('service') })).json();
    const sample = { samples: [{ name: 'queue_depth', value: 500, labels: { service }, timestamp: new Date().toISOString() }] };
    expect((await api.app.inject({ method: 'POST', url: '/api/v1/internal/monitoring/metrics', headers: bearer('service'), payload: sample })).statusCode).toBe(202);
    // No file rule watches queue_depth: healthy.
    expect(await health()).toMatchObject({ status: 'healthy' });

    const put = await api.app.inject({
      method: 'PUT',
      url: `/api/v1/admin/monitoring/alerts/rules/${rule}`,
      headers: bearer('admin'),
      payload: { expression: `queue_depth{service="${service}"} > 100`, severity: 'critical', duration: '1m' },
    });
    expect(put.statusCode).toBe(200);
    const critical = await health();
    expect(critical.status).toBe('critical');
    expect(JSON.stringify(critical)).toContain(rule);

    expect((await api.app.inject({ method: 'DELETE', url: `/api/v1/admin/monitoring/alerts/rules/${rule}`, headers: bearer('admin') })).statusCode).toBe(204);
    expect(await health()).toMatchObject({ status: 'healthy' });
  });
});
