import { QueryGate, SharedResult } from '../../api/query-gate';
import {
  activeStrategies,
  overallHealth,
  parseRange,
  pickResolution,
  serviceHealthRow,
  systemOverview,
  TimeRangeError,
  type ServiceState,
  type WindowStat,
  serviceAvailability,
  availabilityBasisText,
  type AvailabilityMinute,
} from '../../core/dashboard';
import { ApiError } from '../../core/errors';
import type { RealtimeSnapshot } from '../../core/types';

const NOW = Date.parse('2026-11-28T12:00:00Z');

describe('dashboard assembly (core/dashboard.ts)', () => {
  it('derives the overall health from the services: the worst wins, a silent service warns, none is unknown', () => {
    expect(overallHealth([])).toBe('unknown');
    expect(overallHealth(['healthy', 'healthy'])).toBe('healthy');
    expect(overallHealth(['healthy', 'unknown'])).toBe('warning');
    expect(overallHealth(['warning', 'critical', 'unknown'])).toBe('critical');
  });

  it('counts instances, marks the ones alerted or silent unhealthy, and raises the status to the firing alerts', () => {
    const snapshot: RealtimeSnapshot = { cpu_usage: 50, memory_usage: 60, response_time_p95: 40, error_rate: 0.1, last_updated: '', ttl: 50, metrics: {}, instances: [] };
    const state: ServiceState = {
      service: 'svc',
      snapshot,
      verdict: { status: 'healthy', reasons: [] },
      instances: [
        { instance: 'i-1', lastSeenMs: NOW - 5_000 },
        { instance: 'i-2', lastSeenMs: NOW - 5_000 },
        { instance: 'i-3', lastSeenMs: NOW - 600_000 },
      ],
      alerts: [
        { severity: 'warning', status: 'firing', instance: 'i-2', rule: 'high_cpu' },
        { severity: 'critical', status: 'pending', instance: 'i-1', rule: 'cpu_critical' },
      ] as unknown as ServiceState['alerts'],
    };
    const row = serviceHealthRow(state, NOW, 60_000);
    expect(row).toMatchObject({ status: 'warning', instances: 3, healthy_instances: 1, cpu_usage: 50 });
    expect(row.reasons).toEqual(['warning alert high_cpu firing on i-2']);
    expect(serviceHealthRow({ ...state, snapshot: null, alerts: [] }, NOW, 60_000).reasons).toEqual(['no data in the realtime cache (the service stopped reporting)']);
    // An instance breaching a health threshold itself is not healthy either, and the reason names it.
    const breaching = { ...state, alerts: [], verdict: { status: 'critical' as const, reasons: [{ rule: 'cpu_critical', severity: 'critical' as const, metric: 'cpu_usage_percent', value: 97, threshold: 95, instance: 'i-1' }] } };
    expect(serviceHealthRow(breaching, NOW, 60_000)).toMatchObject({ status: 'critical', healthy_instances: 1, reasons: ['cpu_usage_percent 97 on i-1 breaches cpu_critical (95)'] });
  });

  it('sums request rates over instances and weights latency and errors by requests', () => {
    const stat = (service: string, metric: string, instance: string, avg: number, last = avg): WindowStat => ({ service, metric, instance, avg, last });
    const overview = systemOverview(
      [
        stat('busy', 'requests_per_second', 'b-1', 90),
        stat('busy', 'requests_per_second', 'b-2', 90),
        stat('busy', 'response_time_p50_ms', 'b-1', 10),
        stat('busy', 'response_time_p50_ms', 'b-2', 10),
        stat('busy', 'error_rate_percent', 'b-1', 1),
        stat('idle', 'requests_per_second', 'i-1', 20),
        stat('idle', 'response_time_p50_ms', 'i-1', 100),
        stat('idle', 'error_rate_percent', 'i-1', 11),
        stat('idle', 'active_users', '', 0, 40),
      ],
      [
        { service: 'busy', good: 99, total: 100, basis: 'requests', observedMinutes: 1440 },
        { service: 'idle', good: 100, total: 100, basis: 'up', observedMinutes: 1440 },
      ],
    );
    expect(overview).toEqual({
      total_requests_per_minute: 200 * 60,
      average_response_time_ms: 19,
      error_rate_percent: 2,
      active_users: 40,
      system_uptime_percent: 99.5,
      availability_basis: 'mean over services of requests without error (1 service), successful scrapes (1 service), since each first reported in the last 24 h',
    });
    expect(systemOverview([], [])).toEqual({
      total_requests_per_minute: null,
      average_response_time_ms: null,
      error_rate_percent: null,
      active_users: null,
      system_uptime_percent: null,
      availability_basis: 'no service reported in the last 24 h',
    });
  });

  describe('availability counts good events over the time a service was expected (issue 21)', () => {
    const start = Math.floor(NOW / 60_000) * 60 - 60 * 60; // an hour before NOW's minute, in epoch seconds
    const minutes = (n: number, row: (i: number) => Partial<AvailabilityMinute>) =>
      Array.from({ length: n }, (_, i) => ({ minute: start + i * 60, rps: null, errorRate: null, up: null, ...row(i) }));
    const percent = (a: ReturnType<typeof serviceAvailability>) => (a ? Math.round((10_000 * a.good) / a.total) / 100 : null);

    it('a service answering only errors is not available, however regularly it reports', () => {
      const a = serviceAvailability('broken', minutes(61, () => ({ rps: 50, errorRate: 100 })), NOW);
      expect(a).toMatchObject({ basis: 'requests', observedMinutes: 61 });
      expect(percent(a)).toBe(0);
    });

    it('weighs requests: 1 % errors half the hour is 99.5 %', () => {
      expect(percent(serviceAvailability('svc', minutes(61, (i) => ({ rps: 10, errorRate: i % 2 ? 1 : 0 })), NOW))).toBeCloseTo(99.51, 1);
    });

    it('a silent stretch after the first report counts as down at the usual request rate', () => {
      // Reports 31 minutes, then nothing for the 29 finished minutes since: 31 of 60 minutes' requests served.
      const a = serviceAvailability('gone', minutes(31, () => ({ rps: 20, errorRate: 0 })), NOW);
      expect(percent(a)).toBe(51.67);
    });

    it('a minute in which no service reported is the monitoring\'s outage, not the service\'s', () => {
      // Reports 31 minutes and then nothing — but neither did any other service (monitoring down): nothing counts.
      const reported = minutes(31, () => ({ rps: 20, errorRate: 0 }));
      const platform = new Set(reported.map((m) => m.minute));
      expect(percent(serviceAvailability('quiet', reported, NOW, platform))).toBe(100);
      // Another service kept reporting meanwhile: this one's silence counts against it.
      const others = new Set(minutes(61, () => ({})).map((m) => m.minute));
      expect(percent(serviceAvailability('quiet', reported, NOW, others))).toBe(51.67);
    });

    it('a scraped target counts its up scrapes; one reporting nothing else counts minutes with data', () => {
      expect(percent(serviceAvailability('exporter', minutes(61, (i) => ({ up: i < 15 ? 0 : 1 })), NOW))).toBeCloseTo(75.41, 1);
      // Every fourth minute missing: from its first report (minute 1) to the last finished minute (59), 45 of 59.
      const heartbeat = serviceAvailability('db', minutes(61, () => ({})).filter((_, i) => i % 4 !== 0), NOW);
      expect(heartbeat?.basis).toBe('reporting');
      expect(percent(heartbeat)).toBe(76.27);
    });

    it('a service first seen minutes ago says so, and its unfinished minute does not count against it', () => {
      const fresh = serviceAvailability('new', [{ minute: Math.floor(NOW / 60_000) * 60 - 120, rps: 5, errorRate: 0, up: null }], NOW);
      expect(fresh).toMatchObject({ observedMinutes: 3, basis: 'requests' });
      // Minute −2 reported, −1 silent (down), the current one not over yet.
      expect(percent(fresh)).toBe(50);
      expect(availabilityBasisText([fresh!])).toContain('the newest seen for 3 min');
    });
  });

  it('counts strategies from the live series labels', () => {
    const metrics = { 'strategy_predictions{service="a",strategy="momentum"}': 1, 'strategy_predictions{strategy="mean \\"rev\\""}': 2, cpu_usage_percent: 3 };
    expect(activeStrategies([{ metrics } as unknown as RealtimeSnapshot, null])).toBe(2);
    expect(activeStrategies([null])).toBeNull();
  });

  it('reads raw samples up to 2 h, the minute rollup up to 7 days, the hour rollup beyond, never more than 720 points', () => {
    expect(pickResolution(NOW - 3_600_000, NOW)).toEqual({ source: 'raw', stepSeconds: 15 });
    expect(pickResolution(NOW - 86_400_000, NOW)).toEqual({ source: '1m', stepSeconds: 120 });
    expect(pickResolution(NOW - 30 * 86_400_000, NOW)).toEqual({ source: '1h', stepSeconds: 3600 });
    expect(pickResolution(NOW - 3_600_000, NOW, 50)).toEqual({ source: 'raw', stepSeconds: 60 });
    for (const days of [0.01, 0.5, 3, 7, 40, 365, 1000]) {
      const { stepSeconds } = pickResolution(NOW - days * 86_400_000, NOW);
      expect((days * 86_400) / stepSeconds).toBeLessThanOrEqual(720);
    }
  });

  it('reads ranges as ISO times, epoch milliseconds or now-relative, refusing bad ones by field', () => {
    expect(parseRange(undefined, undefined, NOW, 300_000)).toEqual({ fromMs: NOW - 300_000, toMs: NOW });
    expect(parseRange('now-1h', 'now', NOW, 0)).toEqual({ fromMs: NOW - 3_600_000, toMs: NOW });
    expect(parseRange('2026-11-28T11:00:00Z', String(NOW), NOW, 0)).toEqual({ fromMs: NOW - 3_600_000, toMs: NOW });
    const fieldOf = (from?: string, to?: string) => {
      try {
        parseRange(from, to, NOW, 1000);
        return 'accepted';
      } catch (err) {
        return (err as TimeRangeError).field;
      }
    };
    expect(fieldOf('yesterday')).toBe('from');
    expect(fieldOf(undefined, '12:00')).toBe('to');
    expect(fieldOf('now', 'now-1m')).toBe('from');
    expect(fieldOf('now-2000d')).toBe('from');
  });
});

describe('QueryGate and SharedResult (api/query-gate.ts)', () => {
  const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

  it('runs at most N queries at once, queues N more, and refuses beyond that with 503 too_many_queries', async () => {
    const gate = new QueryGate(2, 5_000);
    let running = 0;
    let peak = 0;
    const query = async () => {
      peak = Math.max(peak, ++running);
      await later(50, null);
      running--;
      return 'ok';
    };
    const accepted = Array.from({ length: 4 }, () => gate.run(query));
    await expect(gate.run(query)).rejects.toMatchObject({ statusCode: 503, code: 'too_many_queries', retryAfterSeconds: 1 });
    expect(await Promise.all(accepted)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(peak).toBe(2);
    expect(gate.stats.refused).toBe(1);
    expect(gate.inFlight).toBe(0);
  });

  it('aborts a query past the time limit with 503 query_timeout, and times out a query still waiting for a slot', async () => {
    const gate = new QueryGate(1, 100);
    let aborted = false;
    const honoursAbort = (signal: AbortSignal) =>
      new Promise<string>((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          aborted = true;
          reject(new Error('aborted'));
        });
      });
    await expect(gate.run(honoursAbort)).rejects.toMatchObject({ statusCode: 503, code: 'query_timeout', retryAfterSeconds: 5 });
    expect(aborted).toBe(true);
    // One query holds the only slot past the limit; the one queued behind it gives up at its own limit.
    const holding = gate.run(() => later(300, 'late'));
    const waiting = gate.run(async () => 'never ran');
    await expect(waiting).rejects.toBeInstanceOf(ApiError);
    await expect(waiting).rejects.toMatchObject({ code: 'query_timeout' });
    expect(gate.queued).toBe(0);
    expect(await holding).toBe('late');
    expect(gate.stats.timedOut).toBe(2);
    expect([gate.inFlight, gate.queued]).toEqual([0, 0]);
    // A failure that is not a timeout passes through unchanged.
    await expect(gate.run(async () => Promise.reject(new Error('broken')))).rejects.toThrow('broken');
  });

  it('shares one computation between concurrent callers for the TTL, and does not keep a failure', async () => {
    const shared = new SharedResult<number>(1_000);
    let computed = 0;
    const compute = async () => ++computed;
    expect(await Promise.all([shared.get('k', compute, 0), shared.get('k', compute, 10)])).toEqual([1, 1]);
    expect(await shared.get('k', compute, 999)).toBe(1);
    expect(await shared.get('k', compute, 1_000)).toBe(2);
    await expect(shared.get('bad', () => Promise.reject(new Error('down')), 0)).rejects.toThrow('down');
    expect(await shared.get('bad', compute, 1)).toBe(3);
  });
});
