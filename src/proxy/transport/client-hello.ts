/**
 * Reads the SNI of a TLS ClientHello at the start of `data`. Returns the
 * server name, null when the hello is complete but has none or the bytes are
 * not a ClientHello, or undefined when more bytes are needed.
 */
export function readClientHelloSni(data: Uint8Array): string | null | undefined {
  if (data.length < 5) return undefined;
  if (data[0] !== 0x16 || data[1] !== 0x03) return null;
  const recordLength = ((data[3] as number) << 8) | (data[4] as number);
  if (recordLength < 4 || recordLength > 16384) return null;
  if (data.length < 5 + recordLength) return undefined;
  const hello = data.subarray(5, 5 + recordLength);
  if (hello[0] !== 0x01) return null;
  const helloLength = ((hello[1] as number) << 16) | ((hello[2] as number) << 8) | (hello[3] as number);
  // A hello split across records is rare from proxies; treat it as having no SNI.
  if (helloLength + 4 > hello.length) return null;
  let p = 4 + 2 + 32; // version, random
  const take = (n: number): number | null => (p + n <= helloLength + 4 ? p : null);
  if (take(1) === null) return null;
  p += 1 + (hello[p] as number); // session id
  if (take(2) === null) return null;
  p += 2 + (((hello[p] as number) << 8) | (hello[p + 1] as number)); // cipher suites
  if (take(1) === null) return null;
  p += 1 + (hello[p] as number); // compression methods
  if (take(2) === null) return null;
  const extensionsEnd = p + 2 + (((hello[p] as number) << 8) | (hello[p + 1] as number));
  p += 2;
  if (extensionsEnd > helloLength + 4) return null;
  while (p + 4 <= extensionsEnd) {
    const type = ((hello[p] as number) << 8) | (hello[p + 1] as number);
    const length = ((hello[p + 2] as number) << 8) | (hello[p + 3] as number);
    p += 4;
    if (p + length > extensionsEnd) return null;
    if (type === 0) return readServerName(hello.subarray(p, p + length));
    p += length;
  }
  return null;
}

function readServerName(ext: Uint8Array): string | null {
  if (ext.length < 5) return null;
  const listEnd = 2 + (((ext[0] as number) << 8) | (ext[1] as number));
  let p = 2;
  while (p + 3 <= Math.min(listEnd, ext.length)) {
    const kind = ext[p] as number;
    const length = ((ext[p + 1] as number) << 8) | (ext[p + 2] as number);
    p += 3;
    if (p + length > ext.length) return null;
    if (kind === 0) return Buffer.from(ext.subarray(p, p + length)).toString('latin1');
    p += length;
  }
  return null;
}
