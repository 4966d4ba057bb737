// The loaded form of a site folder: hosts, groups and their variables.

import type { SourcePosition } from '../errors/index.ts';

/** Variable names on a host entry that set how the host is reached. */
export const CONNECTION_KEYS = ['address', 'onion', 'port', 'user', 'ssh_key', 'direct', 'socks', 'become'] as const;

/** Where each variable's value was written, by variable name. */
export type VariableSources = Record<string, SourcePosition>;

export interface InventoryHost {
  name: string;
  /** Groups the host is in, directly or through `children`, plus `all`. */
  groups: string[];
  /** Variables from the host's entry in hosts.yaml and from host_vars/. */
  vars: Record<string, unknown>;
  /** Position of each of `vars`' values in hosts.yaml or host_vars/. */
  varSources?: VariableSources;
  position: SourcePosition;
}

export interface InventoryGroup {
  name: string;
  /** Direct member hosts. */
  hosts: string[];
  children: string[];
  /** Variables from the group's `vars:` in hosts.yaml and from group_vars/. */
  vars: Record<string, unknown>;
  /** Position of each of `vars`' values in hosts.yaml or group_vars/. */
  varSources?: VariableSources;
  /** Depth below `all`, which orders group variable precedence (parents first). */
  depth: number;
}

export interface SiteSettings {
  /** Tor SOCKS endpoint; default 127.0.0.1:9050. */
  socks: { host: string; port: number };
  trustNewHosts: boolean;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /** Environment variable holding the passphrase of the onion key store. */
  secretsPassphraseEnv: string;
  /** File holding that passphrase, outside the repository. */
  secretsPassphraseFile?: string;
}

export interface Inventory {
  siteDir: string;
  hosts: Map<string, InventoryHost>;
  groups: Map<string, InventoryGroup>;
  settings: SiteSettings;
  /** Variables learned by earlier runs (state/facts.yaml), by host name. */
  learnedFacts?: Map<string, Record<string, unknown>>;
  /** Positions of the learned facts in state/facts.yaml, by host name. */
  learnedFactSources?: Map<string, VariableSources>;
  /** Problems that do not stop a run, e.g. a group_vars file of an unknown group. */
  warnings?: string[];
}
