// A small Tor control-port client (control-spec.txt): cookie
// authentication and GETINFO, enough for readiness checks.
import fs from 'node:fs';
import net from 'node:net';

/**
 * Connects to the control port, authenticates with the cookie file and
 * sends each command; returns the reply text of each, without status
 * codes. Throws on a non-250 reply.
 */
export function controlCommands(port: number, cookieFile: string, commands: string[], timeoutMs = 10_000): Promise<string[]> {
  const cookie = fs.readFileSync(cookieFile).toString('hex');
  const all = [`AUTHENTICATE ${cookie}`, ...commands];
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const replies: string[] = [];
    let current: string[] = [];
    let pending = '';
    let inData = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`Tor control port ${port} did not reply within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('connect', () => socket.write(all.map((c) => `${c}\r\n`).join('')));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\r\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 2);
        if (inData) {
          if (line === '.') inData = false;
          else current.push(line.startsWith('..') ? line.slice(1) : line);
          continue;
        }
        const status = line.slice(0, 3);
        const separator = line[3];
        if (status !== '250') {
          clearTimeout(timer);
          socket.destroy();
          reject(new Error(`Tor control port ${port} replied to "${all[replies.length]?.split(' ')[0]}": ${line}`));
          return;
        }
        current.push(line.slice(4));
        if (separator === '+') inData = true;
        if (separator === ' ') {
          replies.push(current.join('\n'));
          current = [];
          if (replies.length === all.length) {
            clearTimeout(timer);
            socket.end('QUIT\r\n');
            resolve(replies.slice(1));
          }
        }
      }
    });
  });
}

export async function getInfo(port: number, cookieFile: string, key: string): Promise<string> {
  const [reply = ''] = await controlCommands(port, cookieFile, [`GETINFO ${key}`]);
  return reply.replace(new RegExp(`^${key}=`), '').replace(/\nOK$/, '');
}
