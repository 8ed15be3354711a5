/**
 * Demo load: pushes the seed's example services to the running API every few seconds with realistic variation
 * (daily-ish waves, noise, per-instance offsets) and an occasional incident — one service's CPU pinned near 97 %
 * for a few minutes — so a newcomer sees live data and the seed's critical_cpu_usage alert fire within minutes.
 * Started by `npm start` unless DEMO=0; stops on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { parseKeysFile } from '../core/auth';
import { loadConfig } from '../core/config';
import { fromRoot } from '../store/paths';

interface DemoService {
  name: string;
  instances: number;
  cpu: number;
  memory: number;
  p95: number;
  rps: number;
}

const SERVICES: DemoService[] = [
  { name: 'ml-inference', instances: 3, cpu: 62, memory: 70, p95: 45, rps: 23 },
  { name: 'feature-engineering', instances: 2, cpu: 55, memory: 64, p95: 120, rps: 12 },
  { name: 'api-gateway', instances: 2, cpu: 35, memory: 48, p95: 30, rps: 180 },
  { name: 'strategy-engine', instances: 1, cpu: 44, memory: 58, p95: 60, rps: 8 },
  { name: 'market-data', instances: 2, cpu: 50, memory: 52, p95: 12, rps: 400 },
];

const PUSH_EVERY_MS = Number(process.env.DEMO_INTERVAL_MS ?? 5000);
const FIRST_INCIDENT_MS = Number(process.env.DEMO_FIRST_INCIDENT_MS ?? 45_000);
const INCIDENT_LENGTH_MS = 180_000;
const INCIDENT_GAP_MS = 420_000;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const noise = (scale: number) => (Math.random() - 0.5) * 2 * scale;
const round = (v: number, digits = 1) => Number(v.toFixed(digits));

/** incidentAt says which service (if any) is in an incident at elapsed time t: the first after FIRST_INCIDENT_MS, then one every INCIDENT_GAP_MS. */
function incidentAt(elapsedMs: number): string | undefined {
  if (elapsedMs < FIRST_INCIDENT_MS) return undefined;
  const sinceFirst = elapsedMs - FIRST_INCIDENT_MS;
  const index = Math.floor(sinceFirst / INCIDENT_GAP_MS);
  if (sinceFirst - index * INCIDENT_GAP_MS > INCIDENT_LENGTH_MS) return undefined;
  return SERVICES[(index * 2) % SERVICES.length]!.name;
}

function envelopes(now: Date, elapsedMs: number, counters: Map<string, number>): unknown[] {
  const wave = Math.sin((now.getTime() / 600_000) * Math.PI); // a 20-minute cycle stands in for the trading day
  const incident = incidentAt(elapsedMs);
  const timestamp = now.toISOString();
  const out: unknown[] = [];
  for (const svc of SERVICES) {
    const burning = incident === svc.name;
    for (let i = 1; i <= svc.instances; i++) {
      const instance = `${svc.name}-${String(i).padStart(3, '0')}`;
      const cpu = burning ? 96.5 + Math.random() * 2.5 : clamp(svc.cpu + wave * 10 + noise(4) + i, 1, 92);
      out.push({
        system_metrics: {
          timestamp,
          service_name: svc.name,
          instance_id: instance,
          metrics: {
            cpu_usage_percent: round(cpu),
            memory_usage_percent: round(clamp(svc.memory + wave * 5 + noise(2), 1, 99)),
            memory_usage_bytes: Math.round(2 ** 31 * (svc.memory / 100) * (1 + noise(0.05))),
            disk_usage_percent: round(45 + noise(0.5)),
            network_in_bytes_per_sec: Math.round(1_048_576 * (1 + wave * 0.3 + noise(0.1))),
            network_out_bytes_per_sec: Math.round(2_097_152 * (1 + wave * 0.3 + noise(0.1))),
            open_file_descriptors: Math.round(230 + noise(10)),
            thread_count: 16,
            garbage_collection_time_ms: Math.round(20 + noise(5)),
          },
        },
      });
    }
    const key = `${svc.name}:requests`;
    const rps = Math.max(0.1, svc.rps * (1 + wave * 0.4 + noise(0.1)));
    counters.set(key, (counters.get(key) ?? 0) + rps * (PUSH_EVERY_MS / 1000));
    out.push({
      application_metrics: {
        timestamp,
        service_name: svc.name,
        metrics: {
          requests_total: Math.round(counters.get(key)!),
          requests_per_second: round(rps),
          response_time_p50_ms: round(svc.p95 * 0.4 * (burning ? 3 : 1) * (1 + noise(0.1))),
          response_time_p95_ms: round(svc.p95 * (burning ? 4 : 1) * (1 + wave * 0.2 + noise(0.1))),
          response_time_p99_ms: round(svc.p95 * 2.8 * (burning ? 4 : 1) * (1 + noise(0.15))),
          error_rate_percent: round(burning ? 0.8 + Math.random() * 0.4 : clamp(0.1 + noise(0.08), 0, 5), 2),
          active_connections: Math.round(45 + noise(10)),
          queue_depth: Math.round(burning ? 80 + noise(20) : 12 + noise(5)),
          cache_hit_rate_percent: round(89 + noise(2)),
        },
      },
    });
  }
  out.push({
    business_metrics: {
      timestamp,
      metrics: {
        active_users: Math.round(234 + wave * 60 + noise(10)),
        predictions_generated: Math.round(1247 + noise(100)),
        prediction_accuracy: round(0.74 + noise(0.02), 3),
        average_confidence_score: round(0.68 + noise(0.02), 3),
        successful_trades: Math.round(89 + noise(10)),
        profitable_trades_percent: round(67 + noise(3)),
        average_profit_per_trade: round(127 + noise(15), 2),
        total_trading_volume: round(2_847_293 * (1 + wave * 0.2 + noise(0.05)), 2),
        unique_symbols_traded: Math.round(127 + noise(5)),
        api_usage_by_tier: { free: Math.round(234 + noise(20)), basic: Math.round(567 + noise(30)), premium: Math.round(890 + noise(40)), enterprise: 123 },
      },
    },
  });
  out.push({
    database_metrics: {
      timestamp,
      database_type: 'clickhouse',
      instance: 'clickhouse-main',
      metrics: {
        queries_per_second: round(45 + wave * 10 + noise(3)),
        avg_query_duration_ms: round(23 + noise(4)),
        slow_queries_count: Math.round(Math.max(0, 3 + noise(2))),
        connection_pool_usage: Math.round(67 + noise(5)),
        cache_hit_ratio: round(0.91 + noise(0.02), 3),
        active_connections: Math.round(23 + noise(3)),
        waiting_connections: Math.round(Math.max(0, 2 + noise(2))),
        table_sizes: { market_data: 12_847_293_847 + Math.round(elapsedMs * 10), predictions: 2_847_293_847, features: 5_847_293_847 },
      },
    },
  });
  return out;
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const keys = parseKeysFile(readFileSync(fromRoot(config.apiKeysFile), 'utf8'));
  const key = keys.find((k) => k.role === 'service') ?? keys.find((k) => k.role === 'admin');
  if (!key) throw new Error(`no service or admin key in ${config.apiKeysFile}`);
  const url = `http://${config.apiHost}:${config.apiPort}/api/v1/internal/monitoring/metrics`;
  const started = Date.now();
  const counters = new Map<string, number>();
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (stopping = true));
  console.log(`[demo] pushing ${SERVICES.length} services to ${url} every ${PUSH_EVERY_MS / 1000} s; first incident after ${FIRST_INCIDENT_MS / 1000} s`);
  let lastIncident: string | undefined;
  while (!stopping) {
    const tick = Date.now();
    const incident = incidentAt(tick - started);
    if (incident !== lastIncident) {
      console.log(incident ? `[demo] incident: ${incident} CPU pinned near 97 % for ${INCIDENT_LENGTH_MS / 60_000} min` : `[demo] incident over`);
      lastIncident = incident;
    }
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(envelopes(new Date(tick), tick - started, counters)),
      });
      if (response.status !== 202) console.warn(`[demo] API answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
    } catch (err) {
      console.warn(`[demo] push failed: ${(err as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, PUSH_EVERY_MS - (Date.now() - tick))));
  }
}

main().catch((err) => {
  console.error('[demo] fatal:', err);
  process.exit(1);
});
