import { jsonStreamRecord, metricSeriesName, parseCloudWatchConfig, periodsDue, queriesOf, snake, streamSamples, wanted } from '../../core/cloudwatch';

const MINUTE = 60_000;

describe('CloudWatch names, batches and periods', () => {
  it('names series as the Prometheus CloudWatch exporters do', () => {
    expect(snake('AWS/EC2')).toBe('aws_ec2');
    expect(snake('CPUUtilization')).toBe('cpuutilization');
    expect(snake('RequestCount')).toBe('request_count');
    expect(snake('DBInstanceIdentifier')).toBe('dbinstance_identifier');
    expect(metricSeriesName('AWS/ApplicationELB', 'TargetResponseTime', 'p99.9')).toBe('aws_application_elb_target_response_time_p99_9');
    expect(metricSeriesName('AWS/EC2', 'CPUUtilization', 'SampleCount')).toBe('aws_ec2_cpuutilization_sample_count');
  });

  it('reads the config, refusing what CloudWatch would, naming the field', () => {
    const config = parseCloudWatchConfig({ cloudwatch: { period: '5m', namespaces: [{ namespace: 'AWS/EC2', dimensions: ['InstanceId'] }] } });
    expect(config).toMatchObject({ region: 'us-east-1', periodMs: 5 * MINUTE, delayMs: 2 * MINUTE, namespaces: [{ namespace: 'AWS/EC2', statistics: ['Average'], service: 'aws-ec2', metrics: [] }] });
    expect(parseCloudWatchConfig({})).toMatchObject({ namespaces: [] });
    expect(() => parseCloudWatchConfig({ cloudwatch: { period: '90s' } })).toThrow('cloudwatch.period: a whole number of minutes');
    expect(() => parseCloudWatchConfig({ cloudwatch: { namespaces: [{ namespace: 'AWS/EC2', statistics: ['Mean'] }] } })).toThrow('cloudwatch.namespaces[0].statistics: "Mean" is not a CloudWatch statistic');
    expect(() => parseCloudWatchConfig({ cloudwatch: { namespaces: [{ metrics: ['x'] }] } })).toThrow('cloudwatch.namespaces[0].namespace: required');
  });

  it('keeps metrics with exactly the configured dimensions', () => {
    const ns = { namespace: 'AWS/EC2', metrics: ['CPUUtilization'], dimensions: ['InstanceId'], statistics: ['Average'], service: 's' };
    expect(wanted(ns, { Namespace: 'AWS/EC2', MetricName: 'CPUUtilization', Dimensions: [{ Name: 'InstanceId', Value: 'i' }] })).toBe(true);
    expect(wanted(ns, { Namespace: 'AWS/EC2', MetricName: 'CPUUtilization', Dimensions: [{ Name: 'InstanceId', Value: 'i' }, { Name: 'AutoScalingGroupName', Value: 'g' }] })).toBe(false);
    expect(wanted(ns, { Namespace: 'AWS/EC2', MetricName: 'NetworkIn', Dimensions: [{ Name: 'InstanceId', Value: 'i' }] })).toBe(false);
  });

  it('batches queries at 500 a GetMetricData call, ids unique within a call', () => {
    const config = { namespace: 'N', metrics: [], statistics: ['Average', 'Maximum', 'Sum'], service: 's' };
    const metrics = Array.from({ length: 400 }, (_, i) => ({ config, metric: { Namespace: 'N', MetricName: `m${i}`, Dimensions: [] } }));
    const batches = queriesOf(metrics);
    expect(batches.map((b) => b.length)).toEqual([500, 500, 200]);
    for (const b of batches) expect(new Set(b.map((q) => q.id)).size).toBe(b.length);
  });

  it('reads whole periods from the watermark to now − delay, at most max_catchup back', () => {
    const config = { periodMs: MINUTE, delayMs: 2 * MINUTE, maxCatchupMs: 60 * MINUTE };
    const now = 1_000 * MINUTE + 30_000;
    expect(periodsDue(config, undefined, now)).toEqual({ fromMs: 997 * MINUTE, toMs: 998 * MINUTE });
    expect(periodsDue(config, 990 * MINUTE, now)).toEqual({ fromMs: 990 * MINUTE, toMs: 998 * MINUTE });
    expect(periodsDue(config, 998 * MINUTE, now)).toBeUndefined();
    expect(periodsDue(config, 100 * MINUTE, now)).toEqual({ fromMs: 938 * MINUTE, toMs: 998 * MINUTE });
  });

  it('reads the metric stream JSON format and derives the average', () => {
    const data = jsonStreamRecord('{"namespace":"AWS/EC2","metric_name":"CPUUtilization","dimensions":{"InstanceId":"i-1"},"region":"us-east-1","account_id":"1","timestamp":60000,"value":{"max":9,"min":1,"sum":20,"count":4}}\n');
    const samples = streamSamples(data, () => 'infra');
    expect(Object.fromEntries(samples.map((s) => [s.name, s.value]))).toEqual({ aws_ec2_cpuutilization_maximum: 9, aws_ec2_cpuutilization_minimum: 1, aws_ec2_cpuutilization_sum: 20, aws_ec2_cpuutilization_sample_count: 4, aws_ec2_cpuutilization_average: 5 });
    expect(() => jsonStreamRecord('{"namespace": 1}')).toThrow('line 1: expected namespace, metric_name, timestamp and value');
  });
});
