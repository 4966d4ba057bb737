// Typed module definitions stored under the registry's untyped signature.

import type { ModuleDefinition } from './types.ts';

/**
 * Check a module against its own argument type, then erase that type for
 * the registry. The executor validates arguments with the module's schema
 * before any call, which is what makes the erasure safe.
 */
export function defineModule<Args>(definition: ModuleDefinition<Args>): ModuleDefinition {
  return definition as unknown as ModuleDefinition;
}
