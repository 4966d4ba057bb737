// Resolves how one host is reached from its merged inventory variables and
// the site settings.

import os from 'node:os';
import path from 'node:path';

import { OnionplayError } from '../errors/index.ts';
import { checkOnionAddress } from '../inventory/onion.ts';
import type { SiteSettings } from '../inventory/types.ts';
import type { HostTarget } from './types.ts';

function invalid(hostName: string, key: string, value: unknown, allowed: string, fix?: string): OnionplayError {
  return new OnionplayError('invalid_value', `host ${hostName} has an invalid ${key}: ${JSON.stringify(value)}`, {
    key,
    value: JSON.stringify(value),
    allowed,
    fix,
  });
}

function optionalString(hostName: string, vars: Record<string, unknown>, key: string): string | undefined {
  const value = vars[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw invalid(hostName, key, value, 'a non-empty string');
  return value.trim();
}

function parsePort(hostName: string, key: string, value: unknown): number {
  const port = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid(hostName, key, value, 'a port number from 1 to 65535');
  }
  return port;
}

/** Parse `host:port` or `[ipv6]:port`. */
export function parseSocksEndpoint(hostName: string, value: unknown): { host: string; port: number } {
  const allowed = 'host:port of a Tor SocksPort, e.g. 127.0.0.1:9050';
  if (typeof value !== 'string') throw invalid(hostName, 'socks', value, allowed);
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s]+)):(\d+)$/.exec(value.trim());
  if (!match) throw invalid(hostName, 'socks', value, allowed);
  const host = match[1] ?? match[2] ?? '';
  return { host, port: parsePort(hostName, 'socks', match[3]) };
}

function resolveKeyPath(value: string, siteDir: string): string {
  if (value === '~') return os.homedir();
  if (value.startsWith('~/')) return path.join(os.homedir(), value.slice(2));
  return path.resolve(siteDir, value);
}

/**
 * Build a host's connection target from its merged variables: `onion`,
 * `address`, `port` (default 22), `user` (default root), `ssh_key`,
 * `direct` and `socks`. A relative `ssh_key` is relative to the site
 * folder, and `~/` means the home directory. `socks` is `host:port` and
 * overrides the site's Tor SOCKS endpoint.
 */
export function resolveTarget(hostName: string, vars: Record<string, unknown>, settings: SiteSettings, siteDir: string): HostTarget {
  const address = optionalString(hostName, vars, 'address');
  const onionValue = optionalString(hostName, vars, 'onion');
  if (onionValue !== undefined) {
    const problem = checkOnionAddress(onionValue);
    if (problem !== undefined) {
      throw invalid(hostName, 'onion', onionValue, `a v3 onion address (${problem.message})`, problem.fix);
    }
  }
  const onion = onionValue;
  if (onion === undefined && address === undefined) {
    throw new OnionplayError('missing_key', `host ${hostName} has neither an onion nor an address, so it cannot be reached`, {
      key: 'address',
      fix: `set onion (its SSH onion address) or address (for first contact through a Tor exit) for ${hostName} in hosts.yaml or host_vars/${hostName}.yaml`,
    });
  }

  const port = vars.port === undefined || vars.port === null ? 22 : parsePort(hostName, 'port', vars.port);
  const user = optionalString(hostName, vars, 'user') ?? 'root';
  const sshKeyValue = optionalString(hostName, vars, 'ssh_key');

  const directValue = vars.direct ?? false;
  if (typeof directValue !== 'boolean') throw invalid(hostName, 'direct', directValue, 'true or false');

  const socks = vars.socks === undefined || vars.socks === null ? { ...settings.socks } : parseSocksEndpoint(hostName, vars.socks);

  return {
    name: hostName,
    ...(onion !== undefined ? { onion } : {}),
    ...(address !== undefined ? { address } : {}),
    port,
    user,
    ...(sshKeyValue !== undefined ? { sshKey: resolveKeyPath(sshKeyValue, siteDir) } : {}),
    direct: directValue,
    socks,
    connectTimeoutMs: settings.connectTimeoutMs,
    commandTimeoutMs: settings.commandTimeoutMs,
  };
}
