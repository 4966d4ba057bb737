// The loaded form of a site folder: hosts, groups and their variables.

import type { SourcePosition } from '../errors/index.ts';

/** Variable names on a host entry that set how the host is reached. */
export const CONNECTION_KEYS = ['address', 'onion', 'port', 'user', 'ssh_key', 'direct', 'socks', 'become'] as const;

export interface InventoryHost {
  name: string;
  /** Groups the host is in, directly or through `children`, plus `all`. */
  groups: string[];
  /** Variables from the host's entry in hosts.yaml and from host_vars/. */
  vars: Record<string, unknown>;
  position: SourcePosition;
}

export interface InventoryGroup {
  name: string;
  /** Direct member hosts. */
  hosts: string[];
  children: string[];
  /** Variables from the group's `vars:` in hosts.yaml and from group_vars/. */
  vars: Record<string, unknown>;
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
}
