// JSON Schema fragments shared by the module argument schemas, so every
// module describes paths, modes and owners the same way.

import type { JsonSchema } from './types.ts';

/** Build the schema of an absolute path on the host, so no step depends on the remote cwd. */
export function remotePath(description: string): JsonSchema {
  return { type: 'string', pattern: '^/', description: `${description} Absolute path on the host.` };
}

export const modeSchema: JsonSchema = {
  type: 'string',
  pattern: '^[0-7]{3,4}$',
  description:
    'Permission bits as a string of 3 or 4 octal digits, e.g. "0644". Quote it in YAML: unquoted 0644 is read as a number.',
};

export const ownerSchema: JsonSchema = {
  type: 'string',
  pattern: '^[^\\s:]+$',
  description: 'User name or numeric uid that owns the path. Unset keeps the current owner.',
};

export const groupSchema: JsonSchema = {
  type: 'string',
  pattern: '^[^\\s:]+$',
  description: 'Group name or numeric gid of the path. Unset keeps the current group.',
};

export const validateSchema: JsonSchema = {
  type: 'string',
  pattern: '%s',
  description:
    'Shell command run on the new content before it replaces the file, with %s standing for the temporary file, e.g. "tor --verify-config -f %s". If it exits non-zero the file is left unchanged and the task fails with its output.',
};
