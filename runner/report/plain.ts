// Plain line renderer, for pipes, CI logs and files.

import type { HostRecap, Renderer, RunEvent } from './events.ts';

export interface PlainOptions {
  verbosity: number;
  diff: boolean;
  stats: boolean;
}

export function formatRecapLine(recap: HostRecap): string {
  const state = recap.unreachable ? 'unreachable=1' : 'unreachable=0';
  return `${recap.host.padEnd(16)} ok=${recap.ok} changed=${recap.changed} failed=${recap.failed} skipped=${recap.skipped} ${state}`;
}

export function formatStatsLine(recap: HostRecap): string {
  const up = (recap.bytesUp / 1024).toFixed(1);
  const down = (recap.bytesDown / 1024).toFixed(1);
  return (
    `${recap.host.padEnd(16)} round trips: connect=${recap.connectRoundTrips} exec=${recap.execRoundTrips}` +
    ` bytes up=${up} KiB down=${down} KiB connect=${(recap.connectMs / 1000).toFixed(2)} s reconnects=${recap.reconnects}` +
    (recap.route ? ` via ${recap.route}` : '')
  );
}

export class PlainRenderer implements Renderer {
  constructor(private readonly out: NodeJS.WritableStream, private readonly options: PlainOptions) {}

  handle(event: RunEvent): void {
    const line = this.format(event);
    if (line !== undefined) this.out.write(`${line}\n`);
  }

  async close(): Promise<void> {}

  private format(event: RunEvent): string | undefined {
    switch (event.type) {
      case 'run_start':
        return `RUN ${event.playbook} on site ${event.site}${event.check ? ' (check mode: nothing is changed)' : ''}`;
      case 'play_start':
        return `\nPLAY [${event.play}] hosts: ${event.hosts.join(', ') || '(none)'}`;
      case 'play_end':
        return undefined;
      case 'host_connecting':
        return this.options.verbosity >= 1 ? `${event.host}: connecting (${event.route})` : undefined;
      case 'host_connected':
        return `${event.host}: connected via ${event.route} in ${(event.ms / 1000).toFixed(2)} s`;
      case 'host_unreachable':
        return `${event.host}: UNREACHABLE: ${event.message}`;
      case 'task_start':
        return this.options.verbosity >= 2 ? `${event.host}: start ${event.task}` : undefined;
      case 'task_result':
        return this.formatResult(event);
      case 'warning':
        return `WARNING${event.host ? ` ${event.host}` : ''}: ${event.message}`;
      case 'log':
        return event.level <= this.options.verbosity ? `${event.host ? `${event.host}: ` : ''}${event.message}` : undefined;
      case 'interrupted':
        return `INTERRUPTED: ${event.message}`;
      case 'recap': {
        const lines = ['\nRECAP', ...event.hosts.map(formatRecapLine)];
        if (this.options.stats) lines.push('\nSTATS', ...event.hosts.map(formatStatsLine));
        lines.push(`elapsed ${(event.elapsedMs / 1000).toFixed(2)} s, exit code ${event.exitCode}`);
        return lines.join('\n');
      }
    }
  }

  private formatResult(event: Extract<RunEvent, { type: 'task_result' }>): string {
    const label = event.handler ? `handler ${event.task}` : event.task;
    const item = event.item === undefined ? '' : ` (item=${event.item})`;
    const status = event.status === 'changed' && event.checkMode ? 'would change' : event.status;
    let detail = '';
    if (event.hidden && event.status !== 'skipped') detail = ': output hidden by no_log';
    else if (event.status === 'failed') detail = `: ${event.message ?? 'failed'}`;
    else if (event.status === 'changed') detail = event.summary ? `: ${event.summary}` : '';
    else if (event.reason && this.options.verbosity >= 1) detail = `: ${event.reason}`;
    else if (event.status === 'skipped' && event.reason) detail = `: ${event.reason}`;
    const warning = event.notIdempotent && event.status === 'changed' ? ' [not idempotent]' : '';
    let line = `${event.host}: ${status} ${label}${item}${detail}${warning}`;
    if (this.options.diff && event.diff && !event.hidden) line += `\n${event.diff.replace(/\n$/, '')}`;
    return line;
  }
}
