/**
 * A parse thread of api/parse-pool.ts: parses metrics bodies off the request thread and hands back the rows,
 * transferring their buffer instead of copying it.
 */
import { parentPort } from 'node:worker_threads';
import { BodyParseError, parseBody, type ParseJob } from './ingest-parse';

/** ParseRequest and ParseReply are the messages between the pool and a parse thread. */
export interface ParseRequest {
  id: number;
  job: ParseJob;
}
export type ParseReply =
  | { id: number; ok: true; result: ReturnType<typeof parseBody> }
  | { id: number; ok: false; bodyError?: BodyParseError['kind']; message: string };

parentPort?.on('message', ({ id, job }: ParseRequest) => {
  let reply: ParseReply;
  try {
    reply = { id, ok: true, result: parseBody(job) };
  } catch (err) {
    reply = { id, ok: false, ...(err instanceof BodyParseError ? { bodyError: err.kind } : {}), message: (err as Error).message };
  }
  parentPort!.postMessage(reply, reply.ok ? [reply.result.rows.buffer as ArrayBuffer] : []);
});
