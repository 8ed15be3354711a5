import { sql } from '../../core/escape';
import { bearer, startTestApi, type TestApi } from '../helpers/api';
import { uniqueName } from '../helpers/stack';

const EVENTS = '/api/v1/internal/monitoring/events';

describe('POST /api/v1/internal/monitoring/events', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  const eventsOf = async (service: string) =>
    (
      await api.clickhouse.query({
        ...sql`SELECT event_id, event_type, user_id, correlation_id, CAST(mapKeys(attributes), 'Array(String)') AS k, mapValues(attributes) AS v, value, toUnixTimestamp(timestamp) AS s, toUInt16(toUnixTimestamp64Milli(timestamp) % 1000) AS ms
                FROM business_events WHERE service_name = ${service} ORDER BY event_type`,
        format: 'JSONEachRow',
      })
    ).json<Record<string, unknown>>();

  it('stores business events with correlation id, user id and attributes, and names each invalid one', async () => {
    const service = uniqueName('trading');
    const response = await api.app.inject({
      method: 'POST',
      url: EVENTS,
      headers: bearer('service'),
      payload: {
        events: [
          {
            event_type: 'trade_executed',
            timestamp: '2025-07-26T10:30:00.250Z',
            service_name: service,
            user_id: 'u-42',
            correlation_id: 'incident_20250726_001',
            attributes: { symbol: 'AAPL', amount: 1250.5, side: 'buy', filled: true },
          },
          { event_type: 'prediction_made', timestamp: 1753525800000, service_name: service, attributes: { model: "momentum'; DROP TABLE x; --" } },
          { event_type: 'bad type!', timestamp: '2025-07-26T10:30:00Z', service_name: service },
          { event_type: 'ok', service_name: service },
        ],
      },
    });
    expect(response.statusCode).toBe(202);
    const body = response.json();
    expect(body).toMatchObject({
      accepted: 2,
      rejected: [
        { index: 2, field: 'body.events[2].event_type', error: expect.stringContaining('must match') },
        { index: 3, field: 'body.events[3].timestamp', error: 'required' },
      ],
    });
    expect(body.event_ids).toHaveLength(2);
    expect(await eventsOf(service)).toEqual([
      { event_id: body.event_ids[1], event_type: 'prediction_made', user_id: '', correlation_id: '', k: ['model'], v: ["momentum'; DROP TABLE x; --"], value: 0, s: 1753525800, ms: 0 },
      {
        event_id: body.event_ids[0],
        event_type: 'trade_executed',
        user_id: 'u-42',
        correlation_id: 'incident_20250726_001',
        k: ['amount', 'filled', 'side', 'symbol'],
        v: ['1250.5', 'true', 'buy', 'AAPL'],
        value: 1250.5,
        s: 1753525800,
        ms: 250,
      },
    ]);
  });

  it('stores a retried batch once under one Idempotency-Key, and answers 400 for an all-invalid body', async () => {
    const service = uniqueName('idem-events');
    const payload = [{ event_type: 'signup', timestamp: '2025-07-26T10:30:00Z', service_name: service, user_id: 'u1' }];
    const headers = { ...bearer('service'), 'idempotency-key': uniqueName('k') };
    const first = await api.app.inject({ method: 'POST', url: EVENTS, headers, payload });
    const second = await api.app.inject({ method: 'POST', url: EVENTS, headers, payload });
    expect(second.json()).toEqual(first.json());
    expect(await eventsOf(service)).toHaveLength(1);
    const invalid = await api.app.inject({ method: 'POST', url: EVENTS, headers: bearer('service'), payload: { event_type: 'x' } });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toMatchObject({ error: 'validation_failed', field: 'body.timestamp' });
    const viewer = await api.app.inject({ method: 'POST', url: EVENTS, headers: bearer('viewer'), payload });
    expect(viewer.statusCode).toBe(403);
  });

  it('stores events once when the process that inserted them died before recording its answer', async () => {
    const service = uniqueName('idem-dead');
    const payload = [
      { event_type: 'signup', timestamp: '2025-07-26T10:30:00Z', service_name: service, user_id: 'u1' },
      { event_type: 'trade', timestamp: '2025-07-26T10:31:00Z', service_name: service, user_id: 'u2' },
    ];
    const key = uniqueName('k');
    const headers = { ...bearer('service'), 'idempotency-key': key };
    const first = await api.app.inject({ method: 'POST', url: EVENTS, headers, payload });
    expect(first.statusCode).toBe(202);
    // What a process killed between the insert and the record of its answer leaves: the key in progress, no lease.
    await api.redis.set(`idem:svc:${EVENTS}:${key}`, '"__in_progress__"', 'EX', 600);
    const retry = await api.app.inject({ method: 'POST', url: EVENTS, headers, payload });
    expect(retry.statusCode).toBe(202);
    expect(retry.headers['idempotent-recovered']).toBe('true');
    // Events without their own id got ids derived from the key: the same ones again, stored once.
    expect(retry.json().event_ids).toEqual(first.json().event_ids);
    expect((await eventsOf(service)).map((e) => e.event_id).sort()).toEqual([...first.json().event_ids].sort());
  });
});
