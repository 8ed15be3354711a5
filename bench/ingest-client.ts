/**
 * The load client of bench:ingest, in its own process so it does not take the server's CPU: it reads a list of
 * pre-built bodies, POSTs them with N connections in flight, and reports the wall time until the last answer.
 * Protocol with the parent: argv = [url, contentType, token, concurrency, bodiesFile]; prints one JSON line.
 */
import { readFileSync } from 'node:fs';

async function main(): Promise<void> {
  const [url, contentType, token, concurrencyText, bodiesFile] = process.argv.slice(2);
  // Binary bodies (protobuf) arrive in base64.
  const binary = contentType === 'application/x-protobuf';
  const bodies = (JSON.parse(readFileSync(bodiesFile!, 'utf8')) as string[]).map((b) => (binary ? Buffer.from(b, 'base64') : b));
  const concurrency = Number(concurrencyText);
  let next = 0;
  let failures = 0;
  const statuses: Record<string, number> = {};
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        for (;;) {
          const response = await fetch(url!, { method: 'POST', headers: { 'content-type': contentType!, ...(token ? { authorization: `Bearer ${token}` } : {}) }, body });
          await response.arrayBuffer();
          statuses[response.status] = (statuses[response.status] ?? 0) + 1;
          if (response.status < 300) break;
          failures++;
          // Honour back-pressure like a real client.
          await new Promise((resolve) => setTimeout(resolve, Number(response.headers.get('retry-after') ?? 1) * 1000));
        }
      }
    }),
  );
  process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - started) / 1000, failures, statuses })}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
