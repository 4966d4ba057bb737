// What the lab may change on the machine, captured so a test can compare
// the machine before `up` and after `down`.
import fs from 'node:fs';
import path from 'node:path';
import { run } from './run.ts';

export interface MachineSnapshot {
  /** Entries of /run/netns (named network namespaces). */
  netns: string[];
  /** Mount points from /proc/self/mountinfo. */
  mounts: string[];
  /** Directories named onionplay-* in any cgroup hierarchy. */
  labCgroups: string[];
  ipForward: string;
  ipv6Forwarding: string;
  nftRuleset: string;
  routes: string;
  links: string[];
}

function findLabCgroups(dir: string, depth = 0): string[] {
  if (depth > 6) return [];
  const found: string[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const full = path.join(dir, entry.name);
    if (entry.name.startsWith('onionplay-')) found.push(full);
    else found.push(...findLabCgroups(full, depth + 1));
  }
  return found;
}

export async function snapshotMachine(): Promise<MachineSnapshot> {
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .sort();
  const routes4 = (await run(['ip', 'route', 'show', 'table', 'all'])).stdout;
  const routes6 = (await run(['ip', '-6', 'route', 'show', 'table', 'all'])).stdout;
  const links = (await run(['ip', '-o', 'link', 'show'])).stdout
    .trim()
    .split('\n')
    .map((line) => line.split(':')[1]?.trim().split('@')[0] ?? '')
    .sort();
  return {
    netns: fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns').sort() : [],
    mounts,
    labCgroups: findLabCgroups('/sys/fs/cgroup').sort(),
    ipForward: fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(),
    ipv6Forwarding: fs.readFileSync('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8').trim(),
    nftRuleset: (await run(['nft', 'list', 'ruleset'])).stdout,
    routes: `${routes4}${routes6}`,
    links,
  };
}
