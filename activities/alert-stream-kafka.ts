/**
 * The alert event stream on Kafka: each transition (core/alert-event.ts) is one record of the topic
 * ALERT_STREAM_KAFKA_TOPIC, keyed by the alert's id — every event of an alert lands in one partition, in order — with
 * the event id, transition, service and severity as headers, so consumers can route and deduplicate without parsing.
 *
 * At least once, not exactly once: the producer is idempotent (a retried send within one producer session is
 * written once), but Kafka has no deduplication by message id across sessions, unlike JetStream's `Nats-Msg-Id`. An
 * activity retried after its worker died mid-publish publishes the transition again; consumers drop a repeated
 * `event_id` (core/alert-event.ts foldAlertEvents does).
 */
import { CompressionTypes, Kafka, logLevel, type Producer } from 'kafkajs';
import { alertLinks, type AlertEvent } from '../core/alert-event';
import type { Config } from '../core/config';
import type { AlertStream } from './alert-stream';

/** kafkaHeaders are a record's headers: what a consumer routes and deduplicates by. */
export const kafkaHeaders = (event: AlertEvent) => ({
  event_id: event.event_id,
  transition: event.transition,
  service: event.alert.service,
  severity: event.alert.severity,
  schema: event.schema,
});

/** createKafkaAlertStream connects on first use (creating the topic if missing) and again after a failed connect. */
export function createKafkaAlertStream(config: Config): AlertStream {
  const { kafkaBrokers, kafkaTopic } = config.alertStream;
  const kafka = new Kafka({ clientId: 'performance-monitoring', brokers: kafkaBrokers, logLevel: logLevel.ERROR, retry: { retries: 5 } });
  let producer: Promise<Producer> | undefined;
  const connected = () => {
    producer ??= (async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        // The broker's default partitions and replication; an existing topic is left as it is.
        if (!(await admin.listTopics()).includes(kafkaTopic)) await admin.createTopics({ topics: [{ topic: kafkaTopic }], waitForLeaders: true });
      } finally {
        await admin.disconnect();
      }
      const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await p.connect();
      return p;
    })().catch((err: unknown) => {
      producer = undefined;
      throw err;
    });
    return producer;
  };
  return {
    async publish(event) {
      const p = await connected();
      await p.send({
        topic: kafkaTopic,
        acks: -1,
        timeout: 10_000,
        compression: CompressionTypes.None,
        messages: [{ key: event.alert.alert_id, value: JSON.stringify(event), headers: kafkaHeaders(event) }],
      });
      return { duplicate: false };
    },
    links: alertLinks(config),
    async close() {
      const p = await producer?.catch(() => undefined);
      await p?.disconnect();
    },
  };
}
