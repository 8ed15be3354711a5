/**
 * Heap snapshots of a running process for the soak: Node writes one when the process gets SIGURG (started with
 * `--heapsnapshot-signal=SIGURG`; SIGUSR2 would stop a Temporal worker), after a full GC — so its total is the live heap. `liveHeap` sums the snapshot's
 * nodes by constructor; `heapGrowth` compares two snapshots of one process, the biggest growth first.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

export interface LiveHeap {
  totalMb: number;
  /** Bytes held by each constructor (or node type for non-objects). */
  byName: Map<string, number>;
}

/** takeHeapSnapshot signals `pid` and resolves with the parsed snapshot it writes into `dir`, which it then deletes. */
export async function takeHeapSnapshot(pid: number, dir: string, timeoutMs = 120_000): Promise<LiveHeap> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGURG');
  const started = Date.now();
  for (;;) {
    const written = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot') && f.includes(`.${pid}.`));
    if (written) {
      // Node writes the file in one go; wait until its JSON parses.
      try {
        const heap = liveHeap(readFileSync(path.join(dir, written), 'utf8'));
        rmSync(path.join(dir, written));
        return heap;
      } catch {
        // still being written
      }
    }
    if (Date.now() - started > timeoutMs) throw new Error(`no heap snapshot from pid ${pid} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** liveHeap reads a .heapsnapshot (V8's JSON) into its total and its bytes per constructor. */
export function liveHeap(json: string): LiveHeap {
  const snapshot = JSON.parse(json) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snapshot.snapshot.meta.node_fields;
  const stride = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = snapshot.snapshot.meta.node_types[0];
  const byName = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < snapshot.nodes.length; i += stride) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    const size = snapshot.nodes[i + sizeAt]!;
    const name = type === 'object' || type === 'closure' ? snapshot.strings[snapshot.nodes[i + nameAt]!]! : `(${type})`;
    byName.set(name, (byName.get(name) ?? 0) + size);
    total += size;
  }
  return { totalMb: total / 1_048_576, byName };
}

/** heapGrowth lists the constructors whose bytes grew most from `a` to `b`. */
export function heapGrowth(a: LiveHeap, b: LiveHeap, top = 6): Array<{ name: string; kb: number }> {
  const names = new Set([...a.byName.keys(), ...b.byName.keys()]);
  return [...names]
    .map((name) => ({ name, kb: Math.round(((b.byName.get(name) ?? 0) - (a.byName.get(name) ?? 0)) / 1024) }))
    .sort((x, y) => y.kb - x.kb)
    .slice(0, top);
}
