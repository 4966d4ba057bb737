// Checks across every plan table: an ok plan always carries a specific
// reason, a change always has a summary, and reads of secrets never
// put the content into any message.

import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

import test from 'ava';

import { renderModule } from '../../runner/modules/docs.ts';
import { coreModuleNames, getModule } from '../../runner/modules/registry.ts';
import { planRow, type PlanRow } from './table.ts';
import { commandRows } from './tables/command.ts';
import { copyRows } from './tables/copy.ts';
import { fileRows } from './tables/file.ts';
import { blockInFileRows, lineInFileRows } from './tables/lineinfile.ts';
import { readRows } from './tables/read.ts';
import { aptRepositoryRows, aptRows, modprobeRows, sysctlRows, systemdRows } from './tables/system.ts';

const allRows: PlanRow[] = [
  ...copyRows,
  ...fileRows,
  ...lineInFileRows,
  ...blockInFileRows,
  ...commandRows,
  ...readRows,
  ...aptRows,
  ...aptRepositoryRows,
  ...systemdRows,
  ...sysctlRows,
  ...modprobeRows,
];

test('every ok plan has a reason', (t) => {
  let okRows = 0;
  for (const row of allRows) {
    const plan = planRow(row);
    if (plan.status !== 'ok') continue;
    okRows += 1;
    t.true(plan.reason.trim().length > 10, `${row.name}: reason ${JSON.stringify(plan.reason)}`);
    t.is(row.expect.reason, plan.reason, `${row.name}: the table pins the exact reason`);
  }
  t.true(okRows >= 50, `only ${okRows} ok rows`);
});

test('every change has summary and steps', (t) => {
  for (const row of allRows) {
    const plan = planRow(row);
    if (plan.status !== 'change') continue;
    t.true(plan.summary.length > 0, `${row.name}: summary`);
    t.true(plan.steps.length > 0 || row.module.name === 'fetch', `${row.name}: steps`);
    t.true(plan.affects === 'everything' || Array.isArray(plan.affects), `${row.name}: affects`);
  }
});

test('every failure has a message', (t) => {
  for (const row of allRows) {
    const plan = planRow(row);
    if (plan.status === 'failed') t.true(plan.message.length > 10, `${row.name}: message`);
  }
});

test('read modules never show content', (t) => {
  const secret = 'PT0gZWQyNTUxOXYxLXNlY3JldDogdHlwZTAgPT0A';
  for (const row of readRows) {
    const plan = planRow(row);
    let text: string;
    if (plan.status === 'ok') text = plan.reason;
    else if (plan.status === 'change') text = `${plan.summary}${plan.diff ?? ''}`;
    else text = plan.message;
    t.false(text.includes(secret), `${row.name} shows the content`);
  }
});

// Only the general-purpose modules are compared, so a role module whose
// schema changes does not fail this test before its author regenerates.
test('docs/MODULES.md is up to date', async (t) => {
  const written = await readFile(new URL('../../docs/MODULES.md', import.meta.url), 'utf8');
  for (const name of coreModuleNames()) {
    const module = getModule(name);
    if (!module) return t.fail(`${name} missing`);
    t.true(written.includes(renderModule(module)), `${name} section is stale: run npm run docs:modules`);
  }
});

function syntaxError(script: string): string | undefined {
  const result = spawnSync('/bin/sh', ['-n'], { input: `( set -e\n${script}\n)\n`, encoding: 'utf8' });
  return result.status === 0 ? undefined : result.stderr;
}

test('every probe and step parses as sh', (t) => {
  for (const row of allRows) {
    const probe = row.module.probe?.(row.args);
    if (probe) t.is(syntaxError(probe.script), undefined, `${row.name}: probe`);
    const plan = planRow(row);
    if (plan.status === 'change') t.is(syntaxError(plan.steps.map((step) => step.script).join('\n')), undefined, `${row.name}: steps`);
  }
});
