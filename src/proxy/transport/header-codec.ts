// Protobuf wire encoding of strait.transport.v1.Header (proto/strait/transport/v1),
// written out by hand: the header is four fields, and the generic protobuf
// runtime would add ~20 MB to every proxy's memory for them.

/** The decoded fields; `protocol` is the field number set in SessionProtocol (1–4), 0 when absent. */
export interface HeaderFields {
  port: number;
  name: string;
  protocol: number;
  clientIdentity: string;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Encodes the fields, omitting proto3 defaults, in field-number order. */
export function encodeHeaderFields(fields: HeaderFields): Uint8Array {
  const out: number[] = [];
  if (fields.port !== 0) {
    out.push(0x08);
    varint(out, fields.port);
  }
  if (fields.name !== '') bytesField(out, 2, utf8.encode(fields.name));
  if (fields.protocol !== 0) bytesField(out, 3, Uint8Array.of((fields.protocol << 3) | 2, 0));
  if (fields.clientIdentity !== '') bytesField(out, 4, utf8.encode(fields.clientIdentity));
  return Uint8Array.from(out);
}

/** Decodes the fields, skipping unknown ones; throws Error with the reason on malformed bytes. */
export function decodeHeaderFields(data: Uint8Array): HeaderFields {
  const fields: HeaderFields = { port: 0, name: '', protocol: 0, clientIdentity: '' };
  const reader = new Reader(data);
  while (!reader.done) {
    const tag = reader.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 0) fields.port = reader.varint();
    else if (field === 2 && wire === 2) fields.name = fromUtf8.decode(reader.bytes());
    else if (field === 3 && wire === 2) fields.protocol = sessionProtocol(reader.bytes());
    else if (field === 4 && wire === 2) fields.clientIdentity = fromUtf8.decode(reader.bytes());
    else reader.skip(wire);
  }
  return fields;
}

function sessionProtocol(data: Uint8Array): number {
  let protocol = 0;
  const reader = new Reader(data);
  while (!reader.done) {
    const tag = reader.varint();
    const field = tag >>> 3;
    if (field >= 1 && field <= 4 && (tag & 7) === 2) {
      reader.bytes();
      protocol = field;
    } else reader.skip(tag & 7);
  }
  return protocol;
}

function varint(out: number[], value: number): void {
  let v = value >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

function bytesField(out: number[], field: number, bytes: Uint8Array): void {
  out.push((field << 3) | 2);
  varint(out, bytes.length);
  for (const b of bytes) out.push(b);
}

class Reader {
  readonly #data: Uint8Array;
  #at = 0;

  constructor(data: Uint8Array) {
    this.#data = data;
  }

  get done(): boolean {
    return this.#at >= this.#data.length;
  }

  /** A varint of up to 32 bits (longer ones are truncated as protobuf does for uint32). */
  varint(): number {
    let result = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.#at >= this.#data.length) throw new Error('truncated varint');
      const byte = this.#data[this.#at++] as number;
      if (shift < 32) result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
    }
    throw new Error('varint longer than 10 bytes');
  }

  bytes(): Uint8Array {
    const length = this.varint();
    if (this.#at + length > this.#data.length) throw new Error('length-delimited field past the end');
    const slice = this.#data.subarray(this.#at, this.#at + length);
    this.#at += length;
    return slice;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.#advance(8);
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.#advance(4);
    else throw new Error(`wire type ${wire} is not supported`);
  }

  #advance(count: number): void {
    if (this.#at + count > this.#data.length) throw new Error('fixed-width field past the end');
    this.#at += count;
  }
}
