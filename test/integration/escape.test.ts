import type { ClickHouseClient } from '@clickhouse/client';
import fc from 'fast-check';
import { createClickHouse } from '../../store/clients';
import { QueryParams, sql, sqlIdentifier, type BoundQuery } from '../../core/escape';
import { testConfig } from '../helpers/stack';

describe('values as query parameters, names as checked identifiers, against the real ClickHouse', () => {
  let clickhouse: ClickHouseClient;
  beforeAll(() => {
    clickhouse = createClickHouse(testConfig());
  });
  afterAll(() => clickhouse.close());

  const select = async (bound: BoundQuery) => (await (await clickhouse.query({ ...bound, format: 'JSONEachRow' })).json<Record<string, unknown>>())[0];

  it('round-trips arbitrary strings as parameters', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 64 }), async (value) => {
        expect((await select(sql`SELECT ${value} AS v`))?.v).toBe(value);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips SQL-injection attempts and quoting edge cases verbatim', async () => {
    for (const value of ["'; DROP TABLE performance_events; --", "\\'", '\\', "''", '`', '\u0000', 'a\r\nb\tc', "' OR 1=1 --", '{p0:String}', '}']) {
      expect((await select(sql`SELECT ${value} AS v, ${'second'} AS w`))).toEqual({ v: value, w: 'second' });
    }
  });

  it('round-trips string arrays and numbers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'binary', maxLength: 16 }), { maxLength: 8 }), fc.double({ noNaN: true, noDefaultInfinity: true }), async (values, x) => {
        const row = await select(sql`SELECT ${values} AS v, ${x} AS x`);
        expect(row?.v).toEqual(values);
        expect(Number(row?.x)).toBe(x === 0 ? 0 : x);
      }),
      { numRuns: 100 },
    );
  });

  it('binds an instant to the millisecond', async () => {
    const params = new QueryParams();
    const ms = Date.parse('2026-03-02T10:00:00.123Z');
    expect(await select({ query: `SELECT toUnixTimestamp64Milli(${params.timeMs(ms)}) AS t`, query_params: params.values })).toEqual({ t: ms });
  });

  it('admits only plain names as identifiers, and they select as themselves', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,30}$/), async (name) => {
        const row = await select({ query: `SELECT 1 AS ${sqlIdentifier(name)}`, query_params: {} });
        expect(Object.keys(row ?? {})).toEqual([name]);
      }),
      { numRuns: 100 },
    );
    for (const bad of ['', 'a`b', 'a b', '1a', 'x;DROP', 'é']) expect(() => sqlIdentifier(bad)).toThrow('not a valid SQL identifier');
  });
});
