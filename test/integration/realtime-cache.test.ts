import type Redis from 'ioredis';
import { latestValues } from '../../core/realtime';
import { connectRedis } from '../../store/clients';
import { createRedisStore, redisKeys } from '../../store/redis';
import { testConfig, uniqueName } from '../helpers/stack';

/**
 * The realtime cache's writes under load, on the real Redis: concurrent writes are merged into the next pipeline
 * (the latest reading per series wins), and each resolves only once its values are in Redis.
 */
describe('realtime cache writes', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = await connectRedis(testConfig());
  });
  afterAll(() => redis?.quit());

  const hsetCalls = async () => Number(/cmdstat_hset:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);

  it('merges concurrent writes into few pipelines, the latest reading winning, and resolves each once stored', async () => {
    const store = createRedisStore({ redis, realtimeTtlSeconds: 60 });
    const service = uniqueName('rt');
    const before = await hsetCalls();
    // 40 requests at once, each the same series of one instance at a later time; the first goes at once, the rest
    // wait for it and go together.
    const writes = Array.from({ length: 40 }, (_, k) =>
      store
        .writeLatest(latestValues([{ service, instance: `${service}-0`, name: 'cpu_usage_percent', labels: {}, value: k, timestampMs: 1_000 + k }]), Date.now())
        .then(async () => Number(await redis.hget(redisKeys.realtimeInstance(service, `${service}-0`), 'cpu_usage_percent'))),
    );
    const seen = await Promise.all(writes);
    // Each write, once resolved, finds its own reading or a later one in Redis.
    seen.forEach((value, k) => expect(value).toBeGreaterThanOrEqual(k));
    expect(Number(await redis.hget(redisKeys.realtimeInstance(service, `${service}-0`), 'cpu_usage_percent'))).toBe(39);
    expect(await redis.hget(redisKeys.instances(service), `${service}-0`)).toBe('1039');
    // Two hashes per pipeline (the instance's and the instances seen): 40 writes one by one would be 80 HSETs.
    const calls = (await hsetCalls()) - before;
    process.stderr.write(`[realtime-cache] 40 concurrent writes: ${calls} HSET calls\n`);
    expect(calls).toBeLessThanOrEqual(8);
  });

  it('rejects every write of a pipeline that failed, and writes again once Redis answers', async () => {
    const store = createRedisStore({ redis, realtimeTtlSeconds: 60 });
    const service = uniqueName('rt-fail');
    const write = (value: number) => store.writeLatest(latestValues([{ service, instance: 'i', name: 'm', labels: {}, value, timestampMs: value }]), Date.now());
    // A key of another type makes Redis refuse the pipeline's HSET (WRONGTYPE), as a failing Redis would.
    await redis.set(redisKeys.realtime(service), 'not a hash');
    await redis.set(redisKeys.realtimeInstance(service, 'i'), 'not a hash');
    const results = await Promise.allSettled([write(1), write(2), write(3)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    await redis.del(redisKeys.realtime(service), redisKeys.realtimeInstance(service, 'i'));
    await write(4);
    expect(await redis.hget(redisKeys.realtimeInstance(service, 'i'), 'm')).toBe('4');
  });
});
