// Runs the plays of a playbook: hosts in parallel up to --forks, one
// connection per host for the whole run, handlers at the end of each play,
// and a recap with an exit code scripts can rely on.

import { randomBytes } from 'node:crypto';

import { ExitCode, OnionplayError } from '../errors/index.ts';
import type { Inventory } from '../inventory/types.ts';
import { inventoryVariables, mergeVariables } from '../inventory/vars.ts';
import type { Handler, Play } from '../playbook/types.ts';
import type { EventBus, HostRecap } from '../report/events.ts';
import { OnionKeyStore, readPassphrase } from '../secrets/store.ts';
import { acquireSiteLock } from '../state/lock.ts';
import { SiteState } from '../state/site-state.ts';
import { shellQuote } from '../transport/shell.ts';
import { resolveTarget } from '../transport/target.ts';
import type { Connection, ConnectOptions, HostTarget, Transport } from '../transport/types.ts';
import { HostRun } from './host-run.ts';
import { PlayRun, type HostCounts, type RunOptions } from './run-context.ts';
import { collectSecrets, HostFacts } from './variables.ts';

export interface RunInput {
  inventory: Inventory;
  playbookFile: string;
  plays: Array<{ play: Play; hosts: string[] }>;
  extraVars: Record<string, unknown>;
}

export interface ExecuteOptions extends RunOptions {
  transport: Transport;
  bus: EventBus;
  signal?: AbortSignal;
  allowDirect: boolean;
  trustNewHosts?: boolean;
  becomePassword?: string;
  /** Skip the site lock; only for tests that run two plays in one process on purpose. */
  noLock?: boolean;
}

export interface RunSummary {
  exitCode: number;
  hosts: HostRecap[];
}

/** Limit how many promises run at once. */
async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  });
  await Promise.all(workers);
}

export async function executeRun(input: RunInput, options: ExecuteOptions): Promise<RunSummary> {
  const started = Date.now();
  const { bus } = options;
  const { inventory } = input;
  const signal = options.signal ?? new AbortController().signal;
  const lock = options.noLock ? undefined : await acquireSiteLock(inventory.siteDir);
  const state = await SiteState.open(inventory.siteDir);
  const facts = new HostFacts();
  const counts = new Map<string, HostCounts>();
  const connections = new Map<string, Promise<Connection | undefined>>();
  const unreachable = new Set<string>();
  const journals = new Map<Connection, Set<string>>();
  const failed = new Set<string>();
  const runId = randomBytes(6).toString('hex');
  if (options.becomePassword) bus.addSecret(options.becomePassword);
  const secrets = new Set<string>();
  for (const host of inventory.hosts.keys()) collectSecrets(inventoryVariables(inventory, host), secrets);
  collectSecrets(input.extraVars, secrets);
  for (const secret of secrets) bus.addSecret(secret);

  const targetFor = (host: string): HostTarget => {
    const vars = mergeVariables([inventoryVariables(inventory, host), state.learnedFacts(host), facts.get(host), input.extraVars]);
    if (options.transport.name === 'local') {
      return { name: host, port: 22, user: 'root', direct: true, socks: inventory.settings.socks, connectTimeoutMs: 10_000, commandTimeoutMs: 0 };
    }
    return resolveTarget(host, vars, inventory.settings, inventory.siteDir);
  };

  const connectOptions: ConnectOptions = {
    signal,
    allowDirect: options.allowDirect,
    trustNewHosts: options.trustNewHosts ?? inventory.settings.trustNewHosts,
    siteDir: inventory.siteDir,
    becomePassword: options.becomePassword,
    log: (level, message) => bus.emit({ type: 'log', level, message }),
  };

  const connect = (host: string): Promise<Connection | undefined> => {
    let pending = connections.get(host);
    if (!pending) {
      pending = (async () => {
        if (unreachable.has(host)) return undefined;
        const begin = Date.now();
        try {
          const target = targetFor(host);
          let route = `${target.address} through Tor`;
          if (target.onion) route = `onion ${target.onion}`;
          if (target.direct) route = 'direct';
          bus.emit({ type: 'host_connecting', host, route });
          if (target.direct && options.transport.name !== 'local') {
            bus.emit({ type: 'warning', host, message: 'connecting directly, not through Tor: this connection is not anonymous' });
          }
          const connection = await options.transport.connect(target, connectOptions);
          bus.emit({
            type: 'host_connected',
            host,
            route: connection.route,
            ms: Date.now() - begin,
            roundTrips: connection.stats.connectRoundTrips,
          });
          return connection;
        } catch (error) {
          unreachable.add(host);
          const message = error instanceof Error ? error.message : String(error);
          bus.emit({ type: 'host_unreachable', host, message });
          return undefined;
        }
      })();
      connections.set(host, pending);
    }
    return pending;
  };

  const onionKeys = new OnionKeyStore(inventory.siteDir, () => readPassphrase(inventory.settings, inventory.siteDir));

  let interrupted = signal.aborted;
  const onAbort = (): void => {
    interrupted = true;
  };
  signal.addEventListener('abort', onAbort, { once: true });

  bus.emit({ type: 'run_start', playbook: input.playbookFile, site: inventory.siteDir, check: options.check, transport: options.transport.name, runId });
  try {
    for (const { play, hosts: selected } of input.plays) {
      if (signal.aborted) break;
      const hosts = selected.filter((host) => !unreachable.has(host) && !failed.has(host));
      bus.emit({ type: 'play_start', play: play.name, hosts });
      const playRun: PlayRun = new PlayRun({
        runId,
        bus,
        signal,
        options,
        facts,
        state,
        inventory,
        play,
        playHosts: hosts,
        extraVars: input.extraVars,
        counts,
        connect,
        targetFor,
        flushHandlers: (hostRun) => runHandlers(playRun, play.handlers, hostRun),
        journals,
        siteServices: (host) => ({
          siteDir: inventory.siteDir,
          socks: targetFor(host).socks,
          onionKeys,
          addSecret: (value) => bus.addSecret(value),
          checkLogin: async (onion) => {
            const connection = await options.transport.connect({ ...targetFor(host), onion }, { ...connectOptions, trustNewHosts: false });
            try {
              const result = await connection.run('true');
              if (result.exitCode !== 0) throw new OnionplayError('transport', `a login to ${host} through ${onion} ran, but \`true\` exited with ${result.exitCode}`);
              return connection.route;
            } finally {
              await connection.close();
            }
          },
        }),
      });
      await forEachLimited(hosts, options.forks, async (host) => {
        const hostRun = new HostRun(playRun, host, undefined);
        const pending = state.pendingHandlers(host).filter((name) => play.handlers.some((handler) => handler.listen.includes(name)));
        if (pending.length > 0) {
          hostRun.addNotifications(pending);
          bus.emit({ type: 'log', level: 1, host, message: `replaying handler notifications left by an earlier run: ${pending.join(', ')}` });
        }
        await hostRun.runTasks(play.tasks, { handler: false });
        if (!hostRun.hasFailed && !signal.aborted) await runHandlers(playRun, play.handlers, hostRun);
        if (hostRun.isUnreachable) unreachable.add(host);
        else if (hostRun.hasFailed) failed.add(host);
      });
      bus.emit({ type: 'play_end', play: play.name });
      await bus.flush();
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    await state.settle();
    for (const [host, pending] of connections) {
      const connection = await pending.catch(() => undefined);
      // The journal only matters while the run may still reconnect; it is
      // removed in one more round trip, only on hosts where something changed.
      const paths = connection ? journals.get(connection) : undefined;
      if (connection && paths && !unreachable.has(host)) {
        await connection.run(`rm -f ${[...paths].map(shellQuote).join(' ')}\n`).catch(() => undefined);
      }
      await connection?.close().catch(() => undefined);
    }
    await lock?.release();
  }

  const hostsInRun = [...new Set(input.plays.flatMap(({ hosts }) => hosts))];
  const recaps: HostRecap[] = [];
  for (const host of hostsInRun) {
    const count = counts.get(host) ?? { ok: 0, changed: 0, failed: 0, skipped: 0 };
    const connection = await (connections.get(host) ?? Promise.resolve(undefined)).catch(() => undefined);
    const stats = connection?.stats;
    recaps.push({
      host,
      ...count,
      unreachable: unreachable.has(host),
      connectRoundTrips: stats?.connectRoundTrips ?? 0,
      execRoundTrips: stats?.execRoundTrips ?? 0,
      bytesUp: stats?.bytesUp ?? 0,
      bytesDown: stats?.bytesDown ?? 0,
      connectMs: stats?.connectMs ?? 0,
      reconnects: stats?.reconnects ?? 0,
      route: connection?.route,
    });
  }
  let exitCode: number = ExitCode.ok;
  if (interrupted) exitCode = ExitCode.interrupted;
  else if (unreachable.size > 0) exitCode = ExitCode.unreachable;
  else if (failed.size > 0) exitCode = ExitCode.taskFailed;
  if (interrupted) bus.emit({ type: 'interrupted', message: 'the run was interrupted; pending handler notifications are kept for the next run' });
  bus.emit({ type: 'recap', hosts: recaps, exitCode, elapsedMs: Date.now() - started });
  await bus.flush();
  return { exitCode, hosts: recaps };
}

/** Run the notified handlers of a host in definition order; handlers may notify further handlers. */
async function runHandlers(playRun: PlayRun, handlers: Handler[], hostRun: HostRun): Promise<void> {
  const ran = new Set<Handler>();
  for (let round = 0; round < 10; round += 1) {
    const notified = hostRun.pendingNotifications();
    const due = handlers.filter((handler) => !ran.has(handler) && handler.listen.some((name) => notified.includes(name)));
    if (due.length === 0) break;
    for (const handler of due) ran.add(handler);
    await hostRun.runTasks(due, { handler: true });
    if (hostRun.hasFailed) return;
    const answered = due.flatMap((handler) => handler.listen);
    hostRun.clearNotifications(answered);
    await playRun.state.setPendingHandlers(hostRun.host, hostRun.pendingNotifications());
  }
  if (hostRun.pendingNotifications().length > 0) {
    const unknown = hostRun.pendingNotifications().filter((name) => !handlers.some((handler) => handler.listen.includes(name)));
    if (unknown.length > 0) {
      throw new OnionplayError('invalid_value', `no handler matches the notification(s) ${unknown.join(', ')}`, {
        fix: 'add a handler with that name or listen topic, or fix the notify name',
      });
    }
  }
}
