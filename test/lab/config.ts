// Fixed names, addresses, ports and paths of the lab. The ports sit in
// the 19050-19199 range so they rarely collide with other services;
// docs/LAB.md lists them for users.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const REPO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SITE_DIR = path.join(REPO_DIR, 'inventory', 'lab');

/** Runtime state: PIDs, cgroups and hosts of the running lab. */
export const STATE_DIR = '/run/onionplay-lab';
export const STATE_FILE = path.join(STATE_DIR, 'state.json');
/** Persistent data: the lab SSH key, the Tor network's keys, host overlays. */
export const DATA_DIR = '/var/lib/onionplay-lab';
export const SSH_KEY = path.join(DATA_DIR, 'ssh', 'id_ed25519');
export const TOR_DIR = path.join(DATA_DIR, 'tor');
export const HOSTS_DIR = path.join(DATA_DIR, 'hosts');
/** Cached root filesystems, one per recipe hash. */
export const CACHE_DIR = process.env.ONIONPLAY_LAB_CACHE ?? '/var/cache/onionplay-lab';

export const BRIDGE = 'opbr0';
export const SUBNET_PREFIX = '10.200.0.';
export const PREFIX_LENGTH = 24;
export const LAB_NET = `${SUBNET_PREFIX}0/${PREFIX_LENGTH}`;
export const BRIDGE_IP = `${SUBNET_PREFIX}1`;
/** Address N of the bridge for the apt forwarder of mirror number N (0-based). */
export function forwarderAddress(index: number): string {
  return `${SUBNET_PREFIX}${1 + index}`;
}
/** The bridge can hold up to this many forwarder addresses (10.200.0.1-9). */
export const MAX_FORWARDERS = 9;

export const CLIENT_SOCKS_PORT = 19050;
export const CLIENT_CONTROL_PORT = 19051;
/** HTTP server on the bridge that the test onion service and the exit check reach. */
export const PROBE_HTTP_PORT = 19080;
export const PROBE_HTTP_BODY = 'onionplay-lab probe ok\n';
/** Tor relay number i (0-based) uses ORPort 19100+i, DirPort 19110+i, ControlPort 19120+i. */
export const OR_PORT_BASE = 19100;
export const DIR_PORT_BASE = 19110;
export const CONTROL_PORT_BASE = 19120;
export const ONION_CONTROL_PORT = 19130;

export const DEFAULT_HOST_COUNT = 3;
export const MAX_HOST_COUNT = 20;
const FIXED_NAMES = ['obelix', 'ciclope', 'grendel'];

export interface HostSpec {
  name: string;
  index: number; // 1-based
  address: string;
  group: 'masters' | 'workers';
}

/** Lists the lab hosts: obelix is the master, every other host a worker. */
export function hostSpecs(count: number): HostSpec[] {
  const specs: HostSpec[] = [];
  for (let index = 1; index <= count; index++) {
    const name = FIXED_NAMES[index - 1] ?? `host${index}`;
    specs.push({
      name,
      index,
      address: `${SUBNET_PREFIX}${10 + index}`,
      group: index === 1 ? 'masters' : 'workers',
    });
  }
  return specs;
}

export function netnsName(host: string): string {
  return `onionplay-${host}`;
}

/** Root-side end of a host's veth pair; interface names are at most 15 bytes. */
export function vethName(index: number): string {
  return `opveth${index}`;
}

export function cgroupName(host: string): string {
  return `onionplay-${host}`;
}
