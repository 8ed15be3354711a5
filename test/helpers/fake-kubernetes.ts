import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Resource = 'pods' | 'services' | 'endpoints';
type KubeObject = { metadata: { name: string; namespace: string; labels?: Record<string, string>; resourceVersion?: string } } & Record<string, unknown>;
interface Event {
  rv: number;
  resource: Resource;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

/**
 * FakeKubernetes speaks the part of the Kubernetes API that service discovery reads, in its documented wire format
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/): list (`GET /api/v1/{resource}` or
 * `/api/v1/namespaces/{ns}/{resource}`, a List with `metadata.resourceVersion`) and watch (`?watch=1&resourceVersion=`,
 * a stream of `{"type": ADDED|MODIFIED|DELETED, "object": …}` lines; a version older than the server keeps is
 * answered with an ERROR event of status 410 Gone), `labelSelector` (equality) on both, and bearer-token auth. No
 * Kubernetes API server can run here; the tests use this.
 */
export class FakeKubernetes {
  private server: Server | undefined;
  private rv = 100;
  private readonly objects = new Map<Resource, Map<string, KubeObject>>([['pods', new Map()], ['services', new Map()], ['endpoints', new Map()]]);
  private events: Event[] = [];
  /** Versions at or below this are compacted away (a watch from them gets 410 Gone). */
  private compactedAt = 0;
  private readonly watches = new Set<{ res: ServerResponse; resource: Resource; namespace?: string; selector: Array<[string, string]> }>();
  readonly requests: string[] = [];
  url = '';

  constructor(readonly token: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.dropWatches();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** apply creates or replaces an object (ADDED or MODIFIED to every watch that selects it). */
  apply(resource: Resource, object: KubeObject): void {
    const key = `${object.metadata.namespace}/${object.metadata.name}`;
    const type = this.objects.get(resource)!.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.rv) } };
    this.objects.get(resource)!.set(key, stored);
    this.emit({ rv: this.rv, resource, type, object: stored });
  }

  remove(resource: Resource, namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const object = this.objects.get(resource)!.get(key);
    if (!object) return;
    this.objects.get(resource)!.delete(key);
    this.emit({ rv: ++this.rv, resource, type: 'DELETED', object: { ...object, metadata: { ...object.metadata, resourceVersion: String(this.rv) } } });
  }

  /** dropWatches ends every watch stream (an API server restart); `compact` also forgets the events so far. */
  dropWatches(compact = false): void {
    if (compact) {
      this.compactedAt = this.rv;
      this.events = [];
    }
    for (const w of this.watches) w.res.end();
    this.watches.clear();
  }

  private emit(event: Event): void {
    this.events.push(event);
    for (const w of this.watches) if (this.selects(w, event.resource, event.object)) w.res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
  }

  private selects(w: { resource: Resource; namespace?: string; selector: Array<[string, string]> }, resource: Resource, object: KubeObject): boolean {
    return w.resource === resource && (!w.namespace || object.metadata.namespace === w.namespace) && w.selector.every(([k, v]) => object.metadata.labels?.[k] === v);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://kube');
    this.requests.push(`${url.pathname}${url.search}`);
    const status = (code: number, reason: string, message: string) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
    };
    if (req.headers.authorization !== `Bearer ${this.token}`) return status(401, 'Unauthorized', 'Unauthorized');
    const match = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?(pods|services|endpoints)$/.exec(url.pathname);
    if (!match) return status(404, 'NotFound', `the server could not find the requested resource`);
    const [, namespace, resource] = match as unknown as [string, string | undefined, Resource];
    const selector = (url.searchParams.get('labelSelector') ?? '').split(',').filter(Boolean).map((kv) => kv.split('=', 2) as [string, string]);
    const watch = { res, resource, ...(namespace ? { namespace } : {}), selector };
    if (url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      const from = Number(url.searchParams.get('resourceVersion') ?? 0);
      if (from < this.compactedAt) {
        res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `too old resource version: ${from} (${this.compactedAt})`, reason: 'Expired', code: 410 } })}\n`);
        return;
      }
      for (const e of this.events) if (e.rv > from && this.selects(watch, e.resource, e.object)) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
      this.watches.add(watch);
      req.on('close', () => this.watches.delete(watch));
      return;
    }
    const kind = { pods: 'PodList', services: 'ServiceList', endpoints: 'EndpointsList' }[resource];
    const items = [...this.objects.get(resource)!.values()].filter((o) => this.selects(watch, resource, o));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind, apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items }));
  }
}
