/**
 * A minimal DER encoder and reader: just the ASN.1 that certificates and
 * certificate requests use. Hand-written because the general-purpose ASN.1
 * libraries are an order of magnitude too slow for the signing path.
 */

/** Universal and context tags used by X.509. */
export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Thrown by the reader on malformed input; callers turn it into a domain error. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

// ---- encoding ----

function lengthBytes(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** One tag-length-value element around already-encoded content. */
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of content) size += part.length;
  const header = [tag, ...lengthBytes(size)];
  const out = new Uint8Array(header.length + size);
  out.set(header, 0);
  let offset = header.length;
  for (const part of content) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export const sequence = (...items: Uint8Array[]): Uint8Array => tlv(Tag.sequence, ...items);
export const set = (...items: Uint8Array[]): Uint8Array => tlv(Tag.set, ...items);
export const octetString = (bytes: Uint8Array): Uint8Array => tlv(Tag.octetString, bytes);
export const bitString = (bytes: Uint8Array): Uint8Array => tlv(Tag.bitString, Uint8Array.of(0), bytes);
export const boolean = (value: boolean): Uint8Array => tlv(Tag.boolean, Uint8Array.of(value ? 0xff : 0));
export const nullValue = (): Uint8Array => Uint8Array.of(Tag.null, 0);
export const utf8 = (text: string): Uint8Array => tlv(Tag.utf8String, new TextEncoder().encode(text));
export const ia5 = (text: string): Uint8Array => tlv(Tag.ia5String, new TextEncoder().encode(text));
/** Explicitly tagged [n] (constructed). */
export const explicit = (n: number, ...content: Uint8Array[]): Uint8Array => tlv(0xa0 | n, ...content);

/** A non-negative INTEGER from big-endian magnitude bytes. */
export function unsignedInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  const needsPad = ((trimmed[0] ?? 0) & 0x80) !== 0;
  return needsPad ? tlv(Tag.integer, Uint8Array.of(0), trimmed) : tlv(Tag.integer, trimmed);
}

export function smallInteger(value: number): Uint8Array {
  const bytes: number[] = [];
  let rest = value;
  do {
    bytes.unshift(rest & 0xff);
    rest = Math.floor(rest / 256);
  } while (rest > 0);
  return unsignedInteger(Uint8Array.from(bytes));
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const bytes: number[] = [40 * (arcs[0] as number) + (arcs[1] as number)];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128))
      chunk.unshift(0x80 | (rest & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(Tag.oid, Uint8Array.from(bytes));
}

/** RFC 5280 time: UTCTime through 2049, GeneralizedTime after. Seconds precision. */
export function time(date: Date): Uint8Array {
  const iso = date.toISOString(); // 2026-11-21T03:26:43.123Z
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(Tag.utcTime, new TextEncoder().encode(digits.slice(2)));
  return tlv(Tag.generalizedTime, new TextEncoder().encode(digits));
}

// ---- reading ----

/** One element found by the reader: its tag and where its header and content lie. */
export interface DerNode {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

/** Reads the element that starts at `offset`, checking it fits within `limit`. */
export function readNode(bytes: Uint8Array, offset = 0, limit = bytes.length): DerNode {
  if (offset + 2 > limit) throw new DerError('truncated element');
  const tag = bytes[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported');
  let length = bytes[offset + 1] as number;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new DerError('unsupported length encoding');
    if (contentStart + count > limit) throw new DerError('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[contentStart + i] as number);
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError('element runs past its container');
  return { tag, start: offset, contentStart, end };
}

/** The elements directly inside a constructed element. */
export function children(bytes: Uint8Array, parent: DerNode): DerNode[] {
  const nodes: DerNode[] = [];
  for (let offset = parent.contentStart; offset < parent.end; ) {
    const node = readNode(bytes, offset, parent.end);
    nodes.push(node);
    offset = node.end;
  }
  return nodes;
}

/** Reads the single top-level element and rejects trailing bytes. */
export function readRoot(bytes: Uint8Array): DerNode {
  const root = readNode(bytes, 0);
  if (root.end !== bytes.length) throw new DerError('trailing bytes after the top-level element');
  return root;
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}`);
  return node;
}

export const content = (bytes: Uint8Array, node: DerNode): Uint8Array =>
  bytes.subarray(node.contentStart, node.end);
export const whole = (bytes: Uint8Array, node: DerNode): Uint8Array => bytes.subarray(node.start, node.end);

export function readOid(bytes: Uint8Array, node: DerNode): string {
  expectTag(node, Tag.oid, 'object identifier');
  const body = content(bytes, node);
  if (body.length === 0) throw new DerError('empty object identifier');
  const first = body[0] as number;
  const arcs = [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80];
  let value = 0;
  for (let i = 1; i < body.length; i++) {
    const byte = body[i] as number;
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0;
    }
  }
  return arcs.join('.');
}

export function readText(bytes: Uint8Array, node: DerNode): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(content(bytes, node));
}

/** The content of a BIT STRING without its unused-bits byte. */
export function readBitString(bytes: Uint8Array, node: DerNode): { bits: Uint8Array; unused: number } {
  expectTag(node, Tag.bitString, 'bit string');
  const body = content(bytes, node);
  if (body.length === 0) throw new DerError('empty bit string');
  return { bits: body.subarray(1), unused: body[0] as number };
}
