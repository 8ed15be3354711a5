import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { ProtobufWriter } from '../../core/protobuf';
import { startJobStack, type AlertingStack } from '../helpers/alerting';
import { freePort } from '../helpers/servers';
import { eventually, uniqueName } from '../helpers/stack';

const ROOT = path.resolve(__dirname, '..', '..');
const MINUTE = 60_000;

/**
 * AWS CloudWatch in (issue 19), against moto in server mode (PyPI moto[server], installed by scripts/services.sh),
 * which implements CloudWatch's API, with the official AWS SDK v3 on both sides: 3 namespaces × 20 metrics are
 * collected period by period, each period once, with no gap across a worker outage; a Metric Streams delivery in
 * Kinesis Data Firehose's HTTP format (JSON and OpenTelemetry 1.0 records) is stored and answered in its shape.
 */
describe('CloudWatch', () => {
  const tag = uniqueName('cw').replace(/[^a-z0-9]/gi, '');
  const namespaces = [0, 1, 2].map((i) => `Test/${tag}/Ns${i}`);
  const metricNames = Array.from({ length: 20 }, (_, m) => `Metric${m}Count`);
  const accessKey = 'firehose-access-key-0123456789';
  let moto: ChildProcess;
  let stack: AlertingStack;
  const base = Math.floor(Date.now() / MINUTE) * MINUTE;
  const valueOf = (ns: number, m: number, minute: number) => ns * 1000 + m * 10 + (minute % 7);

  beforeAll(async () => {
    const port = await freePort();
    const cache = execFileSync('bash', ['-c', 'source scripts/lib.sh >/dev/null && echo "$CACHE/moto-$MOTO_VERSION"'], { cwd: ROOT, encoding: 'utf8' }).trim();
    moto = spawn(path.join(cache, 'bin', 'moto_server'), ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    // The usual AWS chain, as on a user's machine: credentials and (here) the endpoint from the environment.
    Object.assign(process.env, { AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' });
    const client = new CloudWatchClient({ region: 'us-east-1' });
    await eventually(() => client.send(new PutMetricDataCommand({ Namespace: 'Test/Warmup', MetricData: [{ MetricName: 'x', Value: 1 }] })), 30_000, 250);
    // 20 minutes of one-minute data: two values a minute per metric (Average and Maximum then differ).
    for (const [i, namespace] of namespaces.entries()) {
      const data: MetricDatum[] = [];
      for (let minute = 1; minute <= 20; minute++) {
        for (const [m, name] of metricNames.entries()) {
          const at = base - minute * MINUTE;
          const v = valueOf(i, m, minute);
          data.push({ MetricName: name, Dimensions: [{ Name: 'InstanceId', Value: `i-${i}` }], Timestamp: new Date(at + 10_000), Value: v - 1, Unit: 'Count' });
          data.push({ MetricName: name, Dimensions: [{ Name: 'InstanceId', Value: `i-${i}` }], Timestamp: new Date(at + 40_000), Value: v + 1, Unit: 'Count' });
        }
      }
      for (let k = 0; k < data.length; k += 500) await client.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: data.slice(k, k + 500) }));
    }
    client.destroy();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-cw-'));
    writeFileSync(
      path.join(dir, 'cloudwatch.yaml'),
      ['cloudwatch:', '  region: us-east-1', '  period: 1m', '  delay: 2m', '  max_catchup: 3h', '  namespaces:', ...namespaces.map((ns, i) => `    - {namespace: "${ns}", service: ${tag}-svc${i}, dimensions: [InstanceId], statistics: [Average, Maximum]}`), ''].join('\n'),
    );
    stack = await startJobStack('cloudwatch', `${tag}-svc0`, { MONITORING_CLOUDWATCH_FILE: path.join(dir, 'cloudwatch.yaml'), CLOUDWATCH_FIREHOSE_ACCESS_KEY: accessKey });
  }, 180_000);
  afterAll(async () => {
    await stack?.close();
    moto?.kill();
  });

  const collect = (nowMs: number) =>
    stack.temporal.workflow.execute('cloudwatchCollectWorkflow', { taskQueue: stack.taskQueue, workflowId: uniqueName('cloudwatch'), args: [{ nowMs }] }) as Promise<{ fromMs?: number; toMs?: number; metrics: number; samples: number; calls: number }>;
  const stored = async (service: string) =>
    (
      await (
        await stack.api.clickhouse.query({
          query: `SELECT metric_name AS name, toUnixTimestamp64Milli(timestamp) AS t, count() AS n, any(metric_value) AS v, any(labels) AS labels
                  FROM performance_events WHERE service_name = {s:String} GROUP BY name, t ORDER BY name, t`,
          query_params: { s: service },
          format: 'JSONEachRow',
        })
      ).json<{ name: string; t: string | number; n: string | number; v: number; labels: Record<string, string> }>()
    ).map((r) => ({ ...r, t: Number(r.t), n: Number(r.n) }));

  it('collects 3 namespaces × 20 metrics every period, each once, with no gap across a worker outage', async () => {
    // The worker's runs, each at its scheduled instant: two minutes in a row, then five minutes away, then back.
    const first = await collect(base - 10 * MINUTE);
    expect(first).toMatchObject({ fromMs: base - 13 * MINUTE, toMs: base - 12 * MINUTE, metrics: 60 });
    expect(first.samples).toBe(60 * 2);
    expect((await collect(base - 9 * MINUTE)).samples).toBe(60 * 2);
    const afterOutage = await collect(base - 3 * MINUTE);
    expect(afterOutage).toMatchObject({ fromMs: base - 11 * MINUTE, toMs: base - 5 * MINUTE, samples: 6 * 60 * 2 });
    expect((await collect(base)).samples).toBe(3 * 60 * 2);
    // The same instant again (a retried run): nothing is due, nothing written.
    expect((await collect(base)).samples).toBe(0);

    for (const [i] of namespaces.entries()) {
      const rows = await stored(`${tag}-svc${i}`);
      expect(rows).toHaveLength(20 * 2 * 11);
      expect(rows.every((r) => r.n === 1)).toBe(true);
      for (const m of metricNames.keys()) {
        const series = rows.filter((r) => r.name === `test_${tag.toLowerCase()}_ns${i}_metric${m}_count_average`);
        // Every minute from base − 13 to base − 3, once each: no gap, no duplicate.
        expect(series.map((r) => r.t)).toEqual(Array.from({ length: 11 }, (_, k) => base - (13 - k) * MINUTE));
        expect(series.map((r) => r.v)).toEqual(series.map((r) => valueOf(i, m, (base - r.t) / MINUTE)));
        expect(rows.find((r) => r.name === `test_${tag.toLowerCase()}_ns${i}_metric${m}_count_maximum` && r.t === series[0]!.t)!.v).toBe(series[0]!.v + 1);
        if (m === 0) expect(series[0]!.labels).toEqual({ instance_id: `i-${i}`, region: 'us-east-1' });
      }
    }
  }, 180_000);

  it('stores a Metric Streams delivery (JSON and OpenTelemetry 1.0 records) once, answering in Firehose\'s shape', async () => {
    const at = base - 30 * MINUTE;
    const json = [
      { metric_stream_name: 'ms', account_id: '123456789012', region: 'eu-west-1', namespace: 'AWS/EC2', metric_name: 'CPUUtilization', dimensions: { InstanceId: `i-${tag}` }, timestamp: at, value: { max: 90, min: 10, sum: 200, count: 4 }, unit: 'Percent' },
      { metric_stream_name: 'ms', account_id: '123456789012', region: 'eu-west-1', namespace: 'AWS/EC2', metric_name: 'NetworkIn', dimensions: { InstanceId: `i-${tag}` }, timestamp: at, value: { max: 5, min: 1, sum: 12, count: 4 }, unit: 'Bytes' },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n');
    // OpenTelemetry 1.0: a varint length, then an ExportMetricsServiceRequest whose metric is a summary.
    const kv = (key: string, value: ProtobufWriter) => new ProtobufWriter().string(1, key).message(2, value);
    const str = (s: string) => new ProtobufWriter().string(1, s);
    const point = new ProtobufWriter()
      .message(7, kv('Namespace', str('AWS/EC2')))
      .message(7, kv('MetricName', str('DiskReadOps')))
      .message(7, kv('Dimensions', new ProtobufWriter().message(6, new ProtobufWriter().message(1, kv('InstanceId', str(`i-${tag}`))))))
      .fixed64(3, BigInt(at) * 1_000_000n)
      .fixed64(4, 2n)
      .double(5, 30)
      .message(6, new ProtobufWriter().double(1, 0).double(2, 12))
      .message(6, new ProtobufWriter().double(1, 1).double(2, 18));
    const request = new ProtobufWriter()
      .message(1, new ProtobufWriter().message(1, new ProtobufWriter().message(1, kv('cloud.region', str('eu-west-1')))).message(2, new ProtobufWriter().message(2, new ProtobufWriter().string(1, 'amazonaws.com/AWS/EC2/DiskReadOps').message(11, new ProtobufWriter().message(1, point)))))
      .finish();
    const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >>> 7)]);
    const otel = Buffer.concat([Buffer.from(varint(request.length)), Buffer.from(request)]);
    const requestId = `req-${tag}`;
    const delivery = { requestId, timestamp: Date.now(), records: [{ data: Buffer.from(json).toString('base64') }, { data: otel.toString('base64') }] };
    const post = (key: string, body: unknown = delivery) =>
      stack.api.app.inject({ method: 'POST', url: '/api/v1/integrations/cloudwatch/metric-streams', headers: { 'content-type': 'application/json', 'x-amz-firehose-access-key': key, 'x-amz-firehose-request-id': requestId, 'x-amz-firehose-protocol-version': '1.0' }, payload: body as object });

    const denied = await post('wrong-key');
    expect(denied.statusCode).toBe(401);
    expect(denied.json()).toEqual({ requestId, timestamp: expect.any(Number), errorMessage: expect.stringContaining('access key') });
    const ok = await post(accessKey);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ requestId, timestamp: expect.any(Number) });
    // Firehose retries a delivery it did not hear back from: the same requestId stores nothing twice.
    expect((await post(accessKey)).statusCode).toBe(200);
    const bad = await post(accessKey, { requestId, timestamp: 1, records: [{ data: 7 }] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errorMessage).toBe('records[0].data: base64 string required');

    const rows = await eventually(async () => {
      const found = (await stored('aws-ec2')).filter((r) => r.labels.instance_id === `i-${tag}`);
      expect(found.length).toBe(15);
      return found;
    });
    expect(rows.every((r) => r.n === 1 && r.t === at)).toBe(true);
    const value = (name: string) => rows.find((r) => r.name === name)?.v;
    expect([value('aws_ec2_cpuutilization_maximum'), value('aws_ec2_cpuutilization_minimum'), value('aws_ec2_cpuutilization_sum'), value('aws_ec2_cpuutilization_sample_count'), value('aws_ec2_cpuutilization_average')]).toEqual([90, 10, 200, 4, 50]);
    expect([value('aws_ec2_disk_read_ops_minimum'), value('aws_ec2_disk_read_ops_maximum'), value('aws_ec2_disk_read_ops_average')]).toEqual([12, 18, 15]);
    expect(rows.find((r) => r.name === 'aws_ec2_cpuutilization_sum')!.labels).toEqual({ instance_id: `i-${tag}`, region: 'eu-west-1', account_id: '123456789012' });
  }, 60_000);
});
