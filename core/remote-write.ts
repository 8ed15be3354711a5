/**
 * Prometheus remote write 1.0 (https://prometheus.io/docs/specs/prw/remote_write_spec/): a snappy-compressed (block
 * format, not framed) protobuf `prometheus.WriteRequest`. Both are decoded here by hand, bounds-checked at every
 * step — a body that lies about its lengths is refused, never read past its end:
 *   WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
 *   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
 *   Label        { string name = 1; string value = 2; }
 *   Sample       { double value = 1; int64 timestamp = 2; }   (timestamp in milliseconds)
 * Exemplars are not kept; native histograms are counted and left out (this store holds float samples).
 */

import { ProtobufError, ProtobufReader } from './protobuf';

/** RemoteWriteError: the body is not a valid remote-write request (a 400: Prometheus does not retry it). */
export class RemoteWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteWriteError';
  }
}

/** snappyDecode decompresses a snappy block; `maxBytes` bounds the size the block may claim. */
export function snappyDecode(input: Uint8Array, maxBytes: number): Uint8Array {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= input.length) throw new RemoteWriteError('snappy: truncated length');
      const b = input[pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
      if (shift > 35) throw new RemoteWriteError('snappy: length too long');
    }
  };
  const length = varint();
  if (length > maxBytes) throw new RemoteWriteError(`snappy: the body would decompress to ${length} bytes, more than ${maxBytes}`);
  const out = new Uint8Array(length);
  let o = 0;
  while (pos < input.length) {
    const tag = input[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >> 2;
      if (n >= 60) {
        const bytes = n - 59;
        if (pos + bytes > input.length) throw new RemoteWriteError('snappy: truncated literal length');
        n = 0;
        for (let i = 0; i < bytes; i++) n += input[pos + i]! * 2 ** (8 * i);
        pos += bytes;
      }
      n += 1;
      if (pos + n > input.length || o + n > length) throw new RemoteWriteError('snappy: literal runs past the end');
      out.set(input.subarray(pos, pos + n), o);
      pos += n;
      o += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) {
      if (pos >= input.length) throw new RemoteWriteError('snappy: truncated copy');
      n = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | input[pos++]!;
    } else {
      const bytes = kind === 2 ? 2 : 4;
      if (pos + bytes > input.length) throw new RemoteWriteError('snappy: truncated copy');
      n = (tag >> 2) + 1;
      offset = 0;
      for (let i = 0; i < bytes; i++) offset += input[pos + i]! * 2 ** (8 * i);
      pos += bytes;
    }
    if (offset === 0 || offset > o || o + n > length) throw new RemoteWriteError('snappy: copy out of range');
    // Copies may overlap their own output (a run): byte by byte.
    for (let i = 0; i < n; i++, o++) out[o] = out[o - offset]!;
  }
  if (o !== length) throw new RemoteWriteError(`snappy: decoded ${o} bytes, the header said ${length}`);
  return out;
}

/** RemoteSeries is one decoded time series: its labels (with __name__) and float samples. */
export interface RemoteSeries {
  labels: Record<string, string>;
  samples: Array<{ value: number; timestampMs: number }>;
}

export interface WriteRequest {
  series: RemoteSeries[];
  /** Native histogram samples received and not stored. */
  histograms: number;
}

/** STALE marks a sample that is a staleness marker (decodeWriteRequest leaves it out and counts it). */
export interface DecodeCounts {
  stale: number;
}

/** decodeWriteRequest reads a decompressed WriteRequest; staleness markers are left out and counted. */
export function decodeWriteRequest(buf: Uint8Array, counts: DecodeCounts = { stale: 0 }): WriteRequest {
  try {
    return readWriteRequest(buf, counts);
  } catch (err) {
    if (err instanceof ProtobufError) throw new RemoteWriteError(err.message);
    throw err;
  }
}

function readWriteRequest(buf: Uint8Array, counts: DecodeCounts): WriteRequest {
  const top = new ProtobufReader(buf);
  const series: RemoteSeries[] = [];
  let histograms = 0;
  while (!top.done) {
    const key = top.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field !== 1 || wire !== 2) {
      top.skip(wire);
      continue;
    }
    const ts = top.message();
    const labels: Record<string, string> = {};
    const samples: RemoteSeries['samples'] = [];
    while (!ts.done) {
      const k = ts.varint();
      const f = Math.floor(k / 8);
      const w = k & 7;
      if (f === 1 && w === 2) {
        const label = ts.message();
        let name = '';
        let value = '';
        while (!label.done) {
          const lk = label.varint();
          if (lk === 10) name = label.string('a label');
          else if (lk === 18) value = label.string('a label');
          else label.skip(lk & 7);
        }
        labels[name] = value;
      } else if (f === 2 && w === 2) {
        const sample = ts.message();
        let value = 0;
        let timestampMs = 0;
        let stale = false;
        while (!sample.done) {
          const sk = sample.varint();
          if (sk === 9) {
            stale = sample.isStaleNaN();
            value = sample.double();
          } else if (sk === 16) timestampMs = sample.int64();
          else sample.skip(sk & 7);
        }
        if (stale) counts.stale++;
        else samples.push({ value, timestampMs });
      } else if (f === 4 && w === 2) {
        histograms++;
        ts.skip(w);
      } else ts.skip(w);
    }
    series.push({ labels, samples });
  }
  return { series, histograms };
}
