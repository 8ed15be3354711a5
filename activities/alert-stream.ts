/**
 * The alert event stream: every alert transition recorded in alert_history is also published to NATS JetStream
 * (core/alert-event.ts), on `<subject>.<service>.<severity>` of one stream, when ALERT_STREAM_NATS_URL is set, and
 * to Kafka (activities/alert-stream-kafka.ts: at least once, see there) when ALERT_STREAM_KAFKA_BROKERS is.
 * Exactly once per transition: the row is written, then the message is published with the transition's id as its
 * JetStream message id (`Nats-Msg-Id`); a retried activity — the worker died, NATS was away — writes the same row
 * (collapsed by the table) and publishes the same id, which the stream drops as a duplicate within its window (an
 * hour). A publish that fails fails the activity, which Temporal retries: a transition is never skipped.
 * Escalations (a policy's later steps) are published by the notification that delivers the step (activities/notify.ts).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Client } from '@temporalio/client';
import type Redis from 'ioredis';
import { connect, JSONCodec, nanos, type JetStreamClient, type NatsConnection } from 'nats';
import type { HistoryRow, MuteNotice, MuteTransition } from '../core/alert';
import { alertEvent, alertLinks, alertSubject, escalationEvent, muteEvent, type AlertEvent, type WorkflowTransition } from '../core/alert-event';
import type { Config } from '../core/config';
import { silenceReason, type Silence } from '../core/silences';
import { muteSignal } from '../workflows/messages';
import { createClickHouseStore } from '../store/clickhouse';
import { firingAlertsMatching, redisKeys } from '../store/redis';
import { createKafkaAlertStream } from './alert-stream-kafka';

/** DUPLICATE_WINDOW_MS is how long the stream remembers message ids: longer than any retry of a transition. */
export const DUPLICATE_WINDOW_MS = 3_600_000;

/** AlertStream publishes transitions; `close` ends its connection. */
export interface AlertStream {
  /** publish sends one event; `duplicate` when the broker recognised it as one already taken (JetStream does, Kafka cannot). */
  publish(event: AlertEvent): Promise<{ duplicate: boolean }>;
  /** links are an alert's links in its events (its workflow in the Temporal UI, its service's active alerts). */
  links(workflowId: string, service: string): AlertEvent['links'];
  close(): Promise<void>;
}

/** ensureAlertStream creates the stream (or widens its subjects and duplicate window) and returns a JetStream client. */
export async function ensureAlertStream(nc: NatsConnection, config: Config['alertStream']): Promise<JetStreamClient> {
  const jsm = await nc.jetstreamManager();
  const wanted = { name: config.streamName, subjects: [`${config.subject}.>`], duplicate_window: nanos(DUPLICATE_WINDOW_MS) };
  try {
    const info = await jsm.streams.info(config.streamName);
    if (!info.config.subjects?.includes(wanted.subjects[0]!) || info.config.duplicate_window !== wanted.duplicate_window) {
      await jsm.streams.update(config.streamName, { ...info.config, subjects: [...new Set([...(info.config.subjects ?? []), ...wanted.subjects])], duplicate_window: wanted.duplicate_window });
    }
  } catch (err) {
    if (!/stream not found/i.test(String(err))) throw err;
    await jsm.streams.add(wanted);
  }
  return nc.jetstream();
}

/** PUBLISHED_TTL_SECONDS: how long Redis remembers that an event went out (longer than any retry of it). */
const PUBLISHED_TTL_SECONDS = 7 * 86_400;

/**
 * createAlertStream is every configured broker as one stream (NATS JetStream, Kafka), or undefined if none is: a
 * transition is published to each, and its publish fails (to be retried) unless all took it. With `redis`, an event
 * id that went out is remembered, and publishing it again (a retried activity, another target of the same
 * escalation step) is skipped: Kafka, which cannot drop a repeated id, then repeats one only when a worker dies
 * between the publish and the note.
 */
export function createAlertStream(config: Config, redis?: Redis): AlertStream | undefined {
  const streams = [
    ...(config.alertStream.natsUrl ? [createNatsAlertStream(config)] : []),
    ...(config.alertStream.kafkaBrokers.length ? [createKafkaAlertStream(config)] : []),
  ];
  if (streams.length === 0) return undefined;
  const publishAll = async (event: AlertEvent) => {
    const answers = await Promise.all(streams.map((s) => s.publish(event)));
    return { duplicate: answers.every((a) => a.duplicate) };
  };
  return {
    async publish(event) {
      if (!redis) return publishAll(event);
      const key = redisKeys.publishedEvent(event.event_id);
      if (await redis.exists(key)) return { duplicate: true };
      const answer = await publishAll(event);
      await redis.set(key, '1', 'EX', PUBLISHED_TTL_SECONDS);
      return answer;
    },
    links: alertLinks(config),
    async close() {
      await Promise.all(streams.map((s) => s.close()));
    },
  };
}

/** createNatsAlertStream connects on first use (and again after the connection closed). */
export function createNatsAlertStream(config: Config): AlertStream {
  const settings = config.alertStream;
  const codec = JSONCodec();
  let client: Promise<{ nc: NatsConnection; js: JetStreamClient }> | undefined;
  const connected = () => {
    client ??= (async () => {
      const nc = await connect({ servers: settings.natsUrl!, name: 'performance-monitoring', maxReconnectAttempts: -1 });
      void nc.closed().then(() => {
        client = undefined;
      });
      return { nc, js: await ensureAlertStream(nc, settings) };
    })().catch((err: unknown) => {
      client = undefined;
      throw err;
    });
    return client;
  };
  return {
    async publish(event) {
      const { js } = await connected();
      const ack = await js.publish(alertSubject(settings.subject, event), codec.encode(event), { msgID: event.event_id, timeout: 10_000 });
      return { duplicate: ack.duplicate };
    },
    links: alertLinks(config),
    async close() {
      const c = await client?.catch(() => undefined);
      await c?.nc.drain();
    },
  };
}

/** AlertStreamDeps: the history table, the open alerts and their workflows, and the stream (if configured). */
export interface AlertStreamDeps {
  config: Config;
  clickhouse: ClickHouseClient;
  redis: Redis;
  temporal: Client;
  stream?: AlertStream;
}

/**
 * createAlertStreamActivities gives the workflows' recordAlertTransition (the history row, then the stream), the
 * announcement of silences on the stream, and settleUnfiredAlert.
 */
export function createAlertStreamActivities({ config, clickhouse, redis, temporal, stream }: AlertStreamDeps) {
  const history = createClickHouseStore({ clickhouse, database: config.clickhouse.database });
  return {
    /** publishEscalation announces that the alert reached a later step of its policy (no stream: nothing). */
    async publishEscalation(req: WorkflowTransition & { workflowId: string; level: number; round: number }): Promise<void> {
      if (stream) await stream.publish(escalationEvent(req, stream.links(req.workflowId, req.alert.service)));
    },

    /** publishMuteTransition announces that a silence mutes a firing alert, or no longer does (no stream: nothing). */
    async publishMuteTransition(req: WorkflowTransition & { workflowId: string; silenceId: string; transition: MuteTransition; reason: string }): Promise<void> {
      if (stream) await stream.publish(muteEvent(req, stream.links(req.workflowId, req.alert.service)));
    },

    /**
     * tellSilencedAlerts tells every firing alert the silence matches that it mutes it now (`silenced`, when the
     * silence starts) or no longer does (`unsilenced`, when it ends); each alert's workflow announces it once. Only
     * when a stream is configured (nothing else listens yet). Returns how many alerts were told.
     */
    async tellSilencedAlerts(req: { silence: Silence; transition: MuteTransition }): Promise<number> {
      if (!stream) return 0;
      const matched = await firingAlertsMatching(redis, req.silence.matchers);
      const notice: MuteNotice = { silenceId: req.silence.id, transition: req.transition, reason: silenceReason(req.silence), atMs: Date.now() };
      // An alert that ended meanwhile has nothing to be told.
      await Promise.all(matched.map((a) => temporal.workflow.getHandle(a.workflow_id).signal(muteSignal, notice).catch(() => undefined)));
      return matched.length;
    },

    /**
     * recordAlertTransition writes one alert_history row and publishes the transition on the alert stream (if
     * configured); retried as a whole, each step harmless twice.
     */
    async recordAlertTransition(row: HistoryRow): Promise<void> {
      await history.insertAlertHistory(row);
      if (stream) await stream.publish(alertEvent(row, stream.links(row.workflow_id, row.service_name)));
    },

    /**
     * settleUnfiredAlert closes an occurrence that ended without firing but whose firing a lost workflow task may
     * have recorded (found by the worker-kill test of the stream: the task ran its local activities, died, and its
     * retry saw the breach and its clearing together): if alert_history holds a firing and no resolution of it,
     * `row` (its resolution) is recorded and published like any transition. Otherwise nothing happens.
     */
    async settleUnfiredAlert(row: HistoryRow): Promise<boolean> {
      const recorded = await history.alertStatuses(row.service_name, row.alert_id);
      if (!recorded.has('firing') || recorded.has('resolved')) return false;
      await history.insertAlertHistory(row);
      if (stream) await stream.publish(alertEvent(row, stream.links(row.workflow_id, row.service_name)));
      return true;
    },
  };
}
