/**
 * Remote-write request encoding for the benches: protobuf `prometheus.WriteRequest` and a snappy block made of
 * literals only (valid snappy, uncompressed — what matters to a bench is that both servers read the same bytes).
 */

export interface EncodedSeries {
  labels: Record<string, string>;
  samples: Array<[timestampMs: number, value: number]>;
}

function varint(out: number[], n: number): void {
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function bytesField(out: number[], field: number, bytes: ArrayLike<number>): void {
  out.push((field << 3) | 2);
  varint(out, bytes.length);
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i]!);
}

const encoder = new TextEncoder();

/** writeRequest encodes series as a WriteRequest (labels sorted by name, as the protocol requires). */
export function writeRequest(series: readonly EncodedSeries[]): Uint8Array {
  const out: number[] = [];
  const scratch = new DataView(new ArrayBuffer(8));
  for (const s of series) {
    const ts: number[] = [];
    for (const name of Object.keys(s.labels).sort()) {
      const label: number[] = [];
      bytesField(label, 1, encoder.encode(name));
      bytesField(label, 2, encoder.encode(s.labels[name]!));
      bytesField(ts, 1, label);
    }
    for (const [t, v] of s.samples) {
      const sample: number[] = [9];
      scratch.setFloat64(0, v, true);
      for (let i = 0; i < 8; i++) sample.push(scratch.getUint8(i));
      sample.push(16);
      varint(sample, t);
      bytesField(ts, 2, sample);
    }
    bytesField(out, 1, ts);
  }
  return Uint8Array.from(out);
}

/** snappyLiterals wraps bytes in a snappy block of literals (64 KiB each). */
export function snappyLiterals(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  varint(out, data.length);
  for (let pos = 0; pos < data.length; pos += 65_536) {
    const n = Math.min(65_536, data.length - pos);
    const m = n - 1;
    if (m < 60) out.push(m << 2);
    else if (m < 256) out.push(60 << 2, m);
    else out.push(61 << 2, m & 0xff, m >> 8);
    for (let i = 0; i < n; i++) out.push(data[pos + i]!);
  }
  return Uint8Array.from(out);
}
