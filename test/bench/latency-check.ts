// Checks the round trip time that the delaying SOCKS proxy adds, by timing
// a few request and reply exchanges through it against a loopback echo
// server.

import net from 'node:net';

import { encodePipelinedRequest } from '../../runner/transport/socks.ts';

/** Name the proxy maps to the echo server. */
export const ECHO_NAME = 'echo.bench';

export interface EchoServer {
  port: number;
  close(): Promise<void>;
}

export async function startEchoServer(): Promise<EchoServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the echo server has no port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface RttCheck {
  expectedMs: number;
  samplesMs: number[];
  medianMs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Read exactly `length` bytes from the socket, or fail after `timeoutMs`. */
function readBytes(socket: net.Socket, length: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${length} bytes through the SOCKS proxy`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= length) finish();
    };
    const onClose = (): void => finish(new Error('the SOCKS proxy closed the echo connection'));
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (error) reject(error);
      else resolve(data);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/**
 * Time `count` echo exchanges through the proxy and compare their median
 * with `2 * delayMs`. Raises when the median is off by more than 20 ms
 * plus 5 %, so a benchmark never runs at a latency other than the one it
 * reports.
 */
export async function checkAddedRtt(socksPort: number, delayMs: number, count = 5): Promise<RttCheck> {
  const expectedMs = 2 * delayMs;
  const timeoutMs = 10_000 + 4 * expectedMs;
  const socket = net.connect({ host: '127.0.0.1', port: socksPort });
  socket.setNoDelay(true);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write(encodePipelinedRequest({ host: ECHO_NAME, port: 7 }, { username: 'bench', password: 'bench' }));
    // Method reply (2 bytes), RFC 1929 reply (2), CONNECT reply with an IPv4 address (10).
    const replies = await readBytes(socket, 14, timeoutMs);
    if (replies[5] !== 0x00) throw new Error(`the SOCKS proxy refused the echo connection: ${replies.toString('hex')}`);
    const samplesMs: number[] = [];
    for (let index = 0; index < count; index += 1) {
      const started = performance.now();
      socket.write(Buffer.from([index]));
      await readBytes(socket, 1, timeoutMs);
      samplesMs.push(performance.now() - started);
    }
    const measured = median(samplesMs);
    if (Math.abs(measured - expectedMs) > 20 + 0.05 * expectedMs) {
      throw new Error(`the SOCKS proxy adds ${measured.toFixed(1)} ms of round trip time, expected ${expectedMs} ms (one-way delay ${delayMs} ms)`);
    }
    return { expectedMs, samplesMs, medianMs: measured };
  } finally {
    socket.destroy();
  }
}
