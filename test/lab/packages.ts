// Installs the Debian packages the lab needs on the controller machine.
import { log, run } from './run.ts';

/** Debian packages the lab runs on the controller, with what each provides. */
export const REQUIRED_PACKAGES: Record<string, string> = {
  tor: 'tor and tor-gencert for the private Tor network',
  debootstrap: 'building the lab hosts root filesystem',
  'openssh-server': 'sshd configuration and host key tools',
  'openssh-client': 'ssh and ssh-keygen',
  socat: 'the apt forwarder on the bridge and the ssh ProxyCommand',
  iproute2: 'bridge, veth and network namespaces',
  nftables: 'checking that the root namespace ruleset stays unchanged',
  'util-linux': 'unshare and nsenter',
};

async function isInstalled(name: string): Promise<boolean> {
  const result = await run(['dpkg-query', '-W', '-f=${Status}', name], { allowFailure: true });
  return result.code === 0 && result.stdout.includes('install ok installed');
}

/** Installs whichever REQUIRED_PACKAGES are missing, saying which and why first. */
export async function ensurePackages(): Promise<void> {
  const missing: string[] = [];
  for (const name of Object.keys(REQUIRED_PACKAGES)) {
    if (!(await isInstalled(name))) missing.push(name);
  }
  if (missing.length === 0) return;
  log('installing missing Debian packages:');
  for (const name of missing) log(`  ${name}: ${REQUIRED_PACKAGES[name]}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const lockTimeout = ['-o', 'DPkg::Lock::Timeout=300'];
  await run(['apt-get', ...lockTimeout, 'update'], { env, inheritOutput: true });
  await run(['apt-get', ...lockTimeout, 'install', '-y', '--no-install-recommends', ...missing], {
    env,
    inheritOutput: true,
  });
}
