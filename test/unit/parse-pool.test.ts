import { BodyParseError, parseBody, type ParseJob } from '../../api/ingest-parse';
import { ParsePool } from '../../api/parse-pool';
import { jsonBody, promBody, scrapeSamples } from '../../bench/data';
import { flattenIngestBody } from '../../core/samples';
import { seedSystemMetrics } from '../fixtures/seed';

const encode = (text: string) => new TextEncoder().encode(text);
// The receiving clock: the samples' timestamps must lie before it (at most a day ahead).
const NOW = Date.UTC(2026, 10, 29);

describe('ParsePool (compiled parse thread)', () => {
  const pool = new ParsePool({ threads: 2, workerFile: process.env.TEST_PARSE_WORKER!, inlineBelowBytes: 0 });
  afterAll(() => pool.close());

  const samples = scrapeSamples(3, Date.UTC(2026, 10, 28)).slice(0, 3000);
  const jobs: Array<[string, ParseJob]> = [
    ['JSON samples', { body: encode(jsonBody(samples)), format: 'json', now: NOW }],
    ['Prometheus text', { body: encode(promBody(samples)), format: 'prometheus', now: NOW }],
    [
      'a seed envelope with one bad item',
      {
        body: encode(JSON.stringify([seedSystemMetrics, { system_metrics: { timestamp: '2026-11-28T10:00:00Z', service_name: 'ml-inference', metrics: { cpu_usage_percent: 'high' } } }])),
        format: 'json',
        now: NOW
      },
    ],
  ];

  it.each(jobs)('parses %s on a thread exactly as inline', async (_name, job) => {
    const threaded = await pool.parse(job);
    const inline = parseBody(job);
    expect(Buffer.from(threaded.rows).toString()).toBe(Buffer.from(inline.rows).toString());
    expect(threaded.count).toBe(inline.count);
    expect(threaded.rejected).toEqual(inline.rejected);
    expect(threaded.latest).toEqual(inline.latest);
    expect(threaded.count).toBeGreaterThan(0);
  });

  it('keeps the good envelope and names the bad one from a thread', async () => {
    const result = await pool.parse(jobs[2]![1]);
    expect(result.count).toBe(flattenIngestBody(seedSystemMetrics, NOW).samples.length);
    expect(result.rejected).toEqual([expect.objectContaining({ index: 1, field: 'body[1].system_metrics.metrics.cpu_usage_percent' })]);
  });

  it('reports malformed JSON from a thread as a body error', async () => {
    await expect(pool.parse({ body: encode('{"samples": ['), format: 'json', now: NOW })).rejects.toBeInstanceOf(BodyParseError);
  });

  it('spreads concurrent bodies over its threads and answers each', async () => {
    const bodies = Array.from({ length: 20 }, (_, k) => scrapeSamples(k, NOW - 86_400_000).slice(0, 500));
    const results = await Promise.all(bodies.map((b) => pool.parse({ body: encode(jsonBody(b)), format: 'json', now: NOW })));
    expect(results.map((r) => r.count)).toEqual(bodies.map((b) => b.length));
    expect(pool.size).toBe(2);
  });
});
