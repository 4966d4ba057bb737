// --tags and --skip-tags, with Ansible's special tags: `always` runs unless
// skipped by name, `never` runs only when asked for by one of its tags,
// `tagged` and `untagged` match tasks with and without tags, `all` is every
// task but `never` ones.

import type { Task } from './types.ts';

function overlaps(a: string[], b: Set<string>): boolean {
  return a.some((tag) => b.has(tag));
}

/** Return whether a task runs with the given --tags and --skip-tags. */
export function taskSelected(task: Task, tags: string[] = [], skipTags: string[] = []): boolean {
  const wanted = new Set(tags);
  const skipped = new Set(skipTags);
  const own = task.tags;

  if (overlaps(own, skipped)) return false;
  if (skipped.has('tagged') && own.length > 0) return false;
  if (skipped.has('untagged') && own.length === 0) return false;

  const explicitlyWanted = own.filter((tag) => tag !== 'never').some((tag) => wanted.has(tag)) || (own.includes('never') && wanted.has('never'));
  if (own.includes('never')) return explicitlyWanted;
  if (wanted.size === 0 || wanted.has('all')) return true;
  if (own.includes('always')) return true;
  if (wanted.has('tagged') && own.length > 0) return true;
  if (wanted.has('untagged') && own.length === 0) return true;
  return explicitlyWanted;
}

/** Select the tasks that run with the given --tags and --skip-tags, in order. */
export function selectTasksByTags(tasks: Task[], tags: string[] = [], skipTags: string[] = []): Task[] {
  return tasks.filter((task) => taskSelected(task, tags, skipTags));
}
