import type { ClickHouseClient } from '@clickhouse/client';
import fc from 'fast-check';
import { createClickHouse } from '../../activities/clients';
import { sqlIdentifier, sqlString, sqlStringArray } from '../../core/escape';
import { testConfig } from '../helpers/stack';

describe('SQL escaping against the real ClickHouse', () => {
  let clickhouse: ClickHouseClient;
  beforeAll(() => {
    clickhouse = createClickHouse(testConfig());
  });
  afterAll(() => clickhouse.close());

  const select = async (sql: string) => (await (await clickhouse.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, unknown>>())[0];

  it('round-trips arbitrary strings as literals', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 64 }), async (value) => {
        expect((await select(`SELECT ${sqlString(value)} AS v`))?.v).toBe(value);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips SQL-injection attempts and quoting edge cases verbatim', async () => {
    for (const value of ["'; DROP TABLE performance_events; --", "\\'", '\\', "''", '`', '\u0000', 'a\r\nb\tc', "' OR 1=1 --"]) {
      expect((await select(`SELECT ${sqlString(value)} AS v`))?.v).toBe(value);
    }
  });

  it('round-trips arbitrary strings as identifiers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', minLength: 1, maxLength: 32 }).filter((s) => !s.includes('\u0000')), async (name) => {
        const row = await select(`SELECT 1 AS ${sqlIdentifier(name)}`);
        expect(Object.keys(row ?? {})).toEqual([name]);
      }),
      { numRuns: 200 },
    );
  });

  it('round-trips string arrays', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'binary', maxLength: 16 }), { maxLength: 8 }), async (values) => {
        expect((await select(`SELECT ${sqlStringArray(values)} AS v`))?.v).toEqual(values);
      }),
      { numRuns: 100 },
    );
  });
});
