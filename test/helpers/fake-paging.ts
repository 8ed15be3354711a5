import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pagerDutySignature } from '../../api/routes/pagerduty';

/** PagerDutyIncident is what the fake PagerDuty holds per dedup key: its status and the events that reached it. */
export interface PagerDutyIncident {
  id: string;
  dedupKey: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  title: string;
  events: Array<Record<string, unknown>>;
}

/** OpsgenieRequest is one accepted Alert API request. */
export interface OpsgenieRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: Record<string, unknown>;
}

/**
 * FakePaging speaks the paging services' documented wire formats, for tests only (no SaaS is reachable here):
 * - PagerDuty Events API v2, POST /v2/enqueue (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/):
 *   validates routing_key (32 characters), event_action, dedup_key (≤ 255) and, for a trigger, payload.summary
 *   (≤ 1024), source and severity; answers 202 `{status: "success", message: "Event processed", dedup_key}` or 400
 *   `{status: "invalid event", message: "Event object is invalid", errors: [...]}`. A trigger opens an incident per
 *   dedup key (or adds to the open one); acknowledge/resolve change it. `acknowledge()` acts as a person in
 *   PagerDuty would, sending the signed V3 webhook (`X-PagerDuty-Signature: v1=…`) of an `incident.acknowledged`.
 * - Opsgenie Alert API (https://docs.opsgenie.com/docs/alert-api): POST /v2/alerts with `Authorization: GenieKey …`
 *   (401 without), message required (≤ 130), alias ≤ 512, priority P1–P5; POST /v2/alerts/{id}/acknowledge|close
 *   with identifierType; each answered 202 `{result: "Request will be processed", took, requestId}`.
 * - A generic SMS gateway, POST /sms: records each request (body and headers) and answers 202.
 * `failNext` makes the next requests answer 503 (a service hiccup the receivers must retry through).
 */
export class FakePaging {
  private server: Server | undefined;
  url = '';
  readonly incidents = new Map<string, PagerDutyIncident>();
  readonly pagerDutyEvents: Array<Record<string, unknown>> = [];
  readonly opsgenie: OpsgenieRequest[] = [];
  readonly sms: Array<{ body: Record<string, unknown>; headers: IncomingMessage['headers'] }> = [];
  failNext = 0;
  private nextIncident = 1;

  /** Where PagerDuty's V3 webhooks go, and the subscription's signing secret (set once the API listens). */
  webhook: { url: string; secret: string } | undefined;

  constructor(readonly opsgenieKey: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** acknowledge acknowledges an incident as `user` in PagerDuty and sends its V3 webhook; returns the webhook's answer. */
  async acknowledge(dedupKey: string, user: string, secret = this.webhook?.secret): Promise<{ status: number; body: unknown }> {
    const incident = this.incidents.get(dedupKey);
    if (!incident || !this.webhook) throw new Error(`no incident ${dedupKey} (or no webhook configured)`);
    incident.status = 'acknowledged';
    const body = JSON.stringify({
      event: {
        id: `01${Math.random().toString(36).slice(2, 12).toUpperCase()}`,
        event_type: 'incident.acknowledged',
        resource_type: 'incident',
        occurred_at: new Date().toISOString(),
        agent: { html_url: 'https://acme.pagerduty.com/users/PLH1HKV', id: 'PLH1HKV', self: 'https://api.pagerduty.com/users/PLH1HKV', summary: user, type: 'user_reference' },
        client: null,
        data: {
          id: incident.id,
          type: 'incident',
          self: `https://api.pagerduty.com/incidents/${incident.id}`,
          html_url: `https://acme.pagerduty.com/incidents/${incident.id}`,
          number: Number(incident.id.replace(/\D/g, '')),
          status: 'acknowledged',
          incident_key: incident.dedupKey,
          created_at: new Date().toISOString(),
          title: incident.title,
          urgency: 'high',
        },
      },
    });
    const response = await fetch(this.webhook.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-pagerduty-signature': pagerDutySignature(secret ?? '', body), 'x-webhook-id': 'test' }, body });
    return { status: response.status, body: await response.json().catch(() => undefined) };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://paging');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (this.failNext > 0) {
      this.failNext--;
      return send(503, { message: 'Service Unavailable' });
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      return send(400, { status: 'invalid event', message: 'Event object is invalid', errors: ['Malformed JSON'] });
    }
    if (req.method === 'POST' && url.pathname === '/v2/enqueue') return send(...this.pagerDuty(body));
    if (url.pathname.startsWith('/v2/alerts')) {
      if (req.headers.authorization !== `GenieKey ${this.opsgenieKey}`) return send(401, { message: 'Could not authenticate', took: 0, requestId: 'x' });
      const errors: string[] = [];
      if (url.pathname === '/v2/alerts') {
        if (typeof body.message !== 'string' || body.message.length === 0 || body.message.length > 130) errors.push('message should be 1 to 130 characters');
        if (body.alias !== undefined && (typeof body.alias !== 'string' || body.alias.length > 512)) errors.push('alias should be at most 512 characters');
        if (body.priority !== undefined && !['P1', 'P2', 'P3', 'P4', 'P5'].includes(String(body.priority))) errors.push('priority should be one of P1..P5');
      } else if (!/^\/v2\/alerts\/[^/]+\/(acknowledge|close)$/.test(url.pathname)) return send(404, { message: 'not found' });
      if (errors.length) return send(422, { message: errors.join('; '), took: 0, requestId: 'x' });
      this.opsgenie.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), body });
      return send(202, { result: 'Request will be processed', took: 0.01, requestId: `req-${this.opsgenie.length}` });
    }
    if (req.method === 'POST' && url.pathname === '/sms') {
      this.sms.push({ body, headers: req.headers });
      return send(202, { queued: true });
    }
    send(404, { message: 'not found' });
  }

  private pagerDuty(body: Record<string, unknown>): [number, unknown] {
    const errors: string[] = [];
    const action = body.event_action;
    if (typeof body.routing_key !== 'string' || body.routing_key.length !== 32) errors.push("'routing_key' must be a 32 character string");
    if (action !== 'trigger' && action !== 'acknowledge' && action !== 'resolve') errors.push("'event_action' must be one of trigger, acknowledge, resolve");
    if (body.dedup_key !== undefined && (typeof body.dedup_key !== 'string' || body.dedup_key.length > 255)) errors.push("'dedup_key' must be a string of at most 255 characters");
    if (action !== 'trigger' && body.dedup_key === undefined) errors.push("'dedup_key' is required for acknowledge and resolve");
    const payload = body.payload as Record<string, unknown> | undefined;
    if (action === 'trigger') {
      if (!payload || typeof payload !== 'object') errors.push("'payload' is required for trigger");
      else {
        if (typeof payload.summary !== 'string' || payload.summary.length === 0 || payload.summary.length > 1024) errors.push("'payload.summary' must be 1 to 1024 characters");
        if (typeof payload.source !== 'string' || payload.source.length === 0) errors.push("'payload.source' is required");
        if (!['critical', 'error', 'warning', 'info'].includes(String(payload.severity))) errors.push("'payload.severity' must be critical, error, warning or info");
      }
    }
    if (errors.length) return [400, { status: 'invalid event', message: 'Event object is invalid', errors }];
    this.pagerDutyEvents.push(body);
    const dedupKey = typeof body.dedup_key === 'string' ? body.dedup_key : `generated-${this.pagerDutyEvents.length}`;
    let incident = this.incidents.get(dedupKey);
    if (action === 'trigger' && (!incident || incident.status === 'resolved')) {
      incident = { id: `Q${String(this.nextIncident++).padStart(6, '0')}`, dedupKey, status: 'triggered', title: String(payload!.summary), events: [] };
      this.incidents.set(dedupKey, incident);
    }
    if (incident) {
      incident.events.push(body);
      if (action === 'acknowledge' && incident.status === 'triggered') incident.status = 'acknowledged';
      if (action === 'resolve') incident.status = 'resolved';
    }
    return [202, { status: 'success', message: 'Event processed', dedup_key: dedupKey }];
  }
}
