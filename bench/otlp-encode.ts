/**
 * OTLP request encoding for bench:ingest: samples as an ExportMetricsServiceRequest in protobuf, one resource per
 * service and instance (service.name, service.instance.id), one gauge per metric with a point per scrape — the
 * shape an OpenTelemetry SDK's periodic reader sends.
 */
import { ProtobufWriter } from '../core/protobuf';
import type { Sample } from '../core/types';

const attribute = (key: string, value: string) => new ProtobufWriter().string(1, key).message(2, new ProtobufWriter().string(1, value));

/** otlpMetricsBody encodes samples (their labels are not carried: the bench's samples have none). */
export function otlpMetricsBody(samples: readonly Sample[]): Uint8Array {
  const resources = new Map<string, Map<string, Sample[]>>();
  for (const s of samples) {
    const key = `${s.service}\u0000${s.instance}`;
    let metrics = resources.get(key);
    if (!metrics) resources.set(key, (metrics = new Map()));
    let points = metrics.get(s.name);
    if (!points) metrics.set(s.name, (points = []));
    points.push(s);
  }
  const request = new ProtobufWriter();
  for (const [key, metrics] of resources) {
    const [service = '', instance = ''] = key.split('\u0000');
    const scope = new ProtobufWriter().message(1, new ProtobufWriter().string(1, 'bench'));
    for (const [name, points] of metrics) {
      const gauge = new ProtobufWriter();
      for (const p of points) gauge.message(1, new ProtobufWriter().fixed64(3, BigInt(p.timestampMs) * 1_000_000n).double(4, p.value));
      scope.message(2, new ProtobufWriter().string(1, name).message(5, gauge));
    }
    const resource = new ProtobufWriter().message(1, attribute('service.name', service)).message(1, attribute('service.instance.id', instance));
    request.message(1, new ProtobufWriter().message(1, resource).message(2, scope));
  }
  return request.finish();
}
