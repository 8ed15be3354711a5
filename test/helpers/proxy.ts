import net from 'node:net';

/**
 * PausableProxy forwards TCP connections to a real server (a network path the test controls): `pause` holds every
 * byte from clients as a partition would — nothing reaches the server — and `resume` delivers what was held on the
 * connections still open. A client that dies while paused loses what it had sent, as a killed process does.
 */
export interface PausableProxy {
  url: string;
  pause: () => void;
  resume: () => void;
  close: () => Promise<void>;
}

/** pausableProxy listens on a free loopback port and forwards to host:port. */
export async function pausableProxy(target: { host: string; port: number }, scheme: string): Promise<PausableProxy> {
  let paused = false;
  const held = new Map<net.Socket, { upstream: net.Socket; chunks: Buffer[] }>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const state = { upstream, chunks: [] as Buffer[] };
    held.set(client, state);
    client.on('data', (chunk) => (paused ? state.chunks.push(chunk) : upstream.write(chunk)));
    upstream.on('data', (chunk) => client.write(chunk));
    const end = () => {
      held.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    client.on('error', end);
    upstream.on('close', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      for (const state of held.values()) for (const chunk of state.chunks.splice(0)) state.upstream.write(chunk);
    },
    close: async () => {
      for (const client of held.keys()) client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
