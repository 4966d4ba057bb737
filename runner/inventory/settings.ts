// site.yaml: how a site is reached, with the defaults that apply without it.

import path from 'node:path';
import type { YamlDocument } from '../yaml/load.ts';
import type { SiteSettings } from './types.ts';

export const DEFAULT_SETTINGS: SiteSettings = {
  socks: { host: '127.0.0.1', port: 9050 },
  trustNewHosts: false,
  connectTimeoutMs: 120_000,
  commandTimeoutMs: 0,
  secretsPassphraseEnv: 'ONIONPLAY_PASSPHRASE',
};

/** Split `host:port` (IPv6 hosts in brackets). The schema checked the shape. */
export function parseEndpoint(text: string): { host: string; port: number } {
  const index = text.lastIndexOf(':');
  const host = text.slice(0, index).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(text.slice(index + 1)) };
}

/** Settings from a validated site.yaml (or none), with defaults filled in. */
export function parseSettings(doc: YamlDocument | undefined, siteDir: string): SiteSettings {
  const settings: SiteSettings = { ...DEFAULT_SETTINGS, socks: { ...DEFAULT_SETTINGS.socks } };
  const raw = (doc?.value ?? {}) as Record<string, unknown>;

  if (typeof raw.socks === 'string') settings.socks = parseEndpoint(raw.socks);
  if (typeof raw.trust_new_hosts === 'boolean') settings.trustNewHosts = raw.trust_new_hosts;
  if (typeof raw.connect_timeout === 'number') settings.connectTimeoutMs = Math.round(raw.connect_timeout * 1000);
  if (typeof raw.command_timeout === 'number') settings.commandTimeoutMs = Math.round(raw.command_timeout * 1000);
  if (typeof raw.secrets_passphrase_env === 'string') settings.secretsPassphraseEnv = raw.secrets_passphrase_env;
  if (typeof raw.secrets_passphrase_file === 'string') {
    settings.secretsPassphraseFile = path.resolve(siteDir, raw.secrets_passphrase_file);
  }
  return settings;
}
