// Build throw-away project folders (playbook, roles, site) for tests.

import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { onionAddressFromPublicKey } from '../../runner/inventory/onion.ts';

/** Write `files` (relative path to content) under a new temporary folder and return it. */
export async function makeProject(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'onionplay-test-'));
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(root, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  return root;
}

/** Return a valid v3 onion address of a random key. */
export function validOnion(): string {
  return onionAddressFromPublicKey(randomBytes(32));
}

/** A minimal valid site: two groups, three hosts. */
export const BASIC_HOSTS = `all:
  vars:
    user: admin
  children:
    masters:
      hosts:
        obelix: {address: 192.0.2.1}
    workers:
      hosts:
        asterix: {address: 192.0.2.2}
        idefix: {address: 192.0.2.3}
`;
