// JSON-lines renderer: one event per line, for scripts.

import type { Renderer, RunEvent } from './events.ts';

export class JsonRenderer implements Renderer {
  constructor(private readonly out: NodeJS.WritableStream) {}

  handle(event: RunEvent): void {
    this.out.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
  }

  async close(): Promise<void> {}
}
