// State shared by the hosts of one play: options, variables, connections,
// counters, and the coordination that crosses hosts (run_once, handlers).

import type { Inventory } from '../inventory/types.ts';
import type { SiteServices } from '../modules/types.ts';
import type { Play, Task } from '../playbook/types.ts';
import type { EventBus, TaskStatus } from '../report/events.ts';
import type { SiteState } from '../state/site-state.ts';
import type { Connection, HostTarget } from '../transport/types.ts';
import type { HostRun } from './host-run.ts';
import { collectSecrets, type HostFacts, taskVariables } from './variables.ts';

export interface RunOptions {
  check: boolean;
  diff: boolean;
  forks: number;
  tags: string[];
  skipTags: string[];
  verbosity: number;
}

export interface HostCounts {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
}

export interface RunContext {
  readonly runId: string;
  readonly bus: EventBus;
  readonly signal: AbortSignal;
  readonly options: RunOptions;
  readonly facts: HostFacts;
  readonly state: SiteState;
  readonly playBecome: boolean | undefined;
  variables(host: string, task: Task, loop?: { name: string; value: unknown; index: number }): Record<string, unknown>;
  connection(host: string): Promise<Connection | undefined>;
  targetFor(host: string): HostTarget;
  runOnce<T>(task: Task, host: string, execute: () => Promise<T>, copy: (value: T) => void): Promise<void>;
  flushHandlers(hostRun: HostRun): Promise<void>;
  count(host: string, status: TaskStatus): void;
  hideResult(result: unknown): void;
  /** Record that an apply wrote this journal through the connection, so the run removes it at the end. */
  journalWritten(connection: Connection, path: string): void;
  selectedByTags(task: Task): boolean;
  siteServices(host: string): SiteServices;
}

export interface PlayRunInit {
  runId: string;
  bus: EventBus;
  signal: AbortSignal;
  options: RunOptions;
  facts: HostFacts;
  state: SiteState;
  inventory: Inventory;
  play: Play;
  playHosts: string[];
  extraVars: Record<string, unknown>;
  counts: Map<string, HostCounts>;
  connect: (host: string) => Promise<Connection | undefined>;
  targetFor: (host: string) => HostTarget;
  flushHandlers: (hostRun: HostRun) => Promise<void>;
  siteServices: (host: string) => SiteServices;
  journals: Map<Connection, Set<string>>;
}

export class PlayRun implements RunContext {
  readonly runId: string;
  readonly bus: EventBus;
  readonly signal: AbortSignal;
  readonly options: RunOptions;
  readonly facts: HostFacts;
  readonly state: SiteState;
  readonly playBecome: boolean | undefined;
  private readonly onceResults = new Map<string, Promise<unknown>>();

  constructor(private readonly init: PlayRunInit) {
    this.runId = init.runId;
    this.bus = init.bus;
    this.signal = init.signal;
    this.options = init.options;
    this.facts = init.facts;
    this.state = init.state;
    this.playBecome = init.play.become;
  }

  variables(host: string, task: Task, loop?: { name: string; value: unknown; index: number }): Record<string, unknown> {
    return taskVariables(
      {
        inventory: this.init.inventory,
        play: this.init.play,
        playHosts: this.init.playHosts,
        facts: this.facts,
        extraVars: this.init.extraVars,
        learned: (name) => this.state.learnedFacts(name),
      },
      host,
      task,
      loop,
    );
  }

  connection(host: string): Promise<Connection | undefined> {
    return this.init.connect(host);
  }

  targetFor(host: string): HostTarget {
    return this.init.targetFor(host);
  }

  async runOnce<T>(task: Task, _host: string, execute: () => Promise<T>, copy: (value: T) => void): Promise<void> {
    const existing = this.onceResults.get(task.id) as Promise<T> | undefined;
    if (existing) {
      copy(await existing);
      return;
    }
    const running = execute();
    this.onceResults.set(task.id, running);
    await running;
  }

  flushHandlers(hostRun: HostRun): Promise<void> {
    return this.init.flushHandlers(hostRun);
  }

  siteServices(host: string): SiteServices {
    return this.init.siteServices(host);
  }

  count(host: string, status: TaskStatus): void {
    let counts = this.init.counts.get(host);
    if (!counts) {
      counts = { ok: 0, changed: 0, failed: 0, skipped: 0 };
      this.init.counts.set(host, counts);
    }
    counts[status] += 1;
  }

  /** Treat every string in a no_log result as a secret from now on. */
  hideResult(result: unknown): void {
    const secrets = new Set<string>();
    collectSecrets(result, secrets, true);
    for (const secret of secrets) if (secret.length >= 8) this.bus.addSecret(secret);
  }

  journalWritten(connection: Connection, path: string): void {
    let paths = this.init.journals.get(connection);
    if (!paths) {
      paths = new Set();
      this.init.journals.set(connection, paths);
    }
    paths.add(path);
  }

  selectedByTags(task: Task): boolean {
    const { tags, skipTags } = this.options;
    if (task.tags.some((tag) => skipTags.includes(tag))) return false;
    if (tags.length === 0) return !task.tags.includes('never');
    return task.tags.includes('always') || task.tags.some((tag) => tags.includes(tag));
  }
}
