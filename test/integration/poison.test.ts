import fc from 'fast-check';
import { createClickHouse } from '../../store/clients';
import { RowsRefusedError, SampleWriter, StorageError } from '../../store/sample-writer';
import { sql } from '../../core/escape';
import { sampleTsv } from '../../core/sample-row';
import { bearer, startTestApi, type TestApi } from '../helpers/api';
import { freePort } from '../helpers/servers';
import { testConfig, uniqueName } from '../helpers/stack';

/**
 * One bad write never fails another (issue 21): the writer batches many requests into one insert, so a batch
 * ClickHouse refuses for its data is split until only the offending request fails (4xx), and a 503 means storage
 * really is down.
 */

const METRICS = '/api/v1/internal/monitoring/metrics';
const WRITER = { batchSize: 100_000, flushIntervalMs: 100, maxQueuedRows: 1_000_000, maxConcurrentInserts: 2 };

describe('SampleWriter: a batch refused for its data is split, only the bad write fails', () => {
  const config = testConfig();
  const clickhouse = createClickHouse(config);
  afterAll(() => clickhouse.close());

  const countOf = async (service: string) =>
    Number((await (await clickhouse.query({ ...sql`SELECT count() AS n FROM performance_events WHERE service_name = ${service}`, format: 'JSONEachRow' })).json<{ n: number }>())[0]!.n);

  it('stores every valid write of a shared batch and refuses the poisoned one naming its row and metric', async () => {
    const writer = new SampleWriter(clickhouse, config.clickhouse.database, WRITER);
    const service = uniqueName('poison');
    const now = Date.now();
    const valid = Array.from({ length: 7 }, (_, i) => writer.write([{ service, instance: `i${i}`, name: 'ok_metric', value: i, labels: {}, timestampMs: now }]));
    // A row no validation would let through, written as the rows a parse thread hands over: its timestamp is text.
    const good = sampleTsv({ service, instance: 'x', name: 'first_ok', value: 1, labels: {}, timestampMs: now });
    const bad = sampleTsv({ service, instance: 'x', name: 'broken_metric', value: 1, labels: {}, timestampMs: now }).replace(/^[^\t]+/, 'not-a-time');
    const poisoned = writer.writeRows(Buffer.from(good + bad), 2);
    const outcomes = await Promise.allSettled([...valid, poisoned]);

    expect(outcomes.slice(0, 7).map((o) => o.status)).toEqual(Array(7).fill('fulfilled'));
    const refusal = (outcomes[7] as PromiseRejectedResult).reason;
    expect(refusal).toBeInstanceOf(RowsRefusedError);
    expect(refusal).toMatchObject({ row: 1, metric: 'broken_metric' });
    // The seven valid writes are stored; nothing of the refused write is (its good first row included).
    expect(await countOf(service)).toBe(7);
    expect(writer.stats.rows).toBe(7);
  });

  it('fails every write with StorageError, without splitting, when ClickHouse cannot be reached', async () => {
    const dead = createClickHouse(testConfig({ CLICKHOUSE_URL: `http://127.0.0.1:${await freePort()}` }));
    try {
      const writer = new SampleWriter(dead, config.clickhouse.database, WRITER);
      const writes = Array.from({ length: 4 }, (_, i) => writer.write([{ service: 'down', instance: `i${i}`, name: 'm', value: i, labels: {}, timestampMs: Date.now() }]));
      const outcomes = await Promise.allSettled(writes);
      for (const o of outcomes) expect((o as PromiseRejectedResult).reason).toBeInstanceOf(StorageError);
      // One batch, one attempt: a storage that is down is not hammered by halves.
      expect(writer.stats.failedBatches).toBe(1);
    } finally {
      await dead.close();
    }
  });
});

describe('POST metrics: random bodies of every format never fail concurrent valid traffic', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ MONITORING_BATCH_FLUSH_INTERVAL: '50ms' });
  });
  afterAll(() => api.close());

  const post = (payload: string, contentType: string) => api.app.inject({ method: 'POST', url: `${METRICS}?service=fuzz`, headers: { ...bearer('service'), 'content-type': contentType }, payload });

  // Values and timestamps at and past every edge a text parser or ClickHouse column has.
  const edgeNumber = fc.constantFrom('-1', '0', '0.0', '1e308', '-1e308', '12345678901234567890.1', '9223372036854775807', 'NaN', '+Inf', '-Inf', '1.5e-320', '0x1F', '1_000', '', '١٢', '1e3000');
  const name = fc.oneof(fc.constantFrom('a', 'a_total', 'up', 'x:y', '_', '9bad', 'a-b', 'é', 'service', 'instance', 'le', '__name__'), fc.string({ maxLength: 20 }));
  const labelValue = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('\\n', '\\"', '\\\\', '\t', '\u0000', 'x'.repeat(5000)));
  const textLine = fc.tuple(name, fc.array(fc.tuple(name, labelValue), { maxLength: 3 }), edgeNumber, fc.option(edgeNumber)).map(([n, labels, value, ts]) => {
    const l = labels.length ? `{${labels.map(([k, v]) => `${k}="${v}"`).join(',')}}` : '';
    return `${n}${l} ${value}${ts === null ? '' : ` ${ts}`}`;
  });
  const textBody = fc.tuple(fc.array(fc.oneof(textLine, fc.constantFrom('# TYPE a counter', '# HELP a x', '# EOF', '# TYPE a_total counter', 'a_bucket{le="+Inf"} 1')), { minLength: 1, maxLength: 8 }), fc.boolean()).map(([lines, eof]) => `${lines.join('\n')}\n${eof ? '# EOF\n' : ''}`);
  const jsonValue = fc.oneof(fc.double(), fc.integer(), fc.constantFrom('1', null, true, 1e308, -0, 2 ** 63), fc.string({ maxLength: 5 }));
  const jsonTimestamp = fc.oneof(fc.integer({ min: -(2 ** 53), max: 2 ** 53 }), fc.double(), fc.constantFrom('2025-07-26T10:30:00Z', '1969-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', '2300-01-01T00:00:00Z', 'now', ''), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()));
  const jsonBody = fc.oneof(
    fc.array(fc.record({ name, value: jsonValue, timestamp: jsonTimestamp, labels: fc.dictionary(name, labelValue, { maxKeys: 3 }) }, { requiredKeys: [] }), { maxLength: 5 }).map((samples) => JSON.stringify({ samples })),
    fc.record({ application_metrics: fc.record({ timestamp: jsonTimestamp, service_name: name, metrics: fc.dictionary(name, jsonValue, { maxKeys: 4 }) }, { requiredKeys: [] }) }).map((b) => JSON.stringify(b)),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 40 }),
  );
  const body = fc.oneof(
    jsonBody.map((payload) => ({ payload, contentType: 'application/json' })),
    textBody.map((payload) => ({ payload, contentType: 'text/plain; version=0.0.4' })),
    textBody.map((payload) => ({ payload, contentType: 'application/openmetrics-text; version=1.0.0' })),
  );

  it('answers every random body 202 or 4xx, and every concurrent valid request 202, all stored', async () => {
    const service = uniqueName('bystander');
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(body, { minLength: 3, maxLength: 6 }), async (bodies) => {
        const seq = sent++;
        const valid = JSON.stringify({ samples: [{ name: 'bystander', value: seq, labels: { service }, timestamp: new Date().toISOString() }] });
        const answers = await Promise.all([post(valid, 'application/json'), ...bodies.map((b) => post(b.payload, b.contentType))]);
        expect(answers[0]!.statusCode).toBe(202);
        for (const a of answers.slice(1)) {
          // A random body may be valid (202) or not (4xx naming why); it is never storage's fault (5xx).
          expect(a.statusCode === 202 || (a.statusCode >= 400 && a.statusCode < 500)).toBe(true);
          if (a.statusCode >= 400) expect(a.json().message).toEqual(expect.any(String));
        }
      }),
      { numRuns: 60 },
    );
    const stored = await api.clickhouse.query({ ...sql`SELECT count() AS n FROM performance_events WHERE service_name = ${service}`, format: 'JSONEachRow' });
    expect(Number((await stored.json<{ n: number }>())[0]!.n)).toBe(sent);
  }, 120_000);
});
