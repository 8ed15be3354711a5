import Redis from 'ioredis';
import { startAlertingStack, type AlertingStack } from '../helpers/alerting';
import { bearer } from '../helpers/api';
import { privateRedis, type PrivateRedis } from '../helpers/servers';
import { quietTemporalLogs, uniqueName } from '../helpers/stack';

quietTemporalLogs();

const ADMIN = '/api/v1/admin/monitoring';

/**
 * Configuration that survives (issue 16): rules, escalation policies and silences made through the API are kept in
 * ClickHouse with Redis as their cache, so a Redis FLUSHALL — or a new, empty Redis — loses none of them. The stack
 * runs on a Redis of its own: flushing the run's shared Redis would pull the floor from under other suites.
 */
describe('API-made configuration survives a Redis flush', () => {
  const service = uniqueName('durable');
  let redisServer: PrivateRedis;
  let redis: Redis;
  let stack: AlertingStack;

  beforeAll(async () => {
    redisServer = await privateRedis();
    redis = new Redis(redisServer.url);
    stack = await startAlertingStack({
      name: 'durable',
      service,
      metric: 'cpu_usage_percent',
      rulesYaml: `test_rules:\n  cpu:\n    - name: file_rule\n      expression: 'cpu_usage_percent{service="${service}"} > 90'\n      severity: warning\n`,
      escalationYaml: 'default_policy: p\npolicies:\n  - name: p\n    steps:\n      - wait: 1h\n        targets: [{slack: "#ml-alerts"}]\n',
      env: { REDIS_URL: redisServer.url },
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
    redis?.disconnect();
    redisServer?.dispose();
  });

  const call = (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: object) => stack.api.app.inject({ method, url: `${ADMIN}${url}`, headers: bearer('admin'), ...(payload ? { payload } : {}) });

  it('keeps every rule, policy and silence, with its version, across FLUSHALL; a removal stays removed', async () => {
    const rule = uniqueName('kept_rule').replaceAll('-', '_');
    const gone = uniqueName('gone_rule').replaceAll('-', '_');
    const policy = uniqueName('kept-policy');
    const ruleBody = { group: 'api', expression: `cpu_usage_percent{service="${service}"} > 80`, duration: '1m', severity: 'critical' };
    expect((await call('PUT', `/alerts/rules/${rule}`, ruleBody)).statusCode).toBe(200);
    expect((await call('PUT', `/alerts/rules/${rule}`, { ...ruleBody, severity: 'warning' })).statusCode).toBe(200);
    expect((await call('PUT', `/alerts/rules/${gone}`, ruleBody)).statusCode).toBe(200);
    expect((await call('DELETE', `/alerts/rules/${gone}`)).statusCode).toBe(204);
    expect((await call('PUT', `/escalation-policies/${policy}`, { description: 'kept', repeat: 1, steps: [{ wait: '5m', targets: [{ slack: '#kept' }] }] })).statusCode).toBe(200);
    const created = await call('POST', '/silences', { matchers: [{ name: 'service', value: service }], duration: '2h', comment: 'maintenance' });
    expect(created.statusCode).toBe(201);
    const silenceId = created.json().id as string;

    const snapshot = async () => {
      const rules = (await call('GET', '/alerts/rules')).json();
      const policies = (await call('GET', '/escalation-policies')).json();
      const silences = (await call('GET', '/silences')).json();
      return {
        rule: JSON.stringify(rules).includes(rule),
        gone: JSON.stringify(rules).includes(gone),
        policy: (policies.policies as Array<{ name: string; source: string; version: number }>).find((p) => p.name === policy),
        silence: (silences.silences as Array<{ id: string; comment: string }>).find((s) => s.id === silenceId),
      };
    };
    const before = await snapshot();
    expect(before).toMatchObject({ rule: true, gone: false, policy: { source: 'api', version: 1 }, silence: { comment: 'maintenance' } });

    expect(await redis.flushall()).toBe('OK');
    expect(await redis.dbsize()).toBe(0);
    expect(await snapshot()).toEqual(before);
    // The rule's version survives too: an edit expecting version 2 is accepted, one expecting 1 is a conflict.
    expect((await stack.api.app.inject({ method: 'PUT', url: `${ADMIN}/alerts/rules/${rule}`, headers: { ...bearer('admin'), 'if-match': '1' }, payload: ruleBody })).statusCode).toBe(409);
    expect((await stack.api.app.inject({ method: 'PUT', url: `${ADMIN}/alerts/rules/${rule}`, headers: { ...bearer('admin'), 'if-match': '2' }, payload: ruleBody })).statusCode).toBe(200);
  });

  it('makes durable what a Redis held before the store kept it in ClickHouse', async () => {
    const legacy = uniqueName('legacy-policy');
    // A policy edit as an older version kept it: in the Redis hash only.
    const key = `escalation:policies:${stack.taskQueue}`;
    await redis.del(`${key}:loaded`);
    await redis.hset(key, legacy, JSON.stringify({ policy: { name: legacy, description: 'kept in Redis only', repeat: 1, steps: [{ waitMs: 300_000, targets: [{ channel: 'slack', to: '#legacy' }] }] }, version: 3, updatedBy: 'admin', updatedAt: new Date().toISOString() }));
    const listed = async () => ((await call('GET', '/escalation-policies')).json().policies as Array<{ name: string; version: number }>).find((p) => p.name === legacy);
    expect(await listed()).toMatchObject({ version: 3 });
    await redis.flushall();
    expect(await listed()).toMatchObject({ version: 3 });
  });
});
