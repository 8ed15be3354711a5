import { Worker } from 'node:worker_threads';
import { BodyParseError, parseBody, type ParseJob, type ParsedBody } from './ingest-parse';
import type { ParseReply, ParseRequest } from './parse-worker';

/** ParsePoolOptions: how many parse threads (0: parse on the request thread), their script, and the size below which a body is parsed inline. */
export interface ParsePoolOptions {
  threads: number;
  /** The compiled api/parse-worker.js. */
  workerFile: string;
  /** Bodies smaller than this are parsed on the request thread: a hop to a thread costs more than they do. */
  inlineBelowBytes: number;
}

interface Thread {
  worker: Worker;
  pending: Map<number, { resolve: (r: ParsedBody) => void; reject: (err: Error) => void }>;
}

/**
 * ParsePool parses large metrics bodies on worker threads, so JSON and Prometheus text parsing (the API's main CPU
 * cost) runs beside the request thread's HTTP, Redis and ClickHouse work. A thread that dies fails its jobs (the
 * requests answer 500 and the clients retry) and is replaced.
 */
export class ParsePool {
  private readonly threads: Thread[] = [];
  private nextId = 0;
  private closed = false;

  constructor(private readonly options: ParsePoolOptions) {
    for (let i = 0; i < options.threads; i++) this.threads.push(this.spawn());
  }

  get size(): number {
    return this.threads.length;
  }

  private spawn(): Thread {
    const thread: Thread = { worker: new Worker(this.options.workerFile), pending: new Map() };
    thread.worker.on('message', (reply: ParseReply) => {
      const job = thread.pending.get(reply.id);
      if (!job) return;
      thread.pending.delete(reply.id);
      if (reply.ok) job.resolve(reply.result);
      else job.reject(reply.bodyError ? new BodyParseError(reply.message, reply.bodyError) : new Error(reply.message));
    });
    thread.worker.on('error', () => undefined);
    thread.worker.on('exit', (code) => {
      for (const job of thread.pending.values()) job.reject(new Error(`parse thread exited with code ${code}`));
      thread.pending.clear();
      const index = this.threads.indexOf(thread);
      if (!this.closed && index >= 0) this.threads[index] = this.spawn();
    });
    return thread;
  }

  /** parse parses one body, inline when it is small or there are no threads, else on the least busy thread. */
  parse(job: ParseJob): Promise<ParsedBody> {
    if (this.threads.length === 0 || job.body.byteLength < this.options.inlineBelowBytes) {
      try {
        return Promise.resolve(parseBody(job));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    let thread = this.threads[0]!;
    for (const t of this.threads) if (t.pending.size < thread.pending.size) thread = t;
    const id = this.nextId++;
    return new Promise<ParsedBody>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      const request: ParseRequest = { id, job };
      thread.worker.postMessage(request);
    });
  }

  /** close stops the threads; jobs still running fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}
