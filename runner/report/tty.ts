// Live terminal renderer: one listr2 task per host and play, whose title
// follows the task the host is on. Everything else is printed the way the
// plain renderer prints it, once the play's live view has finished.

import { Listr, type ListrTaskWrapper } from 'listr2';

import type { Renderer, RunEvent } from './events.ts';
import { PlainRenderer, type PlainOptions } from './plain.ts';

interface HostView {
  task?: ListrTaskWrapper<unknown, never, never>;
  done?: () => void;
  failed?: (error: Error) => void;
  counts: { ok: number; changed: number; failed: number; skipped: number };
  /** Set when the host finished before listr2 started its task. */
  finished: boolean;
}

export class TtyRenderer implements Renderer {
  private readonly plain: PlainRenderer;
  private views = new Map<string, HostView>();
  private running: Promise<unknown> = Promise.resolve();
  /** Events held back while listr2 owns the screen. */
  private held: RunEvent[] = [];

  constructor(private readonly out: NodeJS.WriteStream, private readonly options: PlainOptions) {
    this.plain = new PlainRenderer(out, options);
  }

  handle(event: RunEvent): void {
    switch (event.type) {
      case 'play_start':
        this.plain.handle(event);
        this.startPlay(event.hosts);
        return;
      case 'task_start': {
        const view = this.views.get(event.host);
        if (view?.task) view.task.title = `${event.host}: ${event.handler ? 'handler ' : ''}${event.task}`;
        return;
      }
      case 'task_result': {
        const view = this.views.get(event.host);
        if (view) {
          view.counts[event.status] += 1;
          if (view.task && (event.status === 'changed' || event.status === 'failed')) {
            view.task.output = `${event.status} ${event.task}${event.summary ? `: ${event.summary}` : ''}`;
          }
        }
        this.held.push(event);
        return;
      }
      case 'host_unreachable': {
        const view = this.views.get(event.host);
        view?.failed?.(new Error(`unreachable: ${event.message}`));
        this.held.push(event);
        return;
      }
      case 'play_end':
        this.finishPlay();
        return;
      case 'recap':
      case 'interrupted':
        this.finishPlay();
        this.held.push(event);
        return;
      default:
        this.held.push(event);
    }
  }

  /** Mark one host finished with the play. */
  private finishHost(host: string, view: HostView): void {
    view.finished = true;
    const { ok, changed, failed, skipped } = view.counts;
    if (view.task) view.task.title = `${host}: ok=${ok} changed=${changed} failed=${failed} skipped=${skipped}`;
    view.done?.();
  }

  private startPlay(hosts: string[]): void {
    this.finishPlay();
    this.views = new Map(hosts.map((host) => [host, { counts: { ok: 0, changed: 0, failed: 0, skipped: 0 }, finished: false }]));
    const list = new Listr(
      hosts.map((host) => ({
        title: `${host}: connecting`,
        task: (_context: unknown, task: ListrTaskWrapper<unknown, never, never>) =>
          new Promise<void>((resolve, reject) => {
            const view = this.views.get(host);
            if (!view) return resolve();
            view.task = task;
            view.done = resolve;
            view.failed = reject;
            if (view.finished) this.finishHost(host, view);
          }),
      })),
      { concurrent: true, exitOnError: false },
    );
    this.running = list.run().catch(() => undefined);
  }

  private finishPlay(): void {
    for (const [host, view] of this.views) this.finishHost(host, view);
  }

  /** Called by the executor at the end of every play, before the held lines are printed. */
  async flush(): Promise<void> {
    this.finishPlay();
    await this.running;
    for (const event of this.held.splice(0)) this.plain.handle(event);
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
