// Helpers for module tests: run a module's probe and steps for real with
// the local transport, framed the way the executor frames them (each probe
// in a subshell, each task's steps in a subshell under `set -e`).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { localTransport } from '../../runner/transport/local.ts';
import type { Connection } from '../../runner/transport/types.ts';
import type { ModuleContext, ModuleDefinition, Outcome, Plan, ProbeOutput } from '../../runner/modules/types.ts';

export async function connectLocal(): Promise<Connection> {
  return localTransport.connect(
    {
      name: 'local',
      port: 0,
      user: 'test',
      direct: true,
      socks: { host: '127.0.0.1', port: 9050 },
      connectTimeoutMs: 10_000,
      commandTimeoutMs: 0,
    },
    { allowDirect: true, trustNewHosts: true, siteDir: tmpdir() },
  );
}

export async function makeTempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'onionplay-modules-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Build a module context whose role files come from a map. */
export function fakeContext(files: Record<string, string | Buffer> = {}, vars: Record<string, unknown> = {}): ModuleContext {
  const lookup = (path: string): Buffer => {
    const value = files[path];
    if (value === undefined) throw new Error(`test file ${path} not found`);
    return Buffer.isBuffer(value) ? value : Buffer.from(value);
  };
  return {
    host: 'local',
    check: false,
    readFile: async (path) => lookup(path),
    renderTemplateFile: async (path) => lookup(path).toString('utf8'),
    vars,
    evaluate: (expression) => Boolean(vars[expression]),
  };
}

export async function runProbe(connection: Connection, module: ModuleDefinition, args: Record<string, unknown>): Promise<ProbeOutput> {
  const probe = module.probe?.(args);
  if (probe === undefined || probe.script === '') return { stdout: '', stderr: '', exitCode: 0 };
  const result = await connection.run(`( ${probe.script}\n)`);
  return { stdout: result.stdout.toString('utf8'), stderr: result.stderr.toString('utf8'), exitCode: result.exitCode };
}

export function planWith(module: ModuleDefinition, args: Record<string, unknown>, probed: ProbeOutput): Plan {
  if (!module.plan) throw new Error(`module ${module.name} has no plan`);
  return module.plan(args, probed, { host: 'local', check: false });
}

/** Run the planned steps the way the executor does and interpret the result. */
export async function applyPlan(connection: Connection, plan: Plan): Promise<Outcome> {
  if (plan.status !== 'change') throw new Error(`expected a change plan, got ${plan.status}`);
  const body = plan.steps.map((step) => step.script).join('\n');
  const result = await connection.run(`( set -e\n${body}\n)`);
  if (plan.interpret) return plan.interpret(result);
  return result.exitCode === 0 ? { changed: true } : { changed: false, failed: result.stderr.toString() };
}

/** Prepare, probe and plan one task. */
export async function probeAndPlan(
  connection: Connection,
  module: ModuleDefinition,
  rawArgs: Record<string, unknown>,
  context: ModuleContext = fakeContext(),
): Promise<{ args: Record<string, unknown>; plan: Plan }> {
  const args = module.prepare ? await module.prepare(rawArgs, context) : rawArgs;
  const probed = await runProbe(connection, module, args);
  return { args, plan: planWith(module, args, probed) };
}
