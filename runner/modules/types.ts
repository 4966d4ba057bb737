// The module contract: probe the host read-only, plan purely from what the
// probe printed, then let the executor apply the planned steps. A pure plan
// is what makes check mode, --diff and transport-free tests possible.

import type { RunResult } from '../transport/types.ts';

/** JSON Schema of a module's arguments (draft 2020-12 subset that ajv takes). */
export type JsonSchema = Record<string, unknown>;

/** A read-only shell snippet whose stdout describes the current state. */
export interface Probe {
  script: string;
  /**
   * Remote paths whose state the probe reads. A pending change that affects
   * one of them makes the executor probe again before planning.
   * `everything` means any earlier change may alter the output.
   */
  reads: string[] | 'everything';
}

/** A probe's output, handed to `plan`. */
export interface ProbeOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** One remote shell snippet of an apply. It runs under `set -e`. */
export interface Step {
  description: string;
  script: string;
}

/** Outcome of a task, as data. */
export interface Outcome {
  changed: boolean;
  failed?: string;
  /** Reason nothing changed, shown with every "ok". */
  reason?: string;
  /** Extra fields for `register` (stdout, rc, content...). */
  result?: Record<string, unknown>;
  /** Facts to set on the host (`set_fact`, `slurp`'s content, onion addresses...). */
  facts?: Record<string, unknown>;
}

export type Plan =
  | {
      status: 'ok';
      /** Reason nothing is needed, e.g. "tor 0.4.9 already installed". Required. */
      reason: string;
      result?: Record<string, unknown>;
      facts?: Record<string, unknown>;
    }
  | {
      status: 'change';
      /** One line saying what will change, e.g. "write /etc/tor/torrc (1.2 KiB)". */
      summary: string;
      /** Unified diff or a before/after description, shown with --diff. */
      diff?: string;
      steps: Step[];
      /** Remote paths the steps write, or `everything` (package installs, commands). */
      affects: string[] | 'everything';
      /**
       * Turns the apply's output into the outcome. Without it, exit code 0
       * means changed and anything else means failed.
       */
      interpret?: (result: RunResult) => Outcome;
      /**
       * The task's outcome can only be known after apply (command output,
       * `kubectl apply` saying configured/unchanged). In check mode such a
       * change is reported as "would change" and skipped.
       */
      outputNeeded?: boolean;
      result?: Record<string, unknown>;
      facts?: Record<string, unknown>;
    }
  | { status: 'failed'; message: string };

/** Controller-side view a module gets while preparing or planning. */
export interface ModuleContext {
  host: string;
  check: boolean;
  /** Read a file shipped with the role (`files/`), or relative to the playbook. */
  readFile(relativePath: string, kind: 'files' | 'templates'): Promise<Buffer>;
  /** Render a template file of the role with the host's variables. */
  renderTemplateFile(relativePath: string): Promise<string>;
  /** All variables of the host, for local modules. */
  vars: Record<string, unknown>;
  /** Evaluate an expression in the `when:` language. */
  evaluate(expression: string): boolean;
  /** Controller services of the run; absent in plan-only tests. */
  site?: SiteServices;
}

/** Services the executor offers modules beyond the host's variables. */
export interface SiteServices {
  siteDir: string;
  /** The Tor SocksPort the controller uses. */
  socks: { host: string; port: number };
  /** The site's encrypted onion key store. */
  onionKeys: import('../secrets/store.ts').OnionKeyStore;
  /** Mask this value in every output and log from now on. */
  addSecret(value: string): void;
  /**
   * Open a second SSH connection to the host at this onion address, with
   * the host's pinned key, run `true`, close it, and return the route.
   */
  checkLogin(onion: string): Promise<string>;
}

export interface ModuleDefinition<Args = Record<string, unknown>> {
  name: string;
  /** One sentence for the generated module documentation. */
  description: string;
  schema: JsonSchema;
  /**
   * Argument that a task's free-form string becomes (`command: ls -l` is
   * `{cmd: 'ls -l'}`), for modules that take one.
   */
  freeForm?: string;
  /**
   * False for modules whose apply does not converge on its own (`command`
   * without `creates`/`removes`); the run marks such changes in its output.
   */
  idempotent: boolean | ((args: Args) => boolean);
  /**
   * The probe's output carries file contents that are secret by nature
   * (`slurp` and `fetch` read onion service keys), so it must never be
   * logged, even at -vvv. Other file probes may carry contents too.
   */
  probeOutputSecret?: boolean;
  /** Runs on the controller only (`set_fact`, `debug`, `assert`). */
  local?: (args: Args, context: ModuleContext) => Outcome | Promise<Outcome>;
  /** Controller-side step before probing: read `src`, render templates. */
  prepare?: (args: Args, context: ModuleContext) => Promise<Args>;
  probe?: (args: Args) => Probe;
  plan?: (args: Args, probed: ProbeOutput, context: Pick<ModuleContext, 'host' | 'check'>) => Plan;
  /**
   * Names of the facts the module sets, for the load-time check of
   * undefined variables; `*` matches any text (`tor_onion_address_*`).
   */
  factNames?: string[];
  /** Controller-side step after a successful apply, e.g. storing fetched onion keys. */
  finish?: (args: Args, outcome: Outcome, context: ModuleContext) => Promise<Outcome>;
}
