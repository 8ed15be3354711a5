/**
 * CloudWatch Metric Streams in: POST /api/v1/integrations/cloudwatch/metric-streams is a Kinesis Data Firehose HTTP
 * endpoint (https://docs.aws.amazon.com/firehose/latest/dev/httpdeliveryrequestresponse.html). Firehose sends its
 * configured access key in `X-Amz-Firehose-Access-Key` (checked in constant time against
 * CLOUDWATCH_FIREHOSE_ACCESS_KEY) and a JSON body `{requestId, timestamp, records: [{data: base64}]}`, optionally
 * gzip; each record is the stream's JSON output (one metric value per line) or its OpenTelemetry 1.0 output
 * (length-prefixed ExportMetricsServiceRequests), told apart by their first bytes. The samples are named as the
 * collector's (core/cloudwatch.ts). Answered in Firehose's shape `{requestId, timestamp[, errorMessage]}`: 200 once
 * stored; a delivery Firehose retries (same requestId) stores only what is missing; 503 while storage is down (it retries).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import { jsonStreamRecord, otelStreamRecord, parseFirehoseRequest, serviceOfNamespace, streamSamples, type StreamDatum } from '../../core/cloudwatch';
import { oldestStorableMs } from '../../core/config';
import { timestampProblem } from '../../core/samples';
import { sampleTsv } from '../../core/sample-row';
import { latestValues } from '../../core/realtime';
import { rowsExcept } from '../../store/sample-writer';
import { loadCloudWatchConfig } from '../../activities/cloudwatch';
import { fromRoot } from '../../store/paths';
import type { AppDeps } from '../deps';

const FirehoseResponse = Type.Object({ requestId: Type.String(), timestamp: Type.Integer(), errorMessage: Type.Optional(Type.String()) });

const sameSecret = (a: string, b: string) => {
  const [x, y] = [createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest()];
  return timingSafeEqual(x, y);
};

export function cloudwatchRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.removeContentTypeParser(['application/json']);
    app.addContentTypeParser(['application/json'], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    app.post(
      '/api/v1/integrations/cloudwatch/metric-streams',
      {
        // Firehose cannot send a bearer token: its access key is the credential, like Slack's signature.
        config: { access: 'signed' },
        schema: { description: 'CloudWatch Metric Streams delivered by Kinesis Data Firehose (HTTP endpoint).', response: { 200: FirehoseResponse, 400: FirehoseResponse, 401: FirehoseResponse, 413: FirehoseResponse, 503: FirehoseResponse } },
      },
      async (request, reply: FastifyReply) => {
        const headerId = String(request.headers['x-amz-firehose-request-id'] ?? '');
        const answer = (status: number, requestId: string, errorMessage?: string) => reply.code(status).send({ requestId, timestamp: Date.now(), ...(errorMessage ? { errorMessage } : {}) });
        const key = String(request.headers['x-amz-firehose-access-key'] ?? '');
        if (!deps.config.firehoseAccessKey || !key || !sameSecret(key, deps.config.firehoseAccessKey)) {
          return answer(401, headerId, deps.config.firehoseAccessKey ? 'X-Amz-Firehose-Access-Key: not the configured access key' : 'CLOUDWATCH_FIREHOSE_ACCESS_KEY is not configured on this endpoint');
        }
        let firehose;
        let data: StreamDatum[];
        try {
          let body = request.body as Buffer;
          if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body, { maxOutputLength: deps.config.monitoring.maxBodyBytes * 8 });
          firehose = parseFirehoseRequest(JSON.parse(body.toString('utf8')));
          data = firehose.records.flatMap((r, i) => {
            const bytes = Buffer.from(r.data, 'base64');
            try {
              // JSON output starts with `{"`; an OpenTelemetry record with a length byte, then a field tag.
              return bytes[0] === 0x7b && bytes[1] === 0x22 ? jsonStreamRecord(bytes.toString('utf8')) : otelStreamRecord(bytes);
            } catch (err) {
              throw new Error(`records[${i}]: ${(err as Error).message}`);
            }
          });
        } catch (err) {
          return answer(400, headerId, (err as Error).message);
        }
        const config = await loadCloudWatchConfig(fromRoot(deps.config.cloudwatchPath));
        const now = Date.now();
        const oldest = oldestStorableMs(deps.config, now);
        const samples = streamSamples(data, (namespace) => serviceOfNamespace(config, namespace)).filter((s) => !timestampProblem(s.timestampMs, now, oldest));
        if (samples.length === 0) return answer(200, firehose.requestId);
        // A retried delivery has the same requestId: its samples' identity, so only what is missing is written.
        const ingestId = createHash('sha256').update(`firehose\n${firehose.requestId}`).digest('hex').slice(0, 32);
        const rows = Buffer.from(samples.map((s, i) => sampleTsv(s, ingestId, i)).join(''));
        let [fromSecond, toSecond] = [Infinity, -Infinity];
        for (const sample of samples) {
          fromSecond = Math.min(fromSecond, Math.floor(sample.timestampMs / 1000));
          toSecond = Math.max(toSecond, Math.floor(sample.timestampMs / 1000));
        }
        try {
          const stored = await deps.clickhouseStore.storedIngestSeqs(ingestId, fromSecond, toSecond);
          const missing = rowsExcept(rows, stored);
          if (missing.count > 0) await deps.writer.writeRows(missing.rows, missing.count);
        } catch (err) {
          request.log.error({ err }, 'metric stream delivery not stored');
          void reply.header('retry-after', '5');
          return answer(503, firehose.requestId, 'metrics storage is unavailable; nothing was stored, retry later');
        }
        await deps.redisStore.writeLatest(latestValues(samples), now).catch((err: unknown) => request.log.warn({ err }, 'realtime cache write failed'));
        return answer(200, firehose.requestId);
      },
    );
  };
}
