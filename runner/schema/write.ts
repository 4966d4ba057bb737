// Write the editor schemas to schemas/ (npm run schemas). Point
// yaml-language-server at them, e.g. `# yaml-language-server: $schema=../schemas/playbook.schema.json`.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { editorSchemas } from './editor.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const target = path.join(root, 'schemas');
await mkdir(target, { recursive: true });
for (const [name, schema] of Object.entries(editorSchemas())) {
  await writeFile(path.join(target, name), `${JSON.stringify(schema, null, 2)}\n`);
  process.stdout.write(`wrote schemas/${name}\n`);
}
