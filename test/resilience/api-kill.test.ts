import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouse } from '../../store/clients';
import { sql } from '../../core/escape';
import { TEST_KEYS } from '../helpers/api';
import { startApiProcess, type Proc } from '../helpers/processes';
import { pausableProxy, type PausableProxy } from '../helpers/proxy';
import { freePort } from '../helpers/servers';
import { eventually, testConfig, uniqueName } from '../helpers/stack';

const METRICS = '/api/v1/internal/monitoring/metrics';
const auth = { authorization: `Bearer ${TEST_KEYS.service.token}`, 'content-type': 'application/json' };

/**
 * API killed mid-ingest (issue 7, scenario 2): `node dist/api/server.js` is killed with SIGKILL while clients push
 * keyed batches and retry each with the same Idempotency-Key until it is accepted; every sample must be stored
 * exactly once. The first case forces the one dangerous moment — rows in ClickHouse, answer not yet recorded — by
 * holding the API's Redis traffic (a network partition through a proxy) when the rows have landed.
 */
describe('API killed mid-ingest, clients retrying with the same Idempotency-Key', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-api-kill-'));
  let clickhouse: ClickHouseClient;
  let proxy: PausableProxy;
  let port: number;
  let api: Proc | undefined;
  const base = () => `http://127.0.0.1:${port}`;

  const startApi = async (env: Record<string, string> = {}) => {
    api = await startApiProcess({ API_PORT: String(port), MONITORING_API_KEYS_FILE: path.join(dir, 'keys.json'), REDIS_URL: proxy.url, ...env });
  };
  const killApi = () => api!.kill();

  const stored = async (service: string) => {
    const result = await clickhouse.query({
      ...sql`SELECT count() AS n, uniqExact(metric_value) AS distinct_values FROM performance_events WHERE service_name = ${service}`,
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: string; distinct_values: string }>();
    return { n: Number(row!.n), distinct: Number(row!.distinct_values) };
  };

  /** send posts one batch until it is accepted, retrying with the same key; says how it ended. */
  const send = async (service: string, key: string, values: number[], timestamp: number) => {
    const body = JSON.stringify({ samples: values.map((value) => ({ name: 'kill_metric', value, labels: { service, instance: `${service}-1` }, timestamp })) });
    let attempts = 0;
    for (;;) {
      attempts++;
      const response = await fetch(`${base()}${METRICS}`, { method: 'POST', body, headers: { ...auth, 'idempotency-key': key } }).catch(() => undefined);
      if (response?.status === 202) {
        return { attempts, recovered: response.headers.get('idempotent-recovered') === 'true', replayed: response.headers.get('idempotent-replayed') === 'true' };
      }
      // No answer (the process died), 409 (its lease not lapsed yet) or 503: wait and retry the same body and key.
      if (response && ![409, 503].includes(response.status)) throw new Error(`unexpected ${response.status}: ${await response.text()}`);
      await response?.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 300));
    }
  };

  beforeAll(async () => {
    writeFileSync(path.join(dir, 'keys.json'), JSON.stringify({ keys: Object.values(TEST_KEYS) }));
    const redisUrl = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
    proxy = await pausableProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) }, 'redis');
    clickhouse = createClickHouse(testConfig());
    port = await freePort();
  }, 60_000);
  afterAll(async () => {
    await api?.kill();
    await proxy?.close();
    await clickhouse?.close();
  });

  it('stores a batch once when the API dies after the insert and before recording the answer', async () => {
    // Batches wait 2 s for their insert, time to cut the API off Redis before it records the answer.
    await startApi({ MONITORING_BATCH_FLUSH_INTERVAL: '2s' });
    const service = uniqueName('api-kill-window');
    const values = Array.from({ length: 50 }, (_, i) => i);
    const body = JSON.stringify({ samples: values.map((value) => ({ name: 'kill_metric', value, labels: { service }, timestamp: Date.now() })) });
    const first = fetch(`${base()}${METRICS}`, { method: 'POST', body, headers: { ...auth, 'idempotency-key': 'window-1' } }).catch(() => 'no answer');
    await new Promise((resolve) => setTimeout(resolve, 500));
    proxy.pause();
    // The rows land; the answer cannot be recorded (Redis unreachable); then the process is killed.
    await eventually(async () => expect((await stored(service)).n).toBe(50), 10_000, 100);
    await killApi();
    expect(await first).toBe('no answer');
    proxy.resume();

    await startApi();
    let attempts = 0;
    let response: Response;
    for (;;) {
      attempts++;
      response = await fetch(`${base()}${METRICS}`, { method: 'POST', body, headers: { ...auth, 'idempotency-key': 'window-1' } });
      if (response.status !== 409) break;
      await response.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(response.status).toBe(202);
    expect(response.headers.get('idempotent-recovered')).toBe('true');
    expect(await response.json()).toMatchObject({ accepted: 50 });
    expect(await stored(service)).toEqual({ n: 50, distinct: 50 });
    // And the recorded answer is replayed from now on.
    const again = await fetch(`${base()}${METRICS}`, { method: 'POST', body, headers: { ...auth, 'idempotency-key': 'window-1' } });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await stored(service)).toEqual({ n: 50, distinct: 50 });
    process.stderr.write(`[api-kill] killed after the insert, before the answer was recorded: retry answered 202 recovered after ${attempts} attempt(s) (409 while the dead process's lease ran), 50 sent, 50 stored\n`);
    await killApi();
  }, 120_000);

  it('stores every sample exactly once while the API is killed at random moments', async () => {
    await startApi();
    const service = uniqueName('api-kill-random');
    const clients = 4;
    const perBatch = 20;
    const runMs = Number(process.env.API_KILL_RUN_MS ?? 30_000);
    const started = Date.now();
    let stop = false;
    let kills = 0;
    const killer = (async () => {
      while (!stop) {
        await new Promise((resolve) => setTimeout(resolve, 1_500 + Math.random() * 2_500));
        if (stop) break;
        await killApi();
        kills++;
        await startApi();
      }
    })();
    let batches = 0;
    let attempts = 0;
    let recovered = 0;
    let replayed = 0;
    await Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        for (let batch = 0; Date.now() - started < runMs; batch++) {
          const first = (client * 1_000_000 + batch) * perBatch;
          const outcome = await send(service, `c${client}-b${batch}`, Array.from({ length: perBatch }, (_, i) => first + i), Date.now());
          batches++;
          attempts += outcome.attempts;
          if (outcome.recovered) recovered++;
          if (outcome.replayed) replayed++;
        }
      }),
    );
    stop = true;
    await killer;
    const sent = batches * perBatch;
    const { n, distinct } = await stored(service);
    process.stderr.write(
      `[api-kill] ${runMs / 1000} s, ${clients} clients, ${kills} SIGKILLs: ${batches} batches (${attempts} attempts, ${recovered} recovered, ${replayed} replayed), ${sent} samples sent, ${n} stored, ${distinct} distinct — lost ${sent - distinct}, duplicated ${n - distinct}\n`,
    );
    expect(kills).toBeGreaterThanOrEqual(3);
    expect(distinct).toBe(sent);
    expect(n).toBe(sent);
  }, 180_000);
});
