// Variables of a play before it runs, with the position where each
// value was set, and the check of each role's `variables` schema.

import { OnionplayError } from '../errors/index.ts';
import type { SourcePosition } from '../errors/index.ts';
import type { Inventory } from '../inventory/types.ts';
import { inventoryVariableSources, inventoryVariables, magicVariables, mergeVariables } from '../inventory/vars.ts';
import { originOf } from '../inventory/load.ts';
import { validateValue } from '../schema/validate.ts';
import { resolveVariables } from '../template/resolve.ts';
import type { YamlDocument, YamlPath } from '../yaml/load.ts';
import type { Play, Playbook, Role, RoleUse, VariableSources } from './types.ts';

/** Variables with the position of each value. */
export interface SourcedVariables {
  vars: Record<string, unknown>;
  sources: VariableSources;
}

/** The position reported for `-e` values that have no file of their own. */
export const EXTRA_VARS_POSITION: SourcePosition = { file: '<command line -e>', line: 1, column: 1 };

/** Extra vars with the position each was set at: its -e file, or the command line. */
export function sourcedExtraVars(extraVars: Record<string, unknown>, extraSources: VariableSources): SourcedVariables {
  return {
    vars: extraVars,
    sources: Object.fromEntries(Object.keys(extraVars).map((name) => [name, extraSources[name] ?? EXTRA_VARS_POSITION])),
  };
}

function merge(layers: SourcedVariables[]): SourcedVariables {
  return {
    vars: mergeVariables(layers.map((layer) => layer.vars)),
    sources: mergeVariables(layers.map((layer) => layer.sources)) as VariableSources,
  };
}

/**
 * Variables of a host in a play before any task runs, lowest precedence
 * first: magic variables, role defaults (other roles' in play order, then
 * the role's own), inventory, play vars, role parameters, extra vars.
 * Registered results and set_fact come later, at run time.
 */
export function playVariables(
  play: Play,
  inventory: Inventory,
  host: string,
  extra: SourcedVariables,
  forRole?: { role: Role; use: RoleUse },
): SourcedVariables {
  const defaults = play.roles
    .filter(({ role }) => role.name !== forRole?.role.name)
    .map(({ role }) => ({ vars: role.defaults, sources: role.defaultSources ?? {} }));
  if (forRole !== undefined) defaults.push({ vars: forRole.role.defaults, sources: forRole.role.defaultSources ?? {} });
  const layers: SourcedVariables[] = [
    { vars: magicVariables(inventory, host), sources: {} },
    ...defaults,
    { vars: inventoryVariables(inventory, host), sources: inventoryVariableSources(inventory, host) },
    { vars: play.vars, sources: play.varSources ?? {} },
  ];
  if (forRole !== undefined) layers.push({ vars: forRole.use.vars, sources: forRole.use.varSources ?? {} });
  layers.push(extra);
  return merge(layers);
}

/**
 * Build a stand-in YAML document over variables from several files, so
 * schema errors point at the file and line where a value was set. Paths
 * inside a variable resolve in the variable's own document when known.
 */
export function variablesDocument(sources: VariableSources, fallback: SourcePosition): YamlDocument {
  const locate = (path: YamlPath) => {
    const first = path[0];
    const position = typeof first === 'string' ? sources[first] : undefined;
    const origin = originOf(position);
    return { position, origin, inner: origin ? [...origin.path, ...path.slice(1)] : [] };
  };
  return {
    file: fallback.file,
    value: null,
    positionOf(path) {
      const { position, origin, inner } = locate(path);
      return origin ? origin.doc.positionOf(inner) : (position ?? fallback);
    },
    keyPositionOf(path) {
      const { position, origin, inner } = locate(path);
      return origin ? origin.doc.keyPositionOf(inner) : (position ?? fallback);
    },
    habitAt(path) {
      const { origin, inner } = locate(path);
      return origin?.doc.habitAt(inner);
    },
  };
}

/** Report each distinct problem once, naming the first host it was found on. */
export function addOnce(errors: OnionplayError[], seen: Set<string>, error: OnionplayError, host: string): void {
  const position = error.details.position;
  const id = `${position?.file}:${position?.line}:${position?.column}|${error.message}`;
  if (seen.has(id)) return;
  seen.add(id);
  errors.push(new OnionplayError(error.code, `${error.message} (host ${host})`, error.details));
}

/**
 * Check each role's `variables` schema for every play and selected host,
 * with templated values rendered where they render. `hosts[i]` lists the
 * hosts selected for `playbook.plays[i]`. Returns the problems; an empty
 * list means every role accepts its variables.
 */
export function validateRoleVariables(
  playbook: Playbook,
  inventory: Inventory,
  hosts: string[][],
  extraVars: Record<string, unknown>,
  extraSources: VariableSources = {},
): OnionplayError[] {
  const errors: OnionplayError[] = [];
  const seen = new Set<string>();
  const extra = sourcedExtraVars(extraVars, extraSources);

  playbook.plays.forEach((play, index) => {
    for (const host of hosts[index] ?? []) {
      for (const entry of play.roles) {
        const schema = entry.role.variablesSchema;
        if (schema === undefined) continue;
        const { vars, sources } = playVariables(play, inventory, host, extra, entry);
        const resolved = resolveVariables(vars).vars;
        const subject = pickDeclared(schema, resolved);
        const doc = variablesDocument(sources, entry.use.position);
        const problems = validateValue(subject, schema, { doc, path: [] }, { skipTemplated: true });
        for (const problem of problems) {
          const reworded = new OnionplayError(problem.code, `role "${entry.role.name}": ${problem.message}`, {
            ...problem.details,
            fix: problem.code === 'missing_key'
              ? `set ${problem.details.key} in defaults.yaml of the role, the inventory, the play's vars or the roles: entry`
              : (problem.details.fix ?? 'change the value'),
          });
          addOnce(errors, seen, reworded, host);
        }
      }
    }
  });
  return errors;
}

// Pick the variables that a role's schema declares: its properties and
// required names. The schema does not constrain the play's other variables.
function pickDeclared(schema: Record<string, unknown>, vars: Record<string, unknown>): Record<string, unknown> {
  const names = new Set<string>([
    ...Object.keys((schema.properties ?? {}) as Record<string, unknown>),
    ...((Array.isArray(schema.required) ? schema.required : []) as string[]),
  ]);
  const subject: Record<string, unknown> = {};
  for (const name of names) if (Object.hasOwn(vars, name)) subject[name] = vars[name];
  return subject;
}

/**
 * Variables of one task on one host, completing the order of
 * `playVariables`: play variables (up to role parameters) < task vars <
 * registered results and set_fact < extra vars, which always win.
 */
export function taskVariables(layers: {
  play: Record<string, unknown>;
  taskVars: Record<string, unknown>;
  registered: Record<string, unknown>;
  extraVars: Record<string, unknown>;
}): Record<string, unknown> {
  return mergeVariables([layers.play, layers.taskVars, layers.registered, layers.extraVars]);
}
