import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import type { AlertEvent } from '../../core/alert-event';
import { freePort } from './servers';
import { eventually, uniqueName } from './stack';

const ROOT = path.resolve(__dirname, '../..');

/** KafkaBroker is a running single-node Kafka (KRaft: broker and controller in one process) on a free port. */
export interface KafkaBroker {
  /** host:port of its PLAINTEXT listener. */
  broker: string;
  stop(): Promise<void>;
}

/**
 * startKafka formats a fresh KRaft log directory and starts Apache Kafka from the jars scripts/lib.sh ensure_kafka
 * installed (Maven Central), answering once a client can read its metadata (~10–20 s on this machine).
 */
export async function startKafka(): Promise<KafkaBroker> {
  const libs = execFileSync('bash', ['-c', 'source scripts/lib.sh >/dev/null && ensure_kafka && echo "$(kafka_dir)/libs"'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-kafka-'));
  const [port, controllerPort] = await Promise.all([freePort(), freePort()]);
  const properties = path.join(dir, 'server.properties');
  writeFileSync(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      `log.dirs=${path.join(dir, 'data')}`,
      'num.partitions=3',
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      '',
    ].join('\n'),
  );
  const java = (main: string, args: string[]) => ['-Xms128m', '-Xmx512m', '-cp', `${libs}/*`, main, ...args];
  // A cluster id is 16 random bytes in base64url; one starting with '-' would be read as an option (it happened).
  const clusterId = randomBytes(16).toString('base64url').replace(/^[-_]/, 'A');
  execFileSync('java', java('kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', properties]), { stdio: 'ignore' });
  const proc: ChildProcess = spawn('java', java('kafka.Kafka', [properties]), { stdio: 'ignore' });
  const broker = `127.0.0.1:${port}`;
  const admin = new Kafka({ clientId: 'pm-test-probe', brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
  try {
    await eventually(async () => {
      if (proc.exitCode !== null) throw new Error(`kafka exited with ${proc.exitCode}`);
      await admin.connect();
      await admin.describeCluster();
    }, 60_000, 500);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  return {
    broker,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** TopicRecord is an alert stream record as a consumer reads it. */
export interface TopicRecord {
  partition: number;
  offset: number;
  key: string;
  headers: Record<string, string>;
  event: AlertEvent;
}

/**
 * followTopic reads an alert stream topic from its first record, as a consumer joining late would: `records` grows
 * as they arrive; `stop` leaves.
 */
export async function followTopic(broker: string, topic: string): Promise<{ records: TopicRecord[]; stop: () => Promise<void> }> {
  const records: TopicRecord[] = [];
  const consumer: Consumer = new Kafka({ clientId: 'pm-test-consumer', brokers: [broker], logLevel: logLevel.NOTHING }).consumer({ groupId: uniqueName('consumer'), maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
      records.push({ partition, offset: Number(message.offset), key: String(message.key), headers, event: JSON.parse(String(message.value)) as AlertEvent });
    },
  });
  return { records, stop: () => consumer.disconnect() };
}
