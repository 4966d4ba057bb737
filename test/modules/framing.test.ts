// Runs several modules' probes as one framed script and their steps as one
// framed apply, built by the executor's own functions. A module that exits
// the outer shell, prints beyond its answer or relies on the cwd fails here.

import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import test from 'ava';

import { buildApplyScript, buildProbeScript } from '../../runner/executor/script.ts';
import { copyModule } from '../../runner/modules/copy.ts';
import { fileModule } from '../../runner/modules/file.ts';
import { lineInFileModule } from '../../runner/modules/lineinfile.ts';
import { statModule } from '../../runner/modules/stat.ts';
import type { ModuleDefinition, Plan } from '../../runner/modules/types.ts';
import { connectLocal, makeTempDir } from './helpers.ts';

interface Task {
  key: string;
  module: ModuleDefinition;
  args: Record<string, unknown>;
}

test('modules run inside executor framing', async (t) => {
  const connection = await connectLocal();
  t.teardown(() => connection.close());
  const dir = await makeTempDir();
  t.teardown(dir.remove);
  const conf = join(dir.path, 'etc', 'app.conf');
  const sshd = join(dir.path, 'sshd_config');
  await writeFile(sshd, 'PermitRootLogin yes\n');

  const tasks: Task[] = [
    { key: 'dir', module: fileModule, args: { path: join(dir.path, 'etc'), state: 'directory', mode: '0750' } },
    { key: 'copy', module: copyModule, args: { dest: conf, contentBase64: Buffer.from('a = 1\n').toString('base64'), content: 'a = 1\n' } },
    { key: 'line', module: lineInFileModule, args: { path: sshd, regexp: '^PermitRootLogin', line: 'PermitRootLogin no' } },
    { key: 'stat', module: statModule, args: { path: sshd } },
  ];

  async function probeAll(): Promise<Map<string, Plan>> {
    const framed = buildProbeScript(tasks.map((task) => ({ key: task.key, script: task.module.probe?.(task.args).script ?? ':' })));
    const result = await connection.run(framed.script);
    const answers = framed.parse(result.stdout);
    const plans = new Map<string, Plan>();
    for (const task of tasks) {
      const answer = answers.get(task.key);
      if (!answer) throw new Error(`no answer for ${task.key}`);
      plans.set(task.key, task.module.plan?.(task.args, answer, { host: 'local', check: false }) ?? { status: 'failed', message: 'no plan' });
    }
    return plans;
  }

  // The copy's directory does not exist at the first probe, so that probe
  // is planned again after the apply, as the executor does for `affects`.
  const first = await probeAll();
  t.is(first.get('dir')?.status, 'change');
  t.is(first.get('copy')?.status, 'failed');
  t.is(first.get('line')?.status, 'change');
  t.is(first.get('stat')?.status, 'ok');

  const changes = tasks.filter((task) => first.get(task.key)?.status === 'change');
  const journal = join(dir.path, 'journal');
  const apply = buildApplyScript(
    changes.map((task) => {
      const plan = first.get(task.key) as Extract<Plan, { status: 'change' }>;
      return { key: task.key, script: plan.steps.map((step) => step.script).join('\n'), continueOnError: false };
    }),
    journal,
  );
  const applied = apply.parse((await connection.run(apply.script)).stdout);
  for (const task of changes) t.is(applied.get(task.key)?.exitCode, 0, `${task.key}: ${applied.get(task.key)?.stderr}`);

  const second = await probeAll();
  t.is(second.get('dir')?.status, 'ok');
  t.is(second.get('copy')?.status, 'change');
  t.is(second.get('line')?.status, 'ok');

  const copyPlan = second.get('copy') as Extract<Plan, { status: 'change' }>;
  const copyApply = buildApplyScript([{ key: 'copy', script: copyPlan.steps.map((step) => step.script).join('\n'), continueOnError: false }], journal);
  t.is(copyApply.parse((await connection.run(copyApply.script)).stdout).get('copy')?.exitCode, 0);

  const third = await probeAll();
  for (const task of tasks) t.is(third.get(task.key)?.status, 'ok', task.key);
  t.is(await readFile(conf, 'utf8'), 'a = 1\n');
  t.is(await readFile(sshd, 'utf8'), 'PermitRootLogin no\n');
  t.deepEqual((await readdir(dir.path)).sort(), ['etc', 'journal', 'sshd_config']);
});
