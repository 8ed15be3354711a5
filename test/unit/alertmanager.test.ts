import { AlertmanagerError, externalAlert, parsePostableAlerts, RESOLVE_TIMEOUT_MS } from '../../core/alertmanager';
import { alertLabels } from '../../core/alert';
import { fingerprint } from '../../core/fingerprint';

/** Prometheus' alerts (Alertmanager API v2's postable alerts) read into our alert workflows' input. */
describe('alerts posted as to an Alertmanager', () => {
  const now = Date.parse('2026-12-07T10:00:00Z');
  const posted = (over: object = {}) => ({
    labels: { alertname: 'HighErrorRate', job: 'orders', instance: 'orders-1:8080', severity: 'page', team: 'payments' },
    annotations: { summary: 'orders errors at 7 %', value: '0.07' },
    startsAt: '2026-12-07T09:58:00Z',
    endsAt: '2026-12-07T10:04:00Z',
    generatorURL: 'http://prometheus:9090/graph?g0.expr=x',
    ...over,
  });

  it('makes the alert a rule of its own: named by alertname, severity routed by level and kept as written, firing until endsAt', () => {
    const [alert] = parsePostableAlerts([posted()]);
    const { input, observation } = externalAlert(alert!, now);
    expect(observation).toEqual({ breaching: true, value: 0.07, atMs: now });
    expect(input.rule).toMatchObject({ name: 'HighErrorRate', severity: 'critical', labels: { severity: 'page' }, durationMs: 0, expression: 'http://prometheus:9090/graph?g0.expr=x' });
    expect(input).toMatchObject({ service: 'orders', instance: 'orders-1:8080', staleAfterMs: 4 * 60_000, firstBreach: { atMs: Date.parse('2026-12-07T09:58:00Z') } });
    expect(alertLabels(input)).toEqual({ alertname: 'HighErrorRate', severity: 'page', job: 'orders', instance: 'orders-1:8080', service: 'orders', team: 'payments' });
    // The same label set is the same alert, whatever its annotations or times (Alertmanager's identity).
    const again = externalAlert(parsePostableAlerts([posted({ annotations: {}, startsAt: undefined })])[0]!, now + 60_000);
    expect(again.input.fingerprint).toBe(input.fingerprint);
    expect(input.fingerprint).toBe(fingerprint('HighErrorRate', input.labels));
  });

  it('resolves an alert whose endsAt has passed; without endsAt it lasts the resolve timeout', () => {
    expect(externalAlert(parsePostableAlerts([posted({ endsAt: '2026-12-07T09:59:59Z' })])[0]!, now).observation.breaching).toBe(false);
    const open = externalAlert(parsePostableAlerts([posted({ endsAt: '0001-01-01T00:00:00Z' })])[0]!, now);
    expect([open.observation.breaching, open.input.staleAfterMs]).toEqual([true, RESOLVE_TIMEOUT_MS]);
  });

  it('refuses what is not an alert, naming the field', () => {
    const field = (body: unknown) => {
      try {
        parsePostableAlerts(body);
        return 'accepted';
      } catch (err) {
        return (err as AlertmanagerError).field;
      }
    };
    expect(field({})).toBe('body');
    expect(field([{ labels: {} }])).toBe('body[0].labels');
    expect(field([{ labels: { job: 'x' } }])).toBe('body[0].labels.alertname');
    expect(field([posted({ labels: { alertname: 'A', n: 1 } })])).toBe('body[0].labels.n');
    expect(field([posted({ startsAt: 'yesterday' })])).toBe('body[0].startsAt');
    expect(field([posted({ endsAt: '2026-12-07T09:00:00Z' })])).toBe('body[0].endsAt');
  });
});
