// What a module may use from the controller: role files, templates and the
// host's variables.

import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';

import { OnionplayError } from '../errors/index.ts';
import type { ModuleContext } from '../modules/types.ts';
import type { Task } from '../playbook/types.ts';
import { evaluateCondition, renderString } from '../template/index.ts';
import type { RunContext } from './run-context.ts';

async function findFile(task: Task, relativePath: string, kind: 'files' | 'templates'): Promise<{ path: string; content: Buffer }> {
  const candidates: string[] = [];
  if (isAbsolute(relativePath)) candidates.push(relativePath);
  else {
    if (task.role) candidates.push(join(task.role.dir, kind, relativePath));
    candidates.push(join(task.baseDir, kind, relativePath), join(task.baseDir, relativePath));
  }
  for (const path of candidates) {
    try {
      return { path, content: await readFile(path) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new OnionplayError('not_found', `${kind === 'files' ? 'file' : 'template'} ${relativePath} not found`, {
    position: task.position,
    key: 'src',
    value: relativePath,
    allowed: candidates.join(', '),
    fix: `put the file in one of: ${candidates.join(', ')}`,
  });
}

/** Build the context a module's prepare, local and finish steps get for one task on one host. */
export function moduleContext(run: RunContext, host: string, task: Task, vars: Record<string, unknown>): ModuleContext {
  const where = { ...task.position, what: `task "${task.name}"` };
  return {
    host,
    check: run.options.check,
    vars,
    readFile: async (relativePath, kind) => (await findFile(task, relativePath, kind)).content,
    renderTemplateFile: async (relativePath) => {
      const { path, content } = await findFile(task, relativePath, 'templates');
      return renderString(content.toString('utf8'), vars, { file: path, line: 1, column: 1, what: `template ${relativePath}` });
    },
    evaluate: (expression) => evaluateCondition(expression, vars, where),
    site: run.siteServices(host),
  };
}

