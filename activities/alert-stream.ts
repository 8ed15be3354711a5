/**
 * The alert event stream: every alert transition recorded in alert_history is also published to NATS JetStream
 * (core/alert-event.ts), on `<subject>.<service>.<severity>` of one stream, when ALERT_STREAM_NATS_URL is set.
 * Exactly once per transition: the row is written, then the message is published with the transition's id as its
 * JetStream message id (`Nats-Msg-Id`); a retried activity — the worker died, NATS was away — writes the same row
 * (collapsed by the table) and publishes the same id, which the stream drops as a duplicate within its window (an
 * hour). A publish that fails fails the activity, which Temporal retries: a transition is never skipped.
 * Escalations (a policy's later steps) are published by the notification that delivers the step (activities/notify.ts).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { connect, JSONCodec, nanos, type JetStreamClient, type NatsConnection } from 'nats';
import type { HistoryRow } from '../core/alert';
import { alertEvent, alertSubject, type AlertEvent } from '../core/alert-event';
import type { Config } from '../core/config';
import { createClickHouseStore } from '../store/clickhouse';

/** DUPLICATE_WINDOW_MS is how long the stream remembers message ids: longer than any retry of a transition. */
export const DUPLICATE_WINDOW_MS = 3_600_000;

/** AlertStream publishes transitions; `close` ends its connection. */
export interface AlertStream {
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

/** createNatsAlertStream connects on first use (and again after the connection closed). */
export function createNatsAlertStream(config: Config): AlertStream {
  const settings = config.alertStream;
  const codec = JSONCodec();
  let client: Promise<{ nc: NatsConnection; js: JetStreamClient }> | undefined;
  const workflowUrl = (workflowId: string) => `${config.temporal.uiBaseUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
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
    links: (workflowId, service) => ({ workflow: workflowUrl(workflowId), alert: `${config.publicBaseUrl}/api/v1/internal/monitoring/alerts/${encodeURIComponent(service)}` }),
    async close() {
      const c = await client?.catch(() => undefined);
      await c?.nc.drain();
    },
  };
}

/** createAlertStreamActivities gives the workflow's recordAlertTransition: the history row, then the stream. */
export function createAlertStreamActivities({ config, clickhouse, stream }: { config: Config; clickhouse: ClickHouseClient; stream?: AlertStream }) {
  const history = createClickHouseStore({ clickhouse, database: config.clickhouse.database });
  return {
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
