// A transport that runs the shell loop with /bin/sh on this machine. Tests
// use it for playbooks that only touch a temporary directory; it sends the
// same scripts as the SSH transport, so executor behaviour is the same.

import { spawn } from 'node:child_process';

import { RemoteShell, shellLoopCommand } from './shell.ts';
import type { Connection, ConnectionStats, ConnectOptions, HostTarget, RunOptions, RunResult, Transport } from './types.ts';

class LocalConnection implements Connection {
  readonly route = 'local shell (not a remote host)';
  readonly stats: ConnectionStats = {
    connectRoundTrips: 0,
    execRoundTrips: 0,
    bytesUp: 0,
    bytesDown: 0,
    connectMs: 0,
    reconnects: 0,
  };
  private rootShell: RemoteShell | undefined;

  constructor(private shell: RemoteShell, private readonly name: string, private readonly options: ConnectOptions) {}

  async reconnect(): Promise<void> {
    this.shell.close();
    this.rootShell?.close();
    this.rootShell = undefined;
    this.shell = startShell(this.name, shellLoopCommand({ become: false, password: false }));
    await this.shell.waitReady();
    this.stats.reconnects += 1;
  }

  async run(script: string, runOptions: RunOptions = {}): Promise<RunResult> {
    const shell = runOptions.become && process.getuid?.() !== 0 ? await this.becomeShell() : this.shell;
    this.stats.execRoundTrips += 1;
    try {
      return await shell.run(script, runOptions);
    } finally {
      this.stats.bytesUp = this.shell.bytesUp + (this.rootShell?.bytesUp ?? 0);
      this.stats.bytesDown = this.shell.bytesDown + (this.rootShell?.bytesDown ?? 0);
    }
  }

  async close(): Promise<void> {
    this.shell.close();
    this.rootShell?.close();
  }

  private async becomeShell(): Promise<RemoteShell> {
    if (this.rootShell && !this.rootShell.isClosed) return this.rootShell;
    const password = this.options.becomePassword;
    this.rootShell = startShell(`${this.name} (sudo)`, shellLoopCommand({ become: true, password: password !== undefined }));
    if (password !== undefined) this.rootShell.sendPassword(password);
    await this.rootShell.waitReady();
    return this.rootShell;
  }
}

function startShell(label: string, command: string): RemoteShell {
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
  return new RemoteShell(
    {
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      close: () => {
        child.stdin.end();
      },
    },
    label,
  );
}

export const localTransport: Transport = {
  name: 'local',
  async connect(target: HostTarget, options: ConnectOptions): Promise<Connection> {
    const shell = startShell(target.name, shellLoopCommand({ become: false, password: false }));
    await shell.waitReady();
    return new LocalConnection(shell, target.name, options);
  },
};
