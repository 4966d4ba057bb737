// Walks js-yaml parser events to map each value's path to its offset in the
// source, and records plain scalars that a YAML 1.1 reader would type
// differently from YAML 1.2.

import { EVENT_ID, SCALAR_STYLE, getScalarValue } from 'js-yaml';
import type { Event } from 'js-yaml';

export type YamlPath = Array<string | number>;

/** A plain scalar that YAML 1.1 (and so Ansible) reads differently from 1.2. */
export interface YamlHabit {
  kind: 'octal' | 'boolean';
  /** The scalar as written, e.g. `0644` or `yes`. */
  source: string;
}

export interface PositionTable {
  /** Offset of each value, keyed by `pathKey(path)`. */
  values: Map<string, number>;
  /** Offset of each mapping key, keyed by the path of its value. */
  keys: Map<string, number>;
  habits: Map<string, YamlHabit>;
}

export function pathKey(path: YamlPath): string {
  return path.map(String).join('\u0000');
}

const OCTAL_HABIT = /^0[0-7]+$|^[0-7]{3,4}$/;
const BOOLEAN_HABIT = /^(?:yes|no|on|off|y|n)$/i;

interface Frame {
  kind: 'mapping' | 'sequence';
  path: YamlPath;
  /** Next sequence index. */
  index: number;
  /** Key read and waiting for its value; undefined while a key is expected. */
  key: string | number | undefined;
  /** Set while reading the value of a `<<` merge key. */
  merging: boolean;
  /** Paths whose positions merge into this mapping when it ends. */
  mergeSources: YamlPath[];
  /** For the walk of an inline `<<` value: the mapping it merges into. */
  mergeInto?: Frame;
}

const MERGE_SEGMENT = '\u0001merge';

/** Record positions and YAML 1.1 habits of the first document's values. */
export function buildPositionTable(source: string, events: Event[]): PositionTable {
  const table: PositionTable = { values: new Map(), keys: new Map(), habits: new Map() };
  const stack: Frame[] = [];
  const anchors = new Map<string, YamlPath>();
  let skipDepth = 0;
  let documents = 0;

  // Event anchor ranges exclude the `&` or `*` sigil.
  const anchorName = (start: number, end: number): string => source.slice(start, end);

  const pushFrame = (kind: Frame['kind'], path: YamlPath, mergeInto?: Frame): void => {
    const frame: Frame = { kind, path, index: 0, key: undefined, merging: false, mergeSources: [] };
    if (mergeInto !== undefined) frame.mergeInto = mergeInto;
    stack.push(frame);
  };

  const popFrame = (): void => {
    const frame = stack.pop();
    if (frame === undefined) return;
    if (frame.mergeInto !== undefined) {
      // An inline merge value: a mapping merges itself, a sequence merges
      // each of its items in order, earlier items winning.
      if (frame.kind === 'mapping') frame.mergeInto.mergeSources.push(frame.path);
      else for (let i = 0; i < frame.index; i += 1) frame.mergeInto.mergeSources.push([...frame.path, i]);
    }
    // Explicit keys win over merged ones wherever they appear in the mapping.
    for (const from of frame.mergeSources) copyPositions(table, from, frame.path, true);
  };

  for (const event of events) {
    if (event.type === EVENT_ID.DOCUMENT) {
      documents += 1;
      if (documents > 1) break;
      continue;
    }
    if (skipDepth > 0) {
      if (event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE) skipDepth += 1;
      if (event.type === EVENT_ID.POP) skipDepth -= 1;
      continue;
    }
    if (event.type === EVENT_ID.POP) {
      popFrame();
      continue;
    }

    const parent = stack[stack.length - 1];
    let path: YamlPath = [];
    let mergeInto: Frame | undefined;

    if (parent?.kind === 'sequence') {
      path = [...parent.path, parent.index];
      parent.index += 1;
    } else if (parent?.kind === 'mapping' && parent.key === undefined) {
      readKey(table, source, event, parent);
      if (event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE) skipDepth = 1;
      continue;
    } else if (parent?.kind === 'mapping') {
      if (parent.merging) {
        parent.merging = false;
        mergeInto = parent;
        path = [...parent.path, MERGE_SEGMENT];
      } else {
        path = [...parent.path, parent.key as string];
      }
      parent.key = undefined;
    }

    switch (event.type) {
      case EVENT_ID.SCALAR: {
        const quoted = event.style === SCALAR_STYLE.SINGLE_QUOTED || event.style === SCALAR_STYLE.DOUBLE_QUOTED;
        table.values.set(pathKey(path), quoted ? Math.max(0, event.valueStart - 1) : event.valueStart);
        if (event.anchorStart >= 0) anchors.set(anchorName(event.anchorStart, event.anchorEnd), path);
        if (event.style === SCALAR_STYLE.PLAIN && event.tagStart < 0) recordHabit(table, path, getScalarValue(source, event));
        break;
      }
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        table.values.set(pathKey(path), event.anchorStart >= 0 ? event.anchorStart - 1 : event.start);
        if (event.anchorStart >= 0) anchors.set(anchorName(event.anchorStart, event.anchorEnd), path);
        pushFrame(event.type === EVENT_ID.MAPPING ? 'mapping' : 'sequence', path, mergeInto);
        break;
      }
      case EVENT_ID.ALIAS: {
        table.values.set(pathKey(path), Math.max(0, event.anchorStart - 1));
        const anchored = anchors.get(anchorName(event.anchorStart, event.anchorEnd));
        if (anchored === undefined) break;
        if (mergeInto !== undefined) mergeInto.mergeSources.push(anchored);
        else copyPositions(table, anchored, path, false);
        break;
      }
    }
  }
  return table;
}

// Read a mapping key. A complex (non-scalar) key files its value under '?'.
function readKey(table: PositionTable, source: string, event: Event, parent: Frame): void {
  if (event.type !== EVENT_ID.SCALAR) {
    parent.key = '?';
    return;
  }
  const text = getScalarValue(source, event);
  parent.key = text;
  parent.merging = event.style === SCALAR_STYLE.PLAIN && text === '<<';
  if (!parent.merging) table.keys.set(pathKey([...parent.path, text]), event.valueStart);
}

function recordHabit(table: PositionTable, path: YamlPath, text: string): void {
  if (OCTAL_HABIT.test(text)) table.habits.set(pathKey(path), { kind: 'octal', source: text });
  else if (BOOLEAN_HABIT.test(text)) table.habits.set(pathKey(path), { kind: 'boolean', source: text });
}

// Copy the positions recorded under `from` to the same relative paths under
// `to`. With `onlyMissing`, existing entries (explicit keys) are kept and the
// entry of `from` itself is not copied.
function copyPositions(table: PositionTable, from: YamlPath, to: YamlPath, onlyMissing: boolean): void {
  if (from.length === 0) return;
  const prefix = pathKey(from);
  const target = pathKey(to);
  const moveKey = (key: string): string | undefined => {
    if (key === prefix) return onlyMissing ? undefined : target;
    if (!key.startsWith(`${prefix}\u0000`)) return undefined;
    const rest = key.slice(prefix.length);
    return target === '' ? rest.slice(1) : `${target}${rest}`;
  };
  const copyMap = <T>(map: Map<string, T>): void => {
    const additions: Array<[string, T]> = [];
    for (const [key, entry] of map) {
      const moved = moveKey(key);
      if (moved === undefined) continue;
      if (onlyMissing && map.has(moved)) continue;
      additions.push([moved, entry]);
    }
    for (const [key, entry] of additions) map.set(key, entry);
  };
  copyMap(table.values);
  copyMap(table.keys);
  copyMap(table.habits);
}
