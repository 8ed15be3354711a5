import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** SlackCall is one Web API call the fake received: its method and its arguments (JSON fields decoded). */
export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
}

/** SlackStoredMessage is a message in a fake channel. */
export interface SlackStoredMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
}

const JSON_FIELDS = new Set(['blocks', 'attachments', 'metadata', 'files']);

/** SlackStoredFile is a file uploaded through files.getUploadURLExternal → upload → files.completeUploadExternal. */
export interface SlackStoredFile {
  id: string;
  filename: string;
  title?: string;
  bytes?: Buffer;
  /** Set when the upload is completed: where it was shared. */
  channel?: string;
  threadTs?: string;
}

/**
 * FakeSlack is a local Slack-compatible endpoint (SLACK_API_URL): an HTTP server speaking Slack's Web API wire format (form-encoded requests with JSON-encoded
 * blocks and metadata, Bearer token, `{ok, …}` JSON answers) for the methods the module uses — chat.postMessage,
 * chat.update, conversations.history, conversations.replies, conversations.list, files.getUploadURLExternal and files.completeUploadExternal
 * (with the upload URL they hand out: multipart or raw bytes, as files.uploadV2 sends) — plus `response_url`
 * endpoints. It keeps channels and
 * messages like Slack does (a channel name resolves to its id; history takes ids only) and records every call.
 */
export class FakeSlack {
  readonly calls: SlackCall[] = [];
  readonly responses: Array<Record<string, unknown>> = [];
  readonly messages: SlackStoredMessage[] = [];
  readonly files: SlackStoredFile[] = [];
  /** Thread replies that share files (files.completeUploadExternal with thread_ts and initial_comment). */
  readonly fileShares: Array<{ channel: string; ts: string; threadTs: string; text: string; fileIds: string[] }> = [];
  private readonly channelNames = new Map<string, string>();
  /** Methods whose next call is carried out but whose answer is lost (the connection is cut), by method. */
  private readonly dropAnswer = new Map<string, number>();
  /** Delay before answering, by method (the call takes effect at once, as a slow Slack would). */
  private readonly answerDelay = new Map<string, number>();
  private readonly waiters: Array<{ method: string; resolve: () => void }> = [];
  private server!: http.Server;
  private clock = 1_700_000_000;

  constructor(readonly token = 'xoxb-test-token') {}

  /** url is the Web API base to give @slack/web-api as slackApiUrl. */
  url = '';
  /** responseUrl is a `response_url` to put in interactivity payloads. */
  responseUrl = '';

  static channelId(name: string): string {
    return `C${createHash('sha256').update(name).digest('hex').slice(0, 10).toUpperCase()}`;
  }

  /** loseNextAnswer makes the next `count` calls of a method take effect but never answer (a send whose reply is lost). */
  loseNextAnswer(method: string, count = 1): void {
    this.dropAnswer.set(method, count);
  }

  /** delayAnswers makes every call of a method take effect at once but answer after `ms`. */
  delayAnswers(method: string, ms: number): void {
    this.answerDelay.set(method, ms);
  }

  /** nextCall resolves when the fake next receives a call of `method`. */
  nextCall(method: string): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ method, resolve }));
  }

  /** onMessage is called with each message posted or edited (the local sinks of `npm start` print them). */
  onMessage: ((message: SlackStoredMessage, edited: boolean) => void) | undefined;

  async start(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      // A caller killed mid-request resets the connection; its call simply never completes.
      req.on('error', () => undefined);
      res.on('error', () => undefined);
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        if (req.url?.startsWith('/upload/')) void this.upload(req, res, raw);
        else this.handle(req, res, raw.toString('utf8'));
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', resolve);
    });
    const bound = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${bound}/api/`;
    this.responseUrl = `http://127.0.0.1:${bound}/response/1`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** upload receives a file's bytes at the URL files.getUploadURLExternal gave (multipart field or raw body). */
  private async upload(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): Promise<void> {
    const file = this.files.find((f) => req.url === `/upload/${f.id}`);
    if (!file) return void res.writeHead(404).end('no such upload');
    const type = req.headers['content-type'] ?? '';
    if (type.startsWith('multipart/form-data')) {
      const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
      const part = [...form.values()].find((v) => typeof v !== 'string') as Blob | undefined;
      file.bytes = part ? Buffer.from(await part.arrayBuffer()) : Buffer.alloc(0);
    } else {
      file.bytes = raw;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${file.bytes.length}`);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/response/')) {
      this.responses.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const method = url.pathname.replace(/^\/api\//, '');
    const args: Record<string, unknown> = {};
    const form = req.headers['content-type']?.startsWith('application/json') ? Object.entries(JSON.parse(body || '{}') as object) : new URLSearchParams(body).entries();
    for (const [key, value] of form) args[key] = JSON_FIELDS.has(key) && typeof value === 'string' ? JSON.parse(value) : value;
    this.calls.push({ method, args });
    const answer = (data: Record<string, unknown>) => {
      for (const w of this.waiters.filter((x) => x.method === method)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
      const lose = this.dropAnswer.get(method) ?? 0;
      if (lose > 0) {
        this.dropAnswer.set(method, lose - 1);
        req.socket.destroy();
        return;
      }
      const send = () => {
        if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(data));
      };
      const delay = this.answerDelay.get(method);
      if (delay) setTimeout(send, delay);
      else send();
    };
    if (req.headers.authorization !== `Bearer ${this.token}`) return answer({ ok: false, error: 'invalid_auth' });
    const channelArg = String(args.channel ?? '');
    switch (method) {
      case 'chat.postMessage': {
        const channel = channelArg.startsWith('#') ? FakeSlack.channelId(channelArg) : channelArg;
        if (!channel) return answer({ ok: false, error: 'channel_not_found' });
        if (channelArg.startsWith('#')) this.channelNames.set(channel, channelArg.slice(1));
        const message: SlackStoredMessage = {
          channel,
          ts: `${++this.clock}.000100`,
          text: String(args.text ?? ''),
          blocks: (args.blocks as unknown[]) ?? [],
          ...(args.metadata ? { metadata: args.metadata as SlackStoredMessage['metadata'] } : {}),
        };
        this.messages.push(message);
        this.onMessage?.(message, false);
        return answer({ ok: true, channel, ts: message.ts, message: { type: 'message', text: message.text, ts: message.ts } });
      }
      case 'files.getUploadURLExternal': {
        if (!args.filename || !args.length) return answer({ ok: false, error: 'invalid_arguments' });
        const id = `F${String(this.files.length + 1).padStart(9, '0')}`;
        this.files.push({ id, filename: String(args.filename) });
        return answer({ ok: true, upload_url: `${this.url.replace(/\/api\/$/, '')}/upload/${id}`, file_id: id });
      }
      case 'files.completeUploadExternal': {
        const listed = (args.files as Array<{ id: string; title?: string }>) ?? [];
        const files = listed.map((f) => this.files.find((x) => x.id === f.id));
        if (files.some((f) => !f?.bytes)) return answer({ ok: false, error: 'file_not_found' });
        const channel = String(args.channel_id ?? '');
        for (const [i, f] of files.entries()) Object.assign(f!, { channel, title: listed[i]!.title ?? f!.filename, ...(args.thread_ts ? { threadTs: String(args.thread_ts) } : {}) });
        // Like Slack: the share is a message in the thread, its text the initial comment, carrying the files.
        if (args.thread_ts) {
          this.fileShares.push({ channel, ts: `${++this.clock}.000100`, threadTs: String(args.thread_ts), text: String(args.initial_comment ?? ''), fileIds: files.map((f) => f!.id) });
        }
        return answer({ ok: true, files: files.map((f) => ({ id: f!.id, title: f!.title })) });
      }
      case 'chat.update': {
        const message = this.messages.find((m) => m.channel === channelArg && m.ts === args.ts);
        if (!message) return answer({ ok: false, error: 'message_not_found' });
        message.text = String(args.text ?? message.text);
        if (args.blocks) message.blocks = args.blocks as unknown[];
        this.onMessage?.(message, true);
        return answer({ ok: true, channel: message.channel, ts: message.ts, text: message.text });
      }
      case 'conversations.history': {
        // Like Slack: ids only, newest first, metadata only when asked for.
        if (!/^C[A-Z0-9]+$/.test(channelArg)) return answer({ ok: false, error: 'channel_not_found' });
        const withMetadata = args.include_all_metadata === 'true' || args.include_all_metadata === true;
        const messages = this.messages
          .filter((m) => m.channel === channelArg)
          .reverse()
          .slice(0, Number(args.limit ?? 100))
          .map((m) => ({ type: 'message', ts: m.ts, text: m.text, ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}) }));
        return answer({ ok: true, messages, has_more: false });
      }
      case 'conversations.replies': {
        // The parent first, then its replies (here: the file shares of the thread).
        const parent = this.messages.find((m) => m.channel === channelArg && m.ts === args.ts);
        if (!parent) return answer({ ok: false, error: 'thread_not_found' });
        const replies = this.fileShares
          .filter((r) => r.channel === channelArg && r.threadTs === parent.ts)
          .map((r) => ({ type: 'message', ts: r.ts, thread_ts: r.threadTs, text: r.text, files: r.fileIds.map((id) => ({ id, title: this.files.find((f) => f.id === id)?.title })) }));
        return answer({ ok: true, messages: [{ type: 'message', ts: parent.ts, thread_ts: parent.ts, text: parent.text }, ...replies], has_more: false });
      }
      case 'conversations.list': {
        // The channels of the default policy, and every channel a message was posted to (by its #name when known).
        for (const n of ['ml-alerts', 'trading-desk']) this.channelNames.set(FakeSlack.channelId(`#${n}`), n);
        for (const m of this.messages) if (!this.channelNames.has(m.channel)) this.channelNames.set(m.channel, m.channel.toLowerCase());
        const channels = [...this.channelNames].map(([id, name]) => ({ id, name }));
        return answer({ ok: true, channels, response_metadata: { next_cursor: '' } });
      }
      default:
        return answer({ ok: false, error: 'unknown_method' });
    }
  }

  /** updatesOf lists the chat.update calls that edited a message. */
  updatesOf(ts: string): SlackCall[] {
    return this.calls.filter((c) => c.method === 'chat.update' && c.args.ts === ts);
  }
}
