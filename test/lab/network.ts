// The lab bridge in the root namespace and one network namespace with a
// veth pair per host. Hosts get an address on the bridge subnet and no
// default route, so their traffic never leaves the bridge.
import fs from 'node:fs';
import { BRIDGE, PREFIX_LENGTH } from './config.ts';
import { run } from './run.ts';

async function linkExists(name: string, netns?: string): Promise<boolean> {
  const argv = netns ? ['ip', '-n', netns, 'link', 'show', name] : ['ip', 'link', 'show', name];
  return (await run(argv, { allowFailure: true })).code === 0;
}

export function netnsExists(name: string): boolean {
  return fs.existsSync(`/run/netns/${name}`);
}

/** Creates the bridge if needed and gives it every address in `addresses`. */
export async function ensureBridge(addresses: string[]): Promise<void> {
  if (!(await linkExists(BRIDGE))) {
    await run(['ip', 'link', 'add', BRIDGE, 'type', 'bridge', 'stp_state', '0']);
    // No IPv6 link-local address, so the bridge adds no IPv6 routes.
    await run(['ip', 'link', 'set', BRIDGE, 'addrgenmode', 'none']);
  }
  const shown = (await run(['ip', '-o', '-4', 'addr', 'show', 'dev', BRIDGE])).stdout;
  for (const address of addresses) {
    if (!shown.includes(` ${address}/`)) {
      await run(['ip', 'addr', 'add', `${address}/${PREFIX_LENGTH}`, 'dev', BRIDGE]);
    }
  }
  await run(['ip', 'link', 'set', BRIDGE, 'up']);
}

export async function deleteBridge(): Promise<void> {
  if (await linkExists(BRIDGE)) await run(['ip', 'link', 'del', BRIDGE]);
}

/** Creates (or recreates) the host's namespace with eth0 = address and lo up. */
export async function createHostNetwork(netns: string, veth: string, address: string): Promise<void> {
  await deleteHostNetwork(netns, veth);
  await run(['ip', 'netns', 'add', netns]);
  await run(['ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  await run(['ip', 'link', 'set', veth, 'addrgenmode', 'none']);
  await run(['ip', 'link', 'set', veth, 'master', BRIDGE, 'up']);
  await run(['ip', '-n', netns, 'addr', 'add', `${address}/${PREFIX_LENGTH}`, 'dev', 'eth0']);
  await run(['ip', '-n', netns, 'link', 'set', 'eth0', 'up']);
  await run(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
}

export async function deleteHostNetwork(netns: string, veth: string): Promise<void> {
  if (await linkExists(veth)) await run(['ip', 'link', 'del', veth]);
  if (netnsExists(netns)) await run(['ip', 'netns', 'del', netns]);
}

/** True when /run/netns is a mount point (`ip netns add` makes it one). */
export function netnsDirMounted(): boolean {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === '/run/netns');
}

/** Unmounts /run/netns when it holds no namespace any more. */
export async function unmountNetnsDir(): Promise<void> {
  if (!netnsDirMounted()) return;
  if (fs.readdirSync('/run/netns').length > 0) return;
  await run(['umount', '/run/netns'], { allowFailure: true });
  // ip mounts /run/netns twice over itself (a bind, then a shared remount), so one more may be left.
  if (netnsDirMounted()) await run(['umount', '/run/netns'], { allowFailure: true });
}
