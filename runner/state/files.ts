// Writes into the site folder's state/ directory: whole files only, with
// restrictive modes, so an interrupted run leaves the old file or the new.

import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { dump, load } from 'js-yaml';

export function stateDir(siteDir: string): string {
  return join(siteDir, 'state');
}

export async function ensureStateDir(siteDir: string): Promise<string> {
  const dir = stateDir(siteDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Write a file by writing a temporary file beside it, syncing it and renaming it over the target. */
export async function writeFileAtomic(path: string, content: string | Buffer, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const handle = await open(temporary, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export async function readYamlState<T>(path: string, fallback: T): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw error;
  }
  const value = load(text);
  return (value ?? fallback) as T;
}

export async function writeYamlState(path: string, header: string, value: unknown): Promise<void> {
  const body = dump(value, { sortKeys: true, lineWidth: 100 });
  await writeFileAtomic(path, `# ${header}\n${body}`);
}
