// Per-host cgroups in every hierarchy this machine mounts under
// /sys/fs/cgroup (cgroup v1 controllers, name=systemd and the unified
// cgroup2), created below the cgroup the lab itself runs in so the
// hosts stay inside the machine's own resource accounting.
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from './run.ts';

export interface Hierarchy {
  /** Mount point, such as /sys/fs/cgroup/cpu. */
  mountPoint: string;
  /** Mount options that select the hierarchy: `cpu`, `name=systemd`; empty for cgroup2. */
  options: string[];
  version: 1 | 2;
  /** This process's cgroup path inside the hierarchy. */
  ownPath: string;
}

const V1_CONTROLLERS = new Set(['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'net_cls', 'net_prio', 'perf_event', 'hugetlb', 'rdma', 'misc']);

/** Lists the cgroup hierarchies mounted under /sys/fs/cgroup and this process's place in each. */
export function hierarchies(): Hierarchy[] {
  const ownLines = fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  const ownPaths = new Map<string, string>();
  for (const line of ownLines) {
    const [, controllers = '', cgroupPath = '/'] = line.split(':');
    ownPaths.set(controllers, cgroupPath);
  }
  const result: Hierarchy[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n')) {
    const [left = '', right = ''] = line.split(' - ');
    const mountPoint = left.split(' ')[4] ?? '';
    const [fsType = '', , superOptions = ''] = right.split(' ');
    if (!mountPoint.startsWith('/sys/fs/cgroup/')) continue;
    if (fsType === 'cgroup2') {
      result.push({ mountPoint, options: [], version: 2, ownPath: ownPaths.get('') ?? '/' });
    } else if (fsType === 'cgroup') {
      const options = superOptions.split(',').filter((o) => V1_CONTROLLERS.has(o) || o.startsWith('name='));
      const ownPath = ownPaths.get(options.join(','));
      if (ownPath === undefined) throw new Error(`cgroup hierarchy ${mountPoint} (${options.join(',')}) is missing in /proc/self/cgroup`);
      result.push({ mountPoint, options, version: 1, ownPath });
    }
  }
  // NOTE: a machine with only cgroup2 mounted on /sys/fs/cgroup itself ends here; its layout is not supported yet.
  if (result.length === 0) {
    throw new Error(
      'no cgroup hierarchies are mounted below /sys/fs/cgroup: the lab needs the hybrid layout ' +
        '(cgroup v1 controllers, name=systemd and cgroup2 at /sys/fs/cgroup/unified)',
    );
  }
  return result;
}

/** Creates the cgroup `name` in every hierarchy and returns the directories. */
export function createCgroups(name: string): string[] {
  const dirs: string[] = [];
  for (const hierarchy of hierarchies()) {
    const parent = path.join(hierarchy.mountPoint, hierarchy.ownPath);
    const dir = path.join(parent, name);
    fs.mkdirSync(dir, { recursive: true });
    if (hierarchy.options.includes('cpuset')) {
      // A new cpuset starts with no CPUs and no memory nodes, which rejects every process.
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        fs.writeFileSync(path.join(dir, file), fs.readFileSync(path.join(parent, file), 'utf8').trim());
      }
    }
    dirs.push(dir);
  }
  return dirs;
}

function subdirectories(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => path.join(dir, entry.name));
  } catch {
    return [];
  }
}

function removeTree(dir: string): void {
  for (const child of subdirectories(dir)) removeTree(child);
  fs.rmdirSync(dir);
}

/**
 * Removes the cgroup directories depth first. A cgroup can stay busy for
 * a moment after its last process exits, so this retries for a few seconds.
 */
export async function removeCgroups(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    for (let attempt = 0; ; attempt++) {
      if (!fs.existsSync(dir)) break;
      try {
        removeTree(dir);
        break;
      } catch (error) {
        if (attempt >= 50) throw new Error(`cannot remove cgroup ${dir}: ${(error as Error).message}`);
        await sleep(100);
      }
    }
  }
}
