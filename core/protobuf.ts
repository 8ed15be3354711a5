/**
 * Protocol Buffers' wire format (https://protobuf.dev/programming-guides/encoding/), read and written by hand for the
 * few messages this module speaks (Prometheus remote write, OTLP): a reader bounds-checked at every step — a body
 * that lies about its lengths is refused, never read past its end — and a writer for small answers.
 */

/** ProtobufError says a body is not the protobuf message it claims to be. */
export class ProtobufError extends Error {
  constructor(message: string) {
    super(`protobuf: ${message}`);
    this.name = 'ProtobufError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const TWO_64 = 2n ** 64n;

/** ProtobufReader reads one message's fields from `buf[start, end)`. */
export class ProtobufReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** tag reads a field key: the field number and the wire type. */
  tag(): { field: number; wire: number } {
    const key = this.varint();
    return { field: Math.floor(key / 8), wire: key & 7 };
  }

  /** varint reads an unsigned varint as a number (exact up to 2^53). */
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new ProtobufError('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
      if (shift > 63) throw new ProtobufError('varint too long');
    }
  }

  /** int64 reads a varint int64 (two's complement in 10 bytes for negatives), exact to 2^53. */
  int64(): number {
    // Millisecond timestamps of this era take 6 bytes: plain arithmetic up to 7 (2^49), BigInt beyond.
    const start = this.pos;
    let fast = 0;
    for (let i = 0; i < 7 && this.pos < this.end; i++) {
      const b = this.buf[this.pos++]!;
      fast += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) return fast;
    }
    this.pos = start;
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new ProtobufError('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7n;
      if (shift > 63n) throw new ProtobufError('varint too long');
    }
    return Number(BigInt.asIntN(64, result));
  }

  /** sint32 reads a zigzag-encoded varint. */
  sint32(): number {
    const n = this.varint();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  /** fixed64 reads a little-endian unsigned 64-bit integer as a BigInt (nanosecond timestamps need all 64 bits). */
  fixed64(): bigint {
    this.need(8, 'fixed64');
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8);
    this.pos += 8;
    return view.getBigUint64(0, true);
  }

  /** sfixed64 reads a little-endian signed 64-bit integer, as a number. */
  sfixed64(): number {
    const v = this.fixed64();
    return Number(v >= TWO_64 / 2n ? v - TWO_64 : v);
  }

  fixed32(): number {
    this.need(4, 'fixed32');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getUint32(0, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    this.need(8, 'double');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }

  /** isStaleNaN says whether the next 8 bytes are Prometheus' staleness marker, the NaN 0x7ff0000000000002. */
  isStaleNaN(): boolean {
    this.need(8, 'double');
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8);
    return view.getUint32(0, true) === 2 && view.getUint32(4, true) === 0x7ff00000;
  }

  /** message reads a length-delimited field as a reader of its own bytes. */
  message(): ProtobufReader {
    const n = this.varint();
    if (this.pos + n > this.end) throw new ProtobufError('field runs past the end of its message');
    const sub = new ProtobufReader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return sub;
  }

  /** bytes reads a length-delimited field's bytes (a view, not a copy). */
  bytes(): Uint8Array {
    const sub = this.message();
    return this.buf.subarray(sub.pos, sub.end);
  }

  /** string reads a length-delimited field as strict UTF-8; `what` names it in the error. */
  string(what = 'a string'): string {
    try {
      return utf8.decode(this.bytes());
    } catch (err) {
      if (err instanceof ProtobufError) throw err;
      throw new ProtobufError(`${what} is not valid UTF-8`);
    }
  }

  /** packedDoubles reads a repeated double field, packed or one at a time (`wire` says which arrived). */
  doubles(wire: number, into: number[]): void {
    if (wire === 1) into.push(this.double());
    else if (wire === 2) {
      const sub = this.message();
      if ((sub.end - sub.pos) % 8 !== 0) throw new ProtobufError('packed doubles of a length not a multiple of 8');
      while (!sub.done) into.push(sub.double());
    } else throw new ProtobufError(`a repeated double arrived as wire type ${wire}`);
  }

  /** fixed64s reads a repeated fixed64 field (counts), packed or not, as numbers. */
  fixed64s(wire: number, into: number[]): void {
    if (wire === 1) into.push(Number(this.fixed64()));
    else if (wire === 2) {
      const sub = this.message();
      if ((sub.end - sub.pos) % 8 !== 0) throw new ProtobufError('packed fixed64s of a length not a multiple of 8');
      while (!sub.done) into.push(Number(sub.fixed64()));
    } else throw new ProtobufError(`a repeated fixed64 arrived as wire type ${wire}`);
  }

  /** varints reads a repeated uint64 varint field, packed or not. */
  varints(wire: number, into: number[]): void {
    if (wire === 0) into.push(this.varint());
    else if (wire === 2) {
      const sub = this.message();
      while (!sub.done) into.push(sub.varint());
    } else throw new ProtobufError(`a repeated varint arrived as wire type ${wire}`);
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.need(8, 'field');
        this.pos += 8;
        return;
      case 2:
        this.message();
        return;
      case 5:
        this.need(4, 'field');
        this.pos += 4;
        return;
      default:
        throw new ProtobufError(`unknown wire type ${wire}`);
    }
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) throw new ProtobufError(`truncated ${what}`);
  }
}

const utf8Encoder = new TextEncoder();

/** ProtobufWriter builds a message field by field (answers of a few dozen bytes; test and bench bodies). */
export class ProtobufWriter {
  private readonly parts: number[] = [];

  private varintRaw(n: number): void {
    let v = n;
    while (v >= 0x80) {
      this.parts.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.parts.push(v);
  }

  /** uint writes a non-negative integer field as a varint (int32 and int64 alike). */
  uint(field: number, value: number): this {
    this.varintRaw(field * 8);
    this.varintRaw(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8Encoder.encode(value));
  }

  bytes(field: number, value: Uint8Array): this {
    this.varintRaw(field * 8 + 2);
    this.varintRaw(value.length);
    for (const b of value) this.parts.push(b);
    return this;
  }

  /** message writes a nested message. */
  message(field: number, inner: ProtobufWriter): this {
    return this.bytes(field, inner.finish());
  }

  double(field: number, value: number): this {
    this.varintRaw(field * 8 + 1);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    for (const b of bytes) this.parts.push(b);
    return this;
  }

  fixed64(field: number, value: bigint): this {
    this.varintRaw(field * 8 + 1);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, value, true);
    for (const b of bytes) this.parts.push(b);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}
