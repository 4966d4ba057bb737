// The loaded, validated form of playbooks and roles. Argument values are
// still templates; the executor renders them per host.

import type { SourcePosition } from '../errors/index.ts';

/** Where each variable's value was written, by variable name. */
export type VariableSources = Record<string, SourcePosition>;

export interface Task {
  /** Unique within the run, e.g. `play0/role:tor/3`; used in events and handler state. */
  id: string;
  name: string;
  module: string;
  /** Module arguments as written (strings may contain `{{ }}`). */
  args: unknown;
  when: string[];
  register?: string;
  notify: string[];
  loop?: unknown;
  loopVar: string;
  tags: string[];
  changedWhen?: string;
  failedWhen?: string;
  ignoreErrors: boolean;
  noLog: boolean;
  /** `check_mode: false` runs the task for real even in check mode; true always checks. */
  checkMode?: boolean;
  retries: number;
  delayMs: number;
  until?: string;
  become?: boolean;
  runOnce: boolean;
  delegateTo?: string;
  /** Per-task remote time limit in milliseconds. */
  timeoutMs?: number;
  /** Task-level `vars:`. */
  vars: Record<string, unknown>;
  position: SourcePosition;
  /** Role the task comes from, for `templates/` and `files/` look-ups. */
  role?: RoleRef;
  /** Folder that relative `src` paths outside a role resolve against. */
  baseDir: string;
}

export interface Handler extends Task {
  /** Names the handler answers to: its `name` and its `listen` topics. */
  listen: string[];
}

export interface RoleRef {
  name: string;
  dir: string;
}

export interface Role extends RoleRef {
  defaults: Record<string, unknown>;
  /** Position of each default's value in defaults.yaml. */
  defaultSources?: VariableSources;
  /** `description` from meta.yaml. */
  description?: string;
  /** JSON Schema of the role's variables, from meta.yaml. */
  variablesSchema?: Record<string, unknown>;
  dependencies: RoleUse[];
  tasks: Task[];
  handlers: Handler[];
  position: SourcePosition;
}

/** A role as named in a play's `roles:` or in a `dependencies:` list. */
export interface RoleUse {
  name: string;
  /** Role parameters (`vars:` or inline keys in the roles entry). */
  vars: Record<string, unknown>;
  /** Position of each role parameter's value. */
  varSources?: VariableSources;
  tags: string[];
  when: string[];
  position: SourcePosition;
}

export interface Play {
  name: string;
  /** Host pattern, as in Ansible: `all`, `masters:workers`, `a:&b`, `a:!b`, globs. */
  hosts: string;
  vars: Record<string, unknown>;
  /** Position of each play variable's value (play `vars:` and `vars_files:`). */
  varSources?: VariableSources;
  /** Roles in run order, dependencies first, each once. */
  roles: Array<{ role: Role; use: RoleUse }>;
  /** Role tasks first, then the play's own tasks, in order. */
  tasks: Task[];
  /** Handlers of the roles and of the play, in definition order. */
  handlers: Handler[];
  become?: boolean;
  /** Stop the play for all hosts once this fraction of hosts failed; unset means never. */
  serial?: number;
  gatherFacts: boolean;
  position: SourcePosition;
}

export interface Playbook {
  file: string;
  plays: Play[];
  /** Problems that do not stop a run, e.g. a role folder without tasks. */
  warnings?: string[];
}
