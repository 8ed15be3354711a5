import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConsulHealthEntry } from '../../core/consul-sd';

/**
 * FakeConsul speaks the part of Consul's HTTP API that service discovery reads, in its documented wire format
 * (https://developer.hashicorp.com/consul/api-docs): GET /v1/agent/self (Config.Datacenter), GET /v1/catalog/services
 * (service name → tags) and GET /v1/health/service/{name} (Node, Service, Checks; `tag` and `node-meta` filters),
 * each with `X-Consul-Index` and blocking queries (`index` + `wait`: the answer waits until the index moves past
 * `index` or `wait` passes). No Consul server is packaged for this machine (the Go module of the server is not
 * served under an open licence), so the tests use this; Prometheus' own Consul client reads it in the cross-check.
 */
export class FakeConsul {
  private server: Server | undefined;
  private index = 1;
  private entries: ConsulHealthEntry[] = [];
  private waiters: Array<() => void> = [];
  /** Every request path with its query, for tests that check how they were asked. */
  readonly requests: string[] = [];
  url = '';
  address = '';

  constructor(readonly datacenter = 'dc1') {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const port = (this.server.address() as AddressInfo).port;
    this.address = `127.0.0.1:${port}`;
    this.url = `http://${this.address}`;
  }

  async stop(): Promise<void> {
    for (const wake of this.waiters) wake();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** register adds (or replaces, by Service.ID) an instance; the index moves and blocked queries answer. */
  register(entry: ConsulHealthEntry): void {
    this.entries = [...this.entries.filter((e) => e.Service.ID !== entry.Service.ID), entry];
    this.bump();
  }

  deregister(serviceId: string): void {
    this.entries = this.entries.filter((e) => e.Service.ID !== serviceId);
    this.bump();
  }

  private bump(): void {
    this.index++;
    const waiting = this.waiters;
    this.waiters = [];
    for (const wake of waiting) wake();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://consul');
    this.requests.push(`${url.pathname}${url.search}`);
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': String(this.index), 'x-consul-knownleader': 'true', 'x-consul-lastcontact': '0' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/v1/agent/self') return send({ Config: { Datacenter: this.datacenter, NodeName: 'agent-1' }, Member: { Name: 'agent-1' } });
    const dc = url.searchParams.get('dc');
    if (dc && dc !== this.datacenter) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`No path to datacenter`);
      return;
    }
    // A blocking query: wait while the index has not moved past the caller's.
    const asked = Number(url.searchParams.get('index') ?? 0);
    if (asked > 0 && asked >= this.index) {
      const wait = /^(\d+)(ms|s|m)$/.exec(url.searchParams.get('wait') ?? '5m');
      const ms = wait ? Number(wait[1]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[wait[2] as 'ms' | 's' | 'm'] : 300_000;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(ms, 600_000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const nodeMeta = url.searchParams.getAll('node-meta').map((m) => m.split(':', 2) as [string, string]);
    const visible = this.entries.filter((e) => nodeMeta.every(([k, v]) => e.Node.Meta?.[k] === v));
    if (url.pathname === '/v1/catalog/services') {
      const services: Record<string, string[]> = {};
      for (const e of visible) services[e.Service.Service] = [...new Set([...(services[e.Service.Service] ?? []), ...(e.Service.Tags ?? [])])];
      return send(services);
    }
    const health = /^\/v1\/health\/service\/(.+)$/.exec(url.pathname);
    if (health) {
      const name = decodeURIComponent(health[1]!);
      const tags = url.searchParams.getAll('tag');
      return send(visible.filter((e) => e.Service.Service === name && tags.every((t) => e.Service.Tags?.includes(t))));
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  }
}

/** consulEntry builds one instance as /v1/health/service answers it. */
export function consulEntry(opts: { id: string; service: string; node: string; nodeAddress: string; address?: string; port: number; tags?: string[]; meta?: Record<string, string>; nodeMeta?: Record<string, string>; checks?: Array<[string, string]> }): ConsulHealthEntry {
  return {
    Node: { Node: opts.node, Address: opts.nodeAddress, Datacenter: 'dc1', TaggedAddresses: { lan: opts.nodeAddress, wan: opts.nodeAddress }, Meta: opts.nodeMeta ?? {} },
    Service: { ID: opts.id, Service: opts.service, Tags: opts.tags ?? [], Address: opts.address ?? '', Port: opts.port, Meta: opts.meta ?? {} },
    Checks: (opts.checks ?? [['serfHealth', 'passing']]).map(([CheckID, Status]) => ({ CheckID, Status })),
  };
}
