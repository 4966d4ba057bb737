// What runs learn and must remember, kept in the site folder so a user can
// read and commit it: learned host facts (such as a host's SSH onion
// address) and handler notifications that a failed run left pending.

import { join } from 'node:path';

import { ensureStateDir, readYamlState, stateDir, writeYamlState } from './files.ts';

interface FactsFile {
  hosts?: Record<string, Record<string, unknown>>;
}

interface PendingFile {
  hosts?: Record<string, string[]>;
}

export function factsPath(siteDir: string): string {
  return join(stateDir(siteDir), 'facts.yaml');
}

export function pendingHandlersPath(siteDir: string): string {
  return join(stateDir(siteDir), 'pending-handlers.yaml');
}

/**
 * Site state shared by the hosts of one run. Writes are serialised so two
 * hosts finishing at once cannot lose each other's update.
 */
export class SiteState {
  private facts: Record<string, Record<string, unknown>> = {};
  private pending: Record<string, string[]> = {};
  private writes: Promise<void> = Promise.resolve();

  private constructor(private readonly siteDir: string) {}

  static async open(siteDir: string): Promise<SiteState> {
    const state = new SiteState(siteDir);
    state.facts = (await readYamlState<FactsFile>(factsPath(siteDir), {})).hosts ?? {};
    state.pending = (await readYamlState<PendingFile>(pendingHandlersPath(siteDir), {})).hosts ?? {};
    return state;
  }

  learnedFacts(host: string): Record<string, unknown> {
    return { ...(this.facts[host] ?? {}) };
  }

  /** Remember facts of a host across runs. Values must not be secrets. */
  async rememberFacts(host: string, facts: Record<string, unknown>): Promise<void> {
    const current = this.facts[host] ?? {};
    const next = { ...current, ...facts };
    if (JSON.stringify(next) === JSON.stringify(current)) return;
    this.facts[host] = next;
    await this.queueWrite(() =>
      writeYamlState(factsPath(this.siteDir), 'Facts onionplay learned about the hosts. Written by onionplay; safe to commit.', {
        hosts: this.facts,
      }),
    );
  }

  /** Forget every fact learned about a host, e.g. after it was rebuilt. */
  async forgetHost(host: string): Promise<boolean> {
    const hadFacts = this.facts[host] !== undefined;
    const hadPending = this.pending[host] !== undefined;
    delete this.facts[host];
    delete this.pending[host];
    if (hadFacts) {
      await this.queueWrite(() =>
        writeYamlState(factsPath(this.siteDir), 'Facts onionplay learned about the hosts. Written by onionplay; safe to commit.', { hosts: this.facts }),
      );
    }
    if (hadPending) {
      await this.queueWrite(() =>
        writeYamlState(pendingHandlersPath(this.siteDir), 'Handler notifications whose handlers have not run yet; the next run replays them.', { hosts: this.pending }),
      );
    }
    return hadFacts || hadPending;
  }

  pendingHandlers(host: string): string[] {
    return [...(this.pending[host] ?? [])];
  }

  /** Record the handler notifications of a host that have not run yet. */
  async setPendingHandlers(host: string, handlers: string[]): Promise<void> {
    const current = this.pending[host] ?? [];
    if (current.length === handlers.length && current.every((name, index) => name === handlers[index])) return;
    if (handlers.length === 0) delete this.pending[host];
    else this.pending[host] = [...handlers];
    await this.queueWrite(() =>
      writeYamlState(
        pendingHandlersPath(this.siteDir),
        'Handler notifications whose handlers have not run yet; the next run replays them.',
        { hosts: this.pending },
      ),
    );
  }

  /** Wait for every queued write. */
  async settle(): Promise<void> {
    await this.writes;
  }

  private queueWrite(write: () => Promise<void>): Promise<void> {
    this.writes = this.writes.then(async () => {
      await ensureStateDir(this.siteDir);
      await write();
    });
    return this.writes;
  }
}
