// The lab's long-running processes live under this supervisor, which
// `up` starts detached so it can return while they keep running: every
// tor (in the foreground, RunAsDaemon 0), the apt forwarders and the HTTP
// server behind the test onion service. It records its children's PIDs
// in a file, restarts a child that exits (at most 5 times a minute), and
// on SIGTERM ends all of them and exits.
//
// Usage: node --import=tsx test/lab/supervisor.ts CONFIG.json
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { processRef, type ProcessRef } from './procs.ts';

export interface SupervisedCommand {
  name: string;
  argv: string[];
  logFile: string;
}

export interface SupervisorConfig {
  commands: SupervisedCommand[];
  probe: { host: string; port: number; body: string };
  /** Written on every change: a JSON object mapping names to ProcessRef. */
  childrenFile: string;
}

const RESTART_LIMIT = 5;
const RESTART_WINDOW_MS = 60_000;

function logLine(message: string): void {
  process.stdout.write(`${new Date().toISOString()} supervisor[${process.pid}]: ${message}\n`);
}

function main(configFile: string): void {
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as SupervisorConfig;
  const running = new Map<string, { child: ChildProcess; ref: ProcessRef | undefined }>();
  const restarts = new Map<string, number[]>();
  let stopping = false;

  const writeChildren = () => {
    const children: Record<string, ProcessRef> = {};
    for (const [name, entry] of running) if (entry.ref) children[name] = entry.ref;
    const temp = `${config.childrenFile}.tmp`;
    fs.writeFileSync(temp, `${JSON.stringify(children, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(temp, config.childrenFile);
  };

  const start = (command: SupervisedCommand) => {
    const log = fs.openSync(command.logFile, 'a');
    const [file = '', ...args] = command.argv;
    const child = spawn(file, args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const ref = child.pid === undefined ? undefined : processRef(child.pid);
    running.set(command.name, { child, ref });
    writeChildren();
    logLine(`started ${command.name} as PID ${child.pid}: ${command.argv.join(' ')}`);
    child.on('error', (error) => logLine(`${command.name} failed to start: ${error.message}`));
    child.on('exit', (code, signal) => {
      running.delete(command.name);
      writeChildren();
      logLine(`${command.name} (PID ${child.pid}) exited with ${signal ?? `code ${code}`}`);
      if (stopping) {
        if (running.size === 0) shutdownDone();
        return;
      }
      const now = Date.now();
      const recent = (restarts.get(command.name) ?? []).filter((t) => now - t < RESTART_WINDOW_MS);
      if (recent.length >= RESTART_LIMIT) {
        logLine(`not restarting ${command.name}: it exited ${RESTART_LIMIT} times within a minute; see ${command.logFile}`);
        return;
      }
      restarts.set(command.name, [...recent, now]);
      setTimeout(() => {
        if (!stopping) start(command);
      }, 1000);
    });
  };

  const server = http.createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
    response.end(config.probe.body);
  });
  server.on('error', (error) => {
    logLine(`probe HTTP server on ${config.probe.host}:${config.probe.port} failed: ${error.message}`);
    process.exitCode = 1;
    stop('SIGTERM');
  });

  let killTimer: NodeJS.Timeout | undefined;
  const shutdownDone = () => {
    if (killTimer) clearTimeout(killTimer);
    server.close();
    logLine('all children exited; supervisor exits');
    process.exit();
  };
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logLine(`received ${signal}; stopping ${running.size} children`);
    if (running.size === 0) return shutdownDone();
    for (const { child } of running.values()) child.kill('SIGTERM');
    killTimer = setTimeout(() => {
      for (const [name, { child }] of running) {
        logLine(`${name} (PID ${child.pid}) still running after 5 s; sending SIGKILL`);
        child.kill('SIGKILL');
      }
    }, 5000);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => logLine('ignoring SIGHUP'));

  server.listen(config.probe.port, config.probe.host, () => {
    logLine(`probe HTTP server listening on ${config.probe.host}:${config.probe.port}`);
    for (const command of config.commands) start(command);
  });
}

const configFile = process.argv[2];
if (!configFile) {
  process.stderr.write('usage: supervisor.ts CONFIG.json\n');
  process.exit(2);
}
main(configFile);
