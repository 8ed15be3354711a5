import { createKafkaAlertStream } from '../../activities/alert-stream-kafka';
import { alertEvent, foldAlertEvents } from '../../core/alert-event';
import type { HistoryRow } from '../../core/alert';
import { startAlertingStack, twoStepPolicy, type AlertingStack } from '../helpers/alerting';
import { followTopic, startKafka, type KafkaBroker, type TopicRecord } from '../helpers/kafka';
import { eventually, testConfig, uniqueName } from '../helpers/stack';

/**
 * The alert event stream on Kafka (issue 19): a real Apache Kafka broker (KRaft, from Maven Central) receives every
 * alert transition as a record keyed by the alert; a consumer that reads the topic from the start rebuilds every
 * alert. Kafka delivers at least once (no deduplication by id across producer sessions): the consumer drops a
 * repeated event id, which the duplicate test shows it must.
 */
describe('alert transitions on Kafka', () => {
  const service = uniqueName('kafka');
  const rule = uniqueName('kafka_queue').replaceAll('-', '_');
  const topic = uniqueName('alerts');
  let kafka: KafkaBroker;
  let stack: AlertingStack;
  const stops: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    kafka = await startKafka();
    stack = await startAlertingStack({
      name: 'kafka',
      service,
      metric: 'kafka_queue_depth',
      rulesYaml: `kafka_rules:\n  kafka:\n    - name: ${rule}\n      expression: 'kafka_queue_depth{service="${service}"} > 100'\n      severity: critical\n`,
      escalationYaml: twoStepPolicy('kafka', '1h'),
      env: { ALERT_STREAM_KAFKA_BROKERS: kafka.broker, ALERT_STREAM_KAFKA_TOPIC: topic },
    });
  }, 180_000);
  afterAll(async () => {
    await Promise.all(stops.map((stop) => stop()));
    await stack?.close();
    await kafka?.stop();
  });

  /** read follows a topic from its first record (the consumer leaves after the test). */
  const read = async (topic_: string): Promise<TopicRecord[]> => {
    const follower = await followTopic(kafka.broker, topic_);
    stops.push(follower.stop);
    return follower.records;
  };

  it('publishes each transition of 100 alerts, keyed by alert, and a consumer rebuilds every alert from the topic', async () => {
    const instances = Array.from({ length: 100 }, (_, i) => `q-${i}`);
    // 100 fire, 10 are acknowledged, all resolve.
    const firing = await stack.driver.storm(instances, 500, 10);

    const records = await read(topic);
    await eventually(async () => expect(records.length).toBeGreaterThanOrEqual(210), 90_000, 500);
    // Nothing more arrives: one record per transition (this run had no worker restart to repeat one).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(records).toHaveLength(210);
    expect(new Set(records.map((r) => r.event.event_id)).size).toBe(210);
    for (const r of records) {
      expect(r.key).toBe(r.event.alert.alert_id);
      expect(r.headers).toEqual({ event_id: r.event.event_id, transition: r.event.transition, service, severity: 'critical', schema: 'performance-monitoring.alert-event/v1' });
    }
    // An alert's events share one partition, in the order they happened.
    const byAlert = new Map<string, TopicRecord[]>();
    for (const r of records) byAlert.set(r.key, [...(byAlert.get(r.key) ?? []), r]);
    for (const list of byAlert.values()) {
      expect(new Set(list.map((r) => r.partition)).size).toBe(1);
      const order = list.sort((a, b) => a.offset - b.offset).map((r) => r.event.transition);
      expect([['firing', 'resolved'], ['firing', 'acknowledged', 'resolved']]).toContainEqual(order);
    }
    const states = foldAlertEvents(records.map((r) => r.event));
    expect(states.size).toBe(100);
    expect([...states.values()].every((s) => s.phase === 'resolved')).toBe(true);
    const acked = firing.slice(0, 10).map((a) => states.get(a.alert_id)!);
    expect(acked.every((s) => s.transitions === 3 && s.acknowledged_by === 'admin')).toBe(true);
  }, 240_000);

  it('writes a transition published again from a new producer twice (at least once), and a consumer counts it once', async () => {
    const dupTopic = `${topic}-dup`;
    const config = testConfig({ ALERT_STREAM_KAFKA_BROKERS: kafka.broker, ALERT_STREAM_KAFKA_TOPIC: dupTopic });
    const row: HistoryRow = { alert_id: 'alert_dup_1', fingerprint: 'f', rule_name: 'r', timestampMs: Date.now(), service_name: 's.x', instance_id: '', severity: 'warning', metric_name: 'm', threshold_value: 1, actual_value: 2, status: 'firing', duration_minutes: 0, acknowledged_by: '', resolution_notes: '', labels: {}, workflow_id: 'alert/f' };
    // The first worker published the firing and died before its activity completed; the retry, on a new worker, publishes it again.
    for (const status of ['firing', 'firing', 'resolved'] as const) {
      const publisher = createKafkaAlertStream(config);
      try {
        expect(await publisher.publish(alertEvent({ ...row, status }, publisher.links(row.workflow_id, row.service_name)))).toEqual({ duplicate: false });
      } finally {
        await publisher.close();
      }
    }
    const records = await read(dupTopic);
    await eventually(async () => expect(records).toHaveLength(3), 30_000, 200);
    expect(records.map((r) => r.event.event_id)).toEqual(['alert_dup_1:firing', 'alert_dup_1:firing', 'alert_dup_1:resolved']);
    expect(foldAlertEvents(records.map((r) => r.event)).get('alert_dup_1')).toMatchObject({ phase: 'resolved', transitions: 2 });
  }, 60_000);
});
