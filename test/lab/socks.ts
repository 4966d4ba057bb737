// A minimal SOCKS5 client for the lab's readiness checks and tests. It
// exists beside the `socks` package because that package drops Tor's
// extended reply codes (0xF0-0xF7), which say why an onion failed.
import net from 'node:net';

const REPLY_MEANINGS: Record<number, string> = {
  0x01: 'general SOCKS server failure',
  0x02: 'connection not allowed by ruleset',
  0x03: 'network unreachable',
  0x04: 'host unreachable',
  0x05: 'connection refused by the destination (wrong port?)',
  0x06: 'TTL expired: no circuit or no exit could be built',
  0x07: 'command not supported',
  0x08: 'address type not supported',
  0xf0: 'onion service descriptor not found',
  0xf1: 'onion service descriptor is invalid',
  0xf2: 'onion service introduction failed',
  0xf3: 'onion service rendezvous failed',
  0xf4: 'onion service requires client authorization',
  0xf5: 'onion service client authorization is invalid',
  0xf6: 'invalid onion address',
  0xf7: 'onion service introduction timed out',
};

export class SocksError extends Error {
  constructor(
    readonly code: number,
    destination: string,
  ) {
    super(`SOCKS connect to ${destination} failed: ${REPLY_MEANINGS[code] ?? 'unknown reply'} (0x${code.toString(16).padStart(2, '0')})`);
  }
}

export interface SocksConnectOptions {
  proxyHost?: string;
  proxyPort: number;
  host: string;
  port: number;
  /** Username and password for Tor's IsolateSOCKSAuth: distinct values get distinct circuits. */
  isolation?: string;
  timeoutMs?: number;
}

/** Opens a TCP stream to host:port through a SOCKS5 proxy, letting the proxy resolve the name. */
export function socksConnect(options: SocksConnectOptions): Promise<net.Socket> {
  const destination = `${options.host}:${options.port}`;
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.proxyHost ?? '127.0.0.1', port: options.proxyPort });
    let buffer = Buffer.alloc(0);
    let stage: 'greeting' | 'auth' | 'connect' = 'greeting';
    const timer = setTimeout(() => fail(new Error(`SOCKS connect to ${destination} timed out after ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const sendConnect = () => {
      const name = Buffer.from(options.host, 'utf8');
      const port = Buffer.alloc(2);
      port.writeUInt16BE(options.port);
      socket.write(Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, port]));
      stage = 'connect';
    };
    socket.on('error', fail);
    socket.on('connect', () => {
      socket.write(Buffer.from(options.isolation ? [5, 1, 2] : [5, 1, 0]));
    });
    socket.on('data', function onData(chunk: Buffer) {
      buffer = Buffer.concat([buffer, chunk]);
      if (stage === 'greeting') {
        if (buffer.length < 2) return;
        const method = buffer[1];
        buffer = buffer.subarray(2);
        if (method === 2 && options.isolation) {
          const user = Buffer.from(options.isolation, 'utf8');
          socket.write(Buffer.concat([Buffer.from([1, user.length]), user, Buffer.from([user.length]), user]));
          stage = 'auth';
        } else if (method === 0) {
          sendConnect();
        } else {
          fail(new Error(`SOCKS proxy on port ${options.proxyPort} offered no usable authentication method`));
          return;
        }
      }
      if (stage === 'auth') {
        if (buffer.length < 2) return;
        if (buffer[1] !== 0) return fail(new Error('SOCKS username/password authentication failed'));
        buffer = buffer.subarray(2);
        sendConnect();
      }
      if (stage === 'connect') {
        if (buffer.length < 5) return;
        const reply = buffer[1] ?? 1;
        if (reply !== 0) return fail(new SocksError(reply, destination));
        const addressType = buffer[3];
        const addressLength = addressType === 1 ? 4 : addressType === 4 ? 16 : 1 + (buffer[4] ?? 0);
        const total = 4 + addressLength + 2;
        if (buffer.length < total) return;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', fail);
        const rest = buffer.subarray(total);
        if (rest.length > 0) socket.unshift(rest);
        resolve(socket);
      }
    });
  });
}

/** Sends a bare HTTP/1.0 GET through SOCKS and returns the response body. */
export async function httpGetViaSocks(options: SocksConnectOptions): Promise<string> {
  const socket = await socksConnect(options);
  return new Promise((resolve, reject) => {
    let response = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (response += chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const split = response.indexOf('\r\n\r\n');
      resolve(split >= 0 ? response.slice(split + 4) : '');
    });
    socket.setTimeout(options.timeoutMs ?? 60_000, () => {
      socket.destroy();
      reject(new Error(`HTTP GET via SOCKS to ${options.host}:${options.port} timed out`));
    });
    socket.write(`GET / HTTP/1.0\r\nHost: ${options.host}\r\n\r\n`);
  });
}
