// Open-loop HTTP/1.1 load at a steady rate from one process: requests start evenly spaced
// (one every 1000/rps ms) on a set of keep-alive connections, each on a connection with no
// request in flight. h2load's --rps fires all its connections' timers together, so its "1,000
// req/s" from 10 connections is 10 simultaneous requests every 10 ms; this is what the added
// latency at a rate is measured with. Run as a child process: `node bench/steady-load.ts PORT RPS
// SECONDS [CONNECTIONS] [WARMUP_SECONDS]` prints one JSON line, { latenciesMs (sorted),
// firstLatenciesMs, late, busy, errors }. The load runs WARMUP_SECONDS longer than SECONDS, at the
// same rate on the same connections, and requests started in that first part are not measured:
// the first requests on new connections (their latency is in firstLatenciesMs, one per
// connection) meet code paths the proxies have not run hot yet, which is a connection's set-up
// cost, not the latency at a rate.
import net from 'node:net';

const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: bench\r\n\r\n', 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n');

interface Connection {
  socket: net.Socket;
  busy: boolean;
  sentAt: number;
  /** The request in flight counts (started after the warm-up). */
  measured: boolean;
  /** No response has come on this connection yet. */
  first: boolean;
  buffered: Buffer | undefined;
}

/** The length of the complete response at the start of `buf` (Content-Length framing), or -1. */
function responseLength(buf: Buffer): number {
  const headEnd = buf.indexOf(HEAD_END);
  if (headEnd === -1) return -1;
  const match = /\r\ncontent-length:\s*(\d+)/i.exec(buf.toString('latin1', 0, headEnd));
  if (!match) throw new Error('steady load: a response without Content-Length');
  const total = headEnd + 4 + Number(match[1]);
  return buf.length >= total ? total : -1;
}

export async function steadyLoad(
  port: number,
  rps: number,
  seconds: number,
  connections = 10,
  warmupSeconds = 0,
) {
  const latencies: number[] = [];
  const firstLatencies: number[] = [];
  let errors = 0;
  const pool: Connection[] = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<Connection>((resolve, reject) => {
          const socket = net.connect(port, '127.0.0.1', () => resolve(connection));
          socket.setNoDelay(true);
          const connection: Connection = {
            socket,
            busy: false,
            sentAt: 0,
            measured: false,
            first: true,
            buffered: undefined,
          };
          socket.on('data', (data: Buffer) => {
            let buf = connection.buffered ? Buffer.concat([connection.buffered, data]) : data;
            const length = responseLength(buf);
            if (length === -1) {
              connection.buffered = buf;
              return;
            }
            const latency = performance.now() - connection.sentAt;
            if (connection.first) firstLatencies.push(latency);
            if (connection.measured) latencies.push(latency);
            connection.first = false;
            buf = buf.subarray(length);
            connection.buffered = buf.length > 0 ? buf : undefined;
            connection.busy = false;
          });
          socket.on('error', (error) => {
            errors++;
            reject(error);
          });
        }),
    ),
  );
  const intervalMs = 1000 / rps;
  const warmup = Math.round(rps * warmupSeconds);
  const total = warmup + Math.round(rps * seconds);
  const startedAt = performance.now() + 10;
  let sent = 0;
  let late = 0;
  let busy = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      // Every request whose time has come starts now, on a connection with none in flight.
      while (sent < total && startedAt + sent * intervalMs <= now) {
        const measured = sent >= warmup;
        if (measured && now - (startedAt + sent * intervalMs) > intervalMs) late++;
        const connection = pool.find((c) => !c.busy);
        sent++;
        if (!connection) {
          if (measured) busy++;
          continue;
        }
        connection.busy = true;
        connection.measured = measured;
        connection.sentAt = performance.now();
        connection.socket.write(REQUEST);
      }
      if (sent < total) setTimeout(tick, Math.max(0, startedAt + sent * intervalMs - performance.now()));
      else setTimeout(resolve, 200);
    };
    setTimeout(tick, 10);
  });
  for (const connection of pool) connection.socket.destroy();
  return {
    latenciesMs: latencies.sort((a, b) => a - b),
    firstLatenciesMs: firstLatencies,
    late,
    busy,
    errors,
  };
}

if (import.meta.main) {
  const [port, rps, seconds, connections, warmupSeconds] = process.argv.slice(2).map(Number);
  const result = await steadyLoad(
    port as number,
    rps as number,
    seconds as number,
    connections || 10,
    warmupSeconds || 0,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
