// Write docs/MODULES.md from the module schemas: `npm run docs:modules`.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { moduleDocs } from './registry.ts';

const target = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'MODULES.md');
await mkdir(dirname(target), { recursive: true });
await writeFile(target, moduleDocs());
console.log(`wrote ${target}`);
