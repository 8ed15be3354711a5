import { decodeWriteRequest, RemoteWriteError, snappyDecode } from '../../core/remote-write';

/** The remote-write decoders on hand-built bodies: what Prometheus sends, and bodies that lie about their lengths. */
const varint = (n: number): number[] => {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
};
const field = (n: number, bytes: number[]) => [(n << 3) | 2, ...varint(bytes.length), ...bytes];
const text = (s: string) => [...Buffer.from(s)];
const label = (name: string, value: string) => field(1, [...field(1, text(name)), ...field(2, text(value))]);
const double = (v: number) => [...new Uint8Array(new Float64Array([v]).buffer)];
const sample = (value: number[] | number, ts: number) => field(2, [9, ...(Array.isArray(value) ? value : double(value)), 16, ...varint(ts)]);
const STALE = [2, 0, 0, 0, 0, 0, 0xf0, 0x7f];

describe('remote write decoding', () => {
  it('reads series, labels and samples; leaves staleness markers out and counts them', () => {
    const body = Uint8Array.from([
      ...field(1, [...label('__name__', 'up'), ...label('job', 'api'), ...sample(1, 1_700_000_000_000), ...sample(STALE, 1_700_000_001_000), ...sample(0.5, -1000)]),
      ...field(3, text('metadata is skipped')),
    ]);
    const counts = { stale: 0 };
    expect(decodeWriteRequest(body, counts)).toEqual({
      series: [{ labels: { __name__: 'up', job: 'api' }, samples: [{ value: 1, timestampMs: 1_700_000_000_000 }, { value: 0.5, timestampMs: -1000 }] }],
      histograms: 0,
    });
    expect(counts.stale).toBe(1);
  });

  it('decompresses snappy literals and copies, overlapping runs included', () => {
    // "abcabcabca": literal "abc", then a 1-byte-offset copy of 7 bytes from 3 back.
    const block = Uint8Array.from([10, (3 - 1) << 2, ...text('abc'), 1 | ((7 - 4) << 2), 3]);
    expect(Buffer.from(snappyDecode(block, 100)).toString()).toBe('abcabcabca');
  });

  it('refuses bodies that claim more than they hold, or more than allowed', () => {
    expect(() => snappyDecode(Uint8Array.from([10, 0, 97]), 100)).toThrow(RemoteWriteError);
    expect(() => snappyDecode(Uint8Array.from([...varint(1 << 30), 0, 97]), 1 << 20)).toThrow(/more than/);
    expect(() => snappyDecode(Uint8Array.from([4, 1 | (0 << 2), 9]), 100)).toThrow(/copy out of range/);
    expect(() => decodeWriteRequest(Uint8Array.from([0x0a, 0x7f]))).toThrow(/runs past the end/);
    expect(() => decodeWriteRequest(Uint8Array.from([...field(1, [...field(1, [...field(1, [0xff, 0xfe])])])]))).toThrow(/UTF-8/);
  });
});
