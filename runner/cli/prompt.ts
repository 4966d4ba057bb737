// Reads a password from the terminal without echoing it.

import { createInterface } from 'node:readline';

export async function readPassword(prompt: string, output: NodeJS.WritableStream): Promise<string> {
  const input = process.stdin;
  output.write(prompt);
  const wasRaw = input.isTTY ? input.isRaw : false;
  if (input.isTTY) input.setRawMode(true);
  try {
    if (input.isTTY) {
      return await new Promise<string>((resolve, reject) => {
        let value = '';
        const onData = (chunk: Buffer): void => {
          for (const char of chunk.toString('utf8')) {
            if (char === '\r' || char === '\n') {
              input.off('data', onData);
              output.write('\n');
              resolve(value);
              return;
            }
            if (char === '\u0003') {
              input.off('data', onData);
              reject(new Error('interrupted'));
              return;
            }
            if (char === '\u007f') value = value.slice(0, -1);
            else value += char;
          }
        };
        input.on('data', onData);
        input.resume();
      });
    }
    const lines = createInterface({ input });
    for await (const line of lines) return line;
    return '';
  } finally {
    if (input.isTTY) input.setRawMode(wasRaw);
    input.pause();
  }
}
