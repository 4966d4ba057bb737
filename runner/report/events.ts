// Typed events of a run. The engine only emits them; renderers (listr2 on
// a terminal, plain lines, JSON lines) decide how they look.

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped';

export interface HostRecap {
  host: string;
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: boolean;
  /** Round trips spent connecting and running scripts. */
  connectRoundTrips: number;
  execRoundTrips: number;
  bytesUp: number;
  bytesDown: number;
  connectMs: number;
  reconnects: number;
  route?: string;
}

export type RunEvent =
  | { type: 'run_start'; playbook: string; site: string; check: boolean; transport: string; runId: string }
  | { type: 'play_start'; play: string; hosts: string[] }
  | { type: 'play_end'; play: string }
  | { type: 'host_connecting'; host: string; route: string }
  | { type: 'host_connected'; host: string; route: string; ms: number; roundTrips: number }
  | { type: 'host_unreachable'; host: string; message: string }
  | { type: 'task_start'; host: string; task: string; taskId: string; handler: boolean }
  | {
      type: 'task_result';
      host: string;
      task: string;
      taskId: string;
      handler: boolean;
      status: TaskStatus;
      /** Reason a task was ok or skipped. */
      reason?: string;
      /** Summary of the change, or of the change check mode would make. */
      summary?: string;
      diff?: string;
      message?: string;
      item?: string;
      /** The result was hidden by `no_log`. */
      hidden: boolean;
      /** The task does not converge on its own (a command without creates/removes). */
      notIdempotent?: boolean;
      checkMode: boolean;
    }
  | { type: 'warning'; message: string; host?: string }
  | { type: 'log'; level: 1 | 2 | 3; message: string; host?: string }
  | { type: 'interrupted'; message: string }
  | { type: 'recap'; hosts: HostRecap[]; exitCode: number; elapsedMs: number };

export interface Renderer {
  handle(event: RunEvent): void;
  /** Called at the end of each play; a live renderer prints what it held back. */
  flush?(): Promise<void>;
  /** Called once after the last event. */
  close(): Promise<void>;
}

/** Fans events out to renderers, after removing every known secret from them. */
export class EventBus {
  private readonly renderers: Renderer[] = [];
  private readonly secrets = new Set<string>();
  readonly history: RunEvent[] = [];

  add(renderer: Renderer): void {
    this.renderers.push(renderer);
  }

  /** Register a value that must never appear in any output. Values under 4 characters are ignored. */
  addSecret(value: string): void {
    if (value.length >= 4) this.secrets.add(value);
  }

  emit(event: RunEvent): void {
    const clean = this.secrets.size === 0 ? event : (this.scrub(event) as RunEvent);
    this.history.push(clean);
    for (const renderer of this.renderers) renderer.handle(clean);
  }

  async flush(): Promise<void> {
    for (const renderer of this.renderers) await renderer.flush?.();
  }

  async close(): Promise<void> {
    for (const renderer of this.renderers) await renderer.close();
  }

  /** Replace every registered secret in a string with a mask. */
  scrubText(text: string): string {
    let result = text;
    for (const secret of this.secrets) {
      if (result.includes(secret)) result = result.split(secret).join('********');
    }
    return result;
  }

  private scrub(value: unknown): unknown {
    if (typeof value === 'string') return this.scrubText(value);
    if (Array.isArray(value)) return value.map((item) => this.scrub(item));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.scrub(item)]));
    }
    return value;
  }
}
