// One run per site at a time. The lock file holds the PID of the run that
// owns it; a lock whose PID is no longer alive is taken over.

import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { OnionplayError } from '../errors/index.ts';
import { ensureStateDir } from './files.ts';

/** Lock files this process holds, so a second run in the same process is rejected too. */
const heldHere = new Set<string>();

export interface SiteLock {
  path: string;
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    return Number.isFinite(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Take the site's lock. The lock is created with link(2) from a private
 * file, which either succeeds whole or fails with EEXIST, so two runs can
 * never both believe they hold it.
 */
export async function acquireSiteLock(siteDir: string): Promise<SiteLock> {
  const dir = await ensureStateDir(siteDir);
  const path = join(dir, '.lock');
  if (heldHere.has(path)) {
    throw new OnionplayError('locked', `another onionplay run (PID ${process.pid}) holds the site lock ${path}`, {
      fix: 'wait for the other run in this process to finish',
    });
  }
  const mine = join(dir, `.lock.${process.pid}`);
  await writeFile(mine, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        await link(mine, path);
        heldHere.add(path);
        return {
          path,
          release: async () => {
            heldHere.delete(path);
            if ((await readOwner(path)) === process.pid) await rm(path, { force: true });
          },
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = await readOwner(path);
      if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
        throw new OnionplayError('locked', `another onionplay run (PID ${owner}) holds the site lock ${path}`, {
          fix: `wait for PID ${owner} to finish; if no onionplay run is active, remove ${path}`,
        });
      }
      // The owner is gone: remove its stale lock. A concurrent run may
      // win the race to re-create it, and the next attempt then reads its PID.
      const staleContent = await readFile(path, 'utf8').catch(() => undefined);
      if (staleContent !== undefined && (await readOwner(path)) === owner) await rm(path, { force: true });
    }
    throw new OnionplayError('locked', `could not take the site lock ${path}`, { fix: 'retry the run' });
  } finally {
    await rm(mine, { force: true });
  }
}
