// Render variables whose values are templates of other variables, as far as
// they render, the way Ansible templates variables lazily on use.

import { OnionplayError } from '../errors/index.ts';
import { renderValue } from './index.ts';

function hasTemplate(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('{{');
  if (Array.isArray(value)) return value.some(hasTemplate);
  if (value !== null && typeof value === 'object') return Object.values(value).some(hasTemplate);
  return false;
}

/**
 * Render every templated variable value with the other variables. Values
 * that refer to undefined names, or to each other in a cycle, are kept as
 * written; `unresolved` lists them.
 */
export function resolveVariables(vars: Record<string, unknown>): { vars: Record<string, unknown>; unresolved: string[] } {
  const resolved: Record<string, unknown> = { ...vars };
  let pending = Object.keys(resolved).filter((name) => hasTemplate(resolved[name]));
  // Each pass resolves at least one variable or stops, so a chain of N
  // references takes at most N passes.
  while (pending.length > 0) {
    const next: string[] = [];
    for (const name of pending) {
      try {
        const value = renderValue(resolved[name], resolved, { file: '', line: 1, column: 1 });
        if (hasTemplate(value)) next.push(name);
        resolved[name] = value;
      } catch (error) {
        if (!(error instanceof OnionplayError)) throw error;
        next.push(name);
      }
    }
    if (next.length === pending.length) break;
    pending = next;
  }
  return { vars: resolved, unresolved: pending };
}

export { hasTemplate };
