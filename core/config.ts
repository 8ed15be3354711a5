import { FieldError } from './errors';
import { parseDuration } from './duration';
import { parseTarget, type EscalationTarget } from './escalation';
import { isTimeZone } from './timezone';

/** Config is the whole typed configuration of the module, read once from the environment. */
export interface Config {
  apiPort: number;
  apiHost: string;
  temporal: { address: string; namespace: string; uiPort: number; uiBaseUrl: string; taskQueue: string };
  /**
   * ClickHouse: the server the module talks to; on a cluster (`cluster`, CLICKHOUSE_CLUSTER) its tables are
   * Distributed over `shardUrls` (every shard, for migrations), inserts wait for the shards (insert_distributed_sync).
   */
  clickhouse: { url: string; database: string; cluster?: string; shardUrls: string[] };
  redisUrl: string;
  smtpUrl: string | undefined;
  /** Sender of alert e-mail. */
  mailFrom: string;
  /** Where the weekly report goes (REPORT_TARGETS `slack:#channel,email:a@b`); empty: the default policy's first step. */
  reportTargets: EscalationTarget[];
  /** IANA time zone of the weekly report's Monday 08:00 (REPORT_TIMEZONE, default UTC). */
  reportTimezone: string;
  /** Secret signing e-mail ack links; when unset, read from (or created in) linkSecretFile. */
  linkSecret: string | undefined;
  linkSecretFile: string;
  /** ALERT_WEBHOOK_SECRET signs the generic webhook's payloads (activities/receivers/webhook.ts). */
  webhookSecret: string | undefined;
  /** How long an e-mail Acknowledge / Resolve link stays valid. */
  linkTtlMs: number;
  escalationPath: string;
  inhibitPath: string;
  /** Service level objectives (MONITORING_SLO_FILE, default config/slo.yaml). */
  sloPath: string;
  /** The CloudWatch collector's namespaces and the Metric Streams endpoint's access key (MONITORING_CLOUDWATCH_FILE, default config/cloudwatch.yaml). */
  cloudwatchPath: string;
  /** CLOUDWATCH_FIREHOSE_ACCESS_KEY: the access key Kinesis Data Firehose sends with Metric Streams deliveries. */
  firehoseAccessKey: string | undefined;
  /** The business tracker's settings: API tier prices (MONITORING_BUSINESS_FILE, default config/business.yaml). */
  businessPath: string;
  slack: { botToken: string | undefined; signingSecret: string | undefined; apiUrl: string | undefined };
  /**
   * The paging services (activities/receivers/): PagerDuty's Events API v2 at PAGERDUTY_EVENTS_URL with the routing
   * keys a target names (PAGERDUTY_ROUTING_KEYS `name=key,…`, secrets), and its V3 webhooks back, verified with
   * PAGERDUTY_WEBHOOK_SECRET; Opsgenie's Alert API at OPSGENIE_API_URL with OPSGENIE_API_KEY; the generic SMS/voice
   * gateway at SMS_WEBHOOK_URL (signed like the webhook, with ALERT_WEBHOOK_SECRET).
   */
  paging: {
    pagerDutyEventsUrl: string;
    pagerDutyRoutingKeys: Record<string, string>;
    pagerDutyWebhookSecret: string | undefined;
    opsgenieApiUrl: string;
    opsgenieApiKey: string | undefined;
    smsWebhookUrl: string | undefined;
  };
  /**
   * The alert event stream (activities/alert-stream.ts): every alert transition published to NATS JetStream at
   * ALERT_STREAM_NATS_URL, on `<subject>.<service>.<severity>` (ALERT_STREAM_SUBJECT, default `alerts`) of the stream
   * ALERT_STREAM_NAME (default `ALERTS`, created when missing); and/or to Kafka at ALERT_STREAM_KAFKA_BROKERS
   * (host:port, comma-separated) on the topic ALERT_STREAM_KAFKA_TOPIC (default `alerts`, created when missing);
   * each off without its address.
   */
  alertStream: { natsUrl: string | undefined; subject: string; streamName: string; kafkaBrokers: string[]; kafkaTopic: string };
  publicBaseUrl: string;
  apiKeysFile: string;
  rulesPath: string;
  monitoring: {
    scrapeIntervalMs: number;
    retentionDays: number;
    aggregateRetentionDays: number;
    batchSize: number;
    batchFlushIntervalMs: number;
    maxQueuedRows: number;
    maxSamplesPerRequest: number;
    idempotencyTtlSeconds: number;
    queryTimeoutMs: number;
    cacheTtlSeconds: number;
    maxConcurrentQueries: number;
    maxBodyBytes: number;
    /** How long one computed dashboard or performance answer serves every caller of the same scope (0: never shared). */
    dashboardShareMs: number;
    /** Requests per minute per API key (ingestion excepted: its queue bounds it). */
    rateLimitPerMinute: number;
    /** Requests per minute per address without a key (signed links, failed authentication). */
    anonymousRateLimitPerMinute: number;
    /** Inserts into performance_events in flight at once (two overlap ClickHouse's per-insert work with the next batch). */
    maxConcurrentInserts: number;
    /** Threads parsing large ingest bodies; undefined: one fewer than the CPUs (at least one); 0: parse inline. */
    parseThreads: number | undefined;
    /** The API logs a request that failed (5xx) or took this long; every request only when `logEveryRequest`. */
    slowRequestMs: number;
    logEveryRequest: boolean;
  };
  alert: {
    evaluationIntervalMs: number;
    /** How far back a rule group's evaluation schedule catches up ticks missed while Temporal or the workers were down. */
    evaluationCatchupMs: number;
    notificationTimeoutMs: number;
    maxRetries: number;
    deduplicationWindowMs: number;
    /** Flap damping: notifying firings per alert per hour beyond the dedup window. */
    maxNotificationsPerHour: number;
  };
}

/** ConfigError names the environment variable that holds a bad value. */
export class ConfigError extends FieldError {
  /** variable is the environment variable at fault (the field). */
  get variable(): string {
    return this.field;
  }
}

type Env = Record<string, string | undefined>;

function intVar(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new ConfigError(name, `expected an integer >= ${min}, got "${raw}"`);
  return value;
}

/** timezoneVar reads an IANA time zone name, refusing one the runtime does not know. */
function timezoneVar(env: Env, name: string, fallback: string): string {
  const zone = env[name]?.trim() || fallback;
  if (!isTimeZone(zone)) throw new ConfigError(name, `unknown time zone ${JSON.stringify(zone)} (an IANA name such as Europe/London)`);
  return zone;
}

/** reportTargetsVar reads REPORT_TARGETS: `slack:#channel` and `email:address` items, comma-separated. */
function reportTargetsVar(env: Env): EscalationTarget[] {
  const raw = env.REPORT_TARGETS?.trim();
  if (!raw) return [];
  return raw.split(',').map((item, i) => {
    const at = item.indexOf(':');
    const channel = item.slice(0, at).trim();
    try {
      return parseTarget({ [channel]: item.slice(at + 1).trim() }, `REPORT_TARGETS[${i}]`);
    } catch (err) {
      throw new ConfigError('REPORT_TARGETS', (err as Error).message);
    }
  });
}

/** kafkaBrokersVar reads ALERT_STREAM_KAFKA_BROKERS: `host:port` items, comma-separated (empty: no Kafka). */
/** routingKeysVar reads PAGERDUTY_ROUTING_KEYS: `name=key` pairs, comma-separated (a target names the key). */
function routingKeysVar(env: Env): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const pair of (env.PAGERDUTY_ROUTING_KEYS ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z0-9][a-z0-9_-]{0,62})=([A-Za-z0-9]{32})$/.exec(pair);
    if (!m) throw new ConfigError('PAGERDUTY_ROUTING_KEYS', `expected name=<32-character integration key>, comma-separated (got an entry starting ${JSON.stringify(pair.slice(0, 12))})`);
    keys[m[1]!] = m[2]!;
  }
  return keys;
}

function kafkaBrokersVar(env: Env): string[] {
  const brokers = (env.ALERT_STREAM_KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  for (const b of brokers) {
    if (!/^[^\s:/]+:\d{1,5}$/.test(b)) throw new ConfigError('ALERT_STREAM_KAFKA_BROKERS', `${JSON.stringify(b)} is not host:port`);
  }
  return brokers;
}

/** requestLogVar reads MONITORING_REQUEST_LOG: `errors` (failed or slow requests, the default) or `all`. */
function requestLogVar(env: Env): boolean {
  const raw = env.MONITORING_REQUEST_LOG?.trim() || 'errors';
  if (raw !== 'errors' && raw !== 'all') throw new ConfigError('MONITORING_REQUEST_LOG', `expected "errors" or "all", got "${raw}"`);
  return raw === 'all';
}

function durationVar(env: Env, name: string, fallback: string): number {
  const raw = env[name] ?? fallback;
  try {
    return parseDuration(raw);
  } catch (err) {
    throw new ConfigError(name, (err as Error).message);
  }
}

function portOf(address: string, name: string): number {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  if (!Number.isInteger(port) || port <= 0) throw new ConfigError(name, `no port in "${address}"`);
  return port;
}

function clusterVars(env: Env, url: string): { cluster?: string; shardUrls: string[] } {
  const cluster = env.CLICKHOUSE_CLUSTER?.trim();
  if (!cluster) return { shardUrls: [url] };
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(cluster)) throw new ConfigError('CLICKHOUSE_CLUSTER', 'letters, digits and _ only');
  const shardUrls = (env.CLICKHOUSE_SHARD_URLS || url).split(',').map((u) => u.trim()).filter(Boolean);
  for (const shard of shardUrls) {
    try {
      new URL(shard);
    } catch {
      throw new ConfigError('CLICKHOUSE_SHARD_URLS', `not a URL: "${shard}"`);
    }
  }
  return { cluster, shardUrls };
}

/** oldestStorableMs is the retention's cut-off at `now`: a sample or event older than it is refused at ingestion. */
export function oldestStorableMs(config: Pick<Config, 'monitoring'>, now: number): number {
  return now - config.monitoring.retentionDays * 86_400_000;
}

/** loadConfig builds the Config from an environment, applying the defaults of DESIGN.md and naming any bad variable. */
export function loadConfig(env: Env): Config {
  const temporalAddress = env.TEMPORAL_ADDRESS || '127.0.0.1:7233';
  portOf(temporalAddress, 'TEMPORAL_ADDRESS');
  const uiPort = intVar(env, 'TEMPORAL_UI_PORT', 8233, 1);
  const apiPort = intVar(env, 'API_PORT', 8080, 0);
  const clickhouseUrl = env.CLICKHOUSE_URL || 'http://127.0.0.1:8123';
  try {
    new URL(clickhouseUrl);
  } catch {
    throw new ConfigError('CLICKHOUSE_URL', `not a URL: "${clickhouseUrl}"`);
  }
  const database = env.CLICKHOUSE_DATABASE || 'monitoring';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) {
    throw new ConfigError('CLICKHOUSE_DATABASE', 'letters, digits and _ only');
  }
  return {
    apiPort,
    apiHost: env.API_HOST || '127.0.0.1',
    temporal: {
      address: temporalAddress,
      namespace: env.TEMPORAL_NAMESPACE || 'default',
      uiPort,
      uiBaseUrl: env.TEMPORAL_UI_URL || `http://127.0.0.1:${uiPort}`,
      taskQueue: env.TEMPORAL_TASK_QUEUE || 'monitoring',
    },
    clickhouse: { url: clickhouseUrl, database, ...clusterVars(env, clickhouseUrl) },
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    smtpUrl: env.SMTP_URL || undefined,
    mailFrom: env.ALERT_MAIL_FROM || 'performance-monitoring <alerts@localhost>',
    reportTargets: reportTargetsVar(env),
    reportTimezone: timezoneVar(env, 'REPORT_TIMEZONE', 'UTC'),
    linkSecret: env.ALERT_LINK_SECRET || undefined,
    linkSecretFile: env.ALERT_LINK_SECRET_FILE || '.local/link-secret',
    webhookSecret: env.ALERT_WEBHOOK_SECRET || undefined,
    alertStream: {
      natsUrl: env.ALERT_STREAM_NATS_URL || undefined,
      subject: env.ALERT_STREAM_SUBJECT || 'alerts',
      streamName: env.ALERT_STREAM_NAME || 'ALERTS',
      kafkaBrokers: kafkaBrokersVar(env),
      kafkaTopic: env.ALERT_STREAM_KAFKA_TOPIC || 'alerts',
    },
    linkTtlMs: durationVar(env, 'ALERT_LINK_TTL', '24h'),
    escalationPath: env.ALERT_ESCALATION_FILE || 'config/escalation.yaml',
    inhibitPath: env.ALERT_INHIBIT_FILE || 'config/inhibit.yaml',
    sloPath: env.MONITORING_SLO_FILE || 'config/slo.yaml',
    cloudwatchPath: env.MONITORING_CLOUDWATCH_FILE || 'config/cloudwatch.yaml',
    firehoseAccessKey: env.CLOUDWATCH_FIREHOSE_ACCESS_KEY || undefined,
    businessPath: env.MONITORING_BUSINESS_FILE || 'config/business.yaml',
    slack: {
      botToken: env.SLACK_BOT_TOKEN || undefined,
      signingSecret: env.SLACK_SIGNING_SECRET || undefined,
      apiUrl: env.SLACK_API_URL || undefined,
    },
    paging: {
      pagerDutyEventsUrl: env.PAGERDUTY_EVENTS_URL || 'https://events.pagerduty.com/v2/enqueue',
      pagerDutyRoutingKeys: routingKeysVar(env),
      pagerDutyWebhookSecret: env.PAGERDUTY_WEBHOOK_SECRET || undefined,
      opsgenieApiUrl: (env.OPSGENIE_API_URL || 'https://api.opsgenie.com').replace(/\/+$/, ''),
      opsgenieApiKey: env.OPSGENIE_API_KEY || undefined,
      smsWebhookUrl: env.SMS_WEBHOOK_URL || undefined,
    },
    publicBaseUrl: env.PUBLIC_BASE_URL || `http://127.0.0.1:${apiPort}`,
    apiKeysFile: env.MONITORING_API_KEYS_FILE || '.local/credentials.json',
    rulesPath: env.MONITORING_RULES_PATH || 'config/rules',
    monitoring: {
      scrapeIntervalMs: durationVar(env, 'MONITORING_SCRAPE_INTERVAL', '15s'),
      retentionDays: intVar(env, 'MONITORING_RETENTION_DAYS', 365, 1),
      aggregateRetentionDays: intVar(env, 'MONITORING_AGGREGATE_RETENTION_DAYS', 3 * 365, 1),
      // The seed suggests 1000; ClickHouse wants large inserts (DESIGN.md: >= 50k rows), and the flush interval
      // keeps small loads prompt, so the default is 200k (bench:ingest: fewer, larger parts cost ClickHouse less).
      batchSize: intVar(env, 'MONITORING_BATCH_SIZE', 200_000, 1),
      batchFlushIntervalMs: durationVar(env, 'MONITORING_BATCH_FLUSH_INTERVAL', '250ms'),
      maxQueuedRows: intVar(env, 'MONITORING_MAX_QUEUED_ROWS', 1_000_000, 1),
      maxSamplesPerRequest: intVar(env, 'MONITORING_MAX_SAMPLES_PER_REQUEST', 200_000, 1),
      idempotencyTtlSeconds: Math.round(durationVar(env, 'MONITORING_IDEMPOTENCY_TTL', '24h') / 1000),
      queryTimeoutMs: durationVar(env, 'MONITORING_QUERY_TIMEOUT', '30s'),
      cacheTtlSeconds: Math.round(durationVar(env, 'MONITORING_CACHE_TTL', '60s') / 1000),
      maxConcurrentQueries: intVar(env, 'MONITORING_MAX_CONCURRENT_QUERIES', 50, 1),
      maxBodyBytes: intVar(env, 'MONITORING_MAX_BODY_BYTES', 10 * 1024 * 1024, 1024),
      dashboardShareMs: durationVar(env, 'MONITORING_DASHBOARD_CACHE', '2s'),
      rateLimitPerMinute: intVar(env, 'MONITORING_RATE_LIMIT_PER_MINUTE', 6000, 1),
      anonymousRateLimitPerMinute: intVar(env, 'MONITORING_ANONYMOUS_RATE_LIMIT_PER_MINUTE', 300, 1),
      maxConcurrentInserts: intVar(env, 'MONITORING_MAX_CONCURRENT_INSERTS', 2, 1),
      parseThreads: env.MONITORING_PARSE_THREADS ? intVar(env, 'MONITORING_PARSE_THREADS', 0, 0) : undefined,
      slowRequestMs: durationVar(env, 'MONITORING_SLOW_REQUEST', '1s'),
      logEveryRequest: requestLogVar(env),
    },
    alert: {
      evaluationIntervalMs: durationVar(env, 'ALERT_EVALUATION_INTERVAL', '30s'),
      evaluationCatchupMs: durationVar(env, 'ALERT_EVALUATION_CATCHUP', '1m'),
      notificationTimeoutMs: durationVar(env, 'ALERT_NOTIFICATION_TIMEOUT', '30s'),
      maxRetries: intVar(env, 'ALERT_MAX_RETRIES', 3, 0),
      deduplicationWindowMs: durationVar(env, 'ALERT_DEDUPLICATION_WINDOW', '300s'),
      maxNotificationsPerHour: intVar(env, 'ALERT_MAX_NOTIFICATIONS_PER_HOUR', 2, 1),
    },
  };
}
