// The rule for which variables count as secrets when printed.

/** Text printed in place of a secret value. */
export const MASK = '********';

const SECRET_NAME = /pass|secret|token|private|key$/i;

/** Names whose value is a path to a key file rather than key material. */
const KEY_PATH_NAMES = new Set(['ssh_key']);

/**
 * Return whether a variable or key name names a secret: it contains `pass`,
 * `secret`, `token` or `private`, or ends in `key`, case-insensitive.
 * `ssh_key` is a path to a key file and is shown.
 */
export function isSecretName(name: string): boolean {
  return !KEY_PATH_NAMES.has(name) && SECRET_NAME.test(name);
}

/** Copy a value with every secret-named key, at any depth, masked. */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value === null || typeof value !== 'object') return value;
  const masked: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) {
    masked[key] = isSecretName(key) ? MASK : maskSecrets(entry);
  }
  return masked;
}
