// Runs a list of tasks on one host with as few round trips as possible.
//
// Tasks are taken in windows: a window is a run of consecutive tasks that
// can be rendered now, because none of them reads a variable that an
// earlier task of the same window registers. The probes of a whole window
// travel in one script. Planned changes are collected into one apply
// script. When a collected change writes a path that a later task's probe
// read, that task is probed again in the same round trip as the apply.

import { OnionplayError } from '../errors/index.ts';
import { getModule } from '../modules/registry.ts';
import type { ModuleDefinition, Outcome, Plan, Probe, ProbeOutput } from '../modules/types.ts';
import type { Task } from '../playbook/types.ts';
import type { TaskStatus } from '../report/events.ts';
import { evaluateCondition, referencedVariables, renderValue } from '../template/index.ts';
import { shellQuote } from '../transport/shell.ts';
import type { Connection, RunResult } from '../transport/types.ts';
import { buildApplyScript, buildProbeScript, combineScripts, parseJournal, type FramedScript, type SectionAnswer } from './script.ts';
import { moduleContext } from './module-context.ts';
import type { RunContext } from './run-context.ts';
import { taskVariables } from './variables.ts';

/** One execution of a task: the task itself, or one item of its loop. */
interface Unit {
  key: string;
  task: Task;
  taskIndex: number;
  module: ModuleDefinition;
  vars: Record<string, unknown>;
  item?: { value: unknown; label: string };
  args?: Record<string, unknown>;
  probe?: Probe;
  probeAnswer?: ProbeOutput;
  /** The `when` reads a result of an earlier task of the window, so it is evaluated at plan time. */
  whenDeferred: boolean;
  /** Attempts made so far of a task with `until`. */
  attempts: number;
  /** The `until` condition is still false and retries are left. */
  retryPending: boolean;
  plan?: Plan;
  outcome?: UnitOutcome;
}

interface UnitOutcome {
  status: TaskStatus;
  reason?: string;
  summary?: string;
  diff?: string;
  message?: string;
  result: Record<string, unknown>;
  facts?: Record<string, unknown>;
  /** Facts to keep in the site's state once the task is reported (set_fact with cacheable). */
  remember?: Record<string, unknown>;
}

interface TaskProgress {
  units: Unit[];
  finished: boolean;
}

const LOST = 'transport';

function isLost(error: unknown): boolean {
  return error instanceof OnionplayError && error.code === LOST;
}

function describeItem(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  // A list of records is labelled by their names, as Ansible's loop_control.label often is.
  const name = value !== null && typeof value === 'object' ? (value as { name?: unknown }).name : undefined;
  if (typeof name === 'string' || typeof name === 'number') return String(name);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function tail(text: string, lines = 8): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

function isUnder(path: string, changed: string): boolean {
  return path === changed || path.startsWith(changed.endsWith('/') ? changed : `${changed}/`);
}

/** The set of remote paths written by the changes collected so far. */
class AffectedPaths {
  private everything = false;
  private readonly paths: string[] = [];

  add(affects: string[] | 'everything'): void {
    if (affects === 'everything') this.everything = true;
    else this.paths.push(...affects);
  }

  touches(probe: Probe | undefined): boolean {
    if (!probe) return false;
    if (this.everything || probe.reads === 'everything') return this.everything || this.paths.length > 0;
    return probe.reads.some((read) => this.paths.some((changed) => isUnder(read, changed)));
  }

}

export class HostRun {
  private notified: string[] = [];
  private failed = false;
  private unreachable = false;
  private journalPath: string;
  private unitCounter = 0;
  /** Number of the unit whose task failed the host; later units are not reported. */
  private failedAtUnit: number | undefined;
  /** Reconnects during applies in this play; bounded so a host that drops every connection is given up. */
  private recoveries = 0;
  private readonly progress = new Map<Task, TaskProgress>();
  /** Finished units waiting for earlier ones, so results are reported in task order. */
  private reportQueue: Unit[] = [];

  constructor(
    private readonly run: RunContext,
    readonly host: string,
    private connection: Connection | undefined,
  ) {
    this.journalPath = `/tmp/onionplay-${run.runId}-${host.replace(/[^A-Za-z0-9_.-]/g, '_')}.journal`;
  }

  get hasFailed(): boolean {
    return this.failed || this.unreachable;
  }

  get isUnreachable(): boolean {
    return this.unreachable;
  }

  /** Handler names notified and not yet run. */
  pendingNotifications(): string[] {
    return [...this.notified];
  }

  addNotifications(names: string[]): void {
    for (const name of names) if (!this.notified.includes(name)) this.notified.push(name);
  }

  clearNotifications(names: string[]): void {
    this.notified = this.notified.filter((name) => !names.includes(name));
  }

  /** Run tasks in order until one fails or the run is interrupted. */
  async runTasks(tasks: Task[], options: { handler: boolean }): Promise<void> {
    let index = 0;
    while (index < tasks.length && !this.hasFailed && !this.run.signal.aborted) {
      const window = await this.buildWindow(tasks, index, options.handler);
      if (window.consumed === 0) break;
      index += window.consumed;
      if (window.units.length > 0) await this.processWindow(window.units, options.handler);
    }
  }

  // ---- building a window ------------------------------------------------

  private async buildWindow(tasks: Task[], start: number, handler: boolean): Promise<{ units: Unit[]; consumed: number }> {
    const units: Unit[] = [];
    const producedNames = new Set<string>();
    let consumed = 0;
    for (let index = start; index < tasks.length; index += 1) {
      const task = tasks[index];
      if (!task) break;
      const first = consumed === 0;
      const module = getModule(task.module);
      if (!module) throw new OnionplayError('internal', `module ${task.module} is not registered`);
      if (!first && (await this.tryInline(task, index, module, handler, producedNames))) {
        consumed += 1;
        continue;
      }
      if (!first && this.mustStartWindow(task, producedNames)) break;
      consumed += 1;
      if (!this.run.selectedByTags(task)) continue;
      const taskUnits = await this.expandTask(task, index, module, handler, producedNames);
      if (taskUnits === undefined) break;
      units.push(...taskUnits);
      if (task.register) producedNames.add(task.register);
      if (task.module === 'set_fact') for (const name of Object.keys((task.args as object) ?? {})) producedNames.add(name);
      // Controller-only modules, run_once, delegation and retries are
      // processed alone, so their results are in place for the next task.
      if (module.local || task.runOnce || task.delegateTo || task.until) break;
    }
    return { units, consumed };
  }

  /**
   * Settle a task inside the window without starting a new one, when that
   * cannot change what happens. That is a pure controller module (set_fact,
   * debug, assert) that reads nothing the window produces and succeeds, or
   * any task whose `when` is already false. Returns whether it was settled.
   */
  private async tryInline(task: Task, index: number, module: ModuleDefinition, handler: boolean, producedNames: Set<string>): Promise<boolean> {
    if (task.runOnce || task.delegateTo || task.until) return false;
    if (task.loop !== undefined && !(module.local || task.module === 'meta')) return false;
    const reads = new Set([
      ...referencedVariables(task.args),
      ...referencedVariables(task.vars),
      ...task.when.flatMap((condition) => referencedVariables(`{{${condition}}}`)),
    ]);
    if ([...producedNames].some((name) => reads.has(name))) return false;
    if (!this.run.selectedByTags(task)) return true;
    const vars = this.run.variables(this.host, task);
    const where = { ...task.position, what: `when of task "${task.name}"` };
    if (task.module === 'meta' || module.local) {
      // A task whose condition is already false is skipped here, whatever it is.
      let skip: string | undefined;
      try {
        skip = task.when.find((condition) => !evaluateCondition(condition, vars, where));
      } catch {
        return false;
      }
      if (skip !== undefined) {
        this.skipInline(task, index, module, vars, skip, handler);
        return true;
      }
    }
    if (task.module === 'meta' || task.loop !== undefined) return false;
    // Pure controller modules; a cacheable set_fact writes the site's state
    // only when it is reported, so after every earlier task of the window.
    const pure = task.module === 'debug' || task.module === 'assert' || task.module === 'set_fact';
    if (!pure || !module.local) return false;
    let outcome: Outcome;
    let args: Record<string, unknown>;
    try {
      for (const condition of task.when) {
        if (!evaluateCondition(condition, vars, where)) {
          const unit = this.newUnit(task, index, module, vars);
          this.run.bus.emit({ type: 'task_start', host: this.host, task: task.name, taskId: task.id, handler });
          this.settle(unit, { status: 'skipped', reason: `condition is false: ${condition}`, result: { skipped: true, changed: false } }, handler);
          return true;
        }
      }
      args = (renderValue(task.args ?? {}, vars, { ...task.position, what: `arguments of task "${task.name}"` }) ?? {}) as Record<string, unknown>;
      outcome = await module.local(args, moduleContext(this.run, this.host, task, vars));
    } catch {
      return false;
    }
    // A failure is left for the task's own window, after the earlier tasks applied.
    if (outcome.failed) return false;
    const unit = this.newUnit(task, index, module, vars);
    this.run.bus.emit({ type: 'task_start', host: this.host, task: task.name, taskId: task.id, handler });
    this.settle(unit, {
      status: outcome.changed ? 'changed' : 'ok',
      reason: outcome.reason ?? 'ran on the controller',
      result: { changed: outcome.changed, ...outcome.result },
      facts: outcome.facts,
      remember: task.module === 'set_fact' && args.cacheable === true ? outcome.facts : undefined,
    }, handler);
    return true;
  }

  /** Report a task whose condition is already false as skipped, one result per loop item. */
  private skipInline(task: Task, index: number, module: ModuleDefinition, vars: Record<string, unknown>, condition: string, handler: boolean): void {
    let items: unknown = [undefined];
    try {
      if (task.loop !== undefined) items = renderValue(task.loop, vars, { ...task.position, what: `loop of task "${task.name}"` });
    } catch {
      // A loop that cannot render is not needed to skip the task.
    }
    const list = Array.isArray(items) && items.length > 0 ? items : [undefined];
    const units = list.map((item) => {
      const unit = this.newUnit(task, index, module, vars);
      if (task.loop !== undefined) unit.item = { value: item, label: describeItem(item) };
      return unit;
    });
    this.progress.set(task, { units, finished: false });
    for (const unit of units) {
      this.run.bus.emit({ type: 'task_start', host: this.host, task: task.name, taskId: task.id, handler });
      this.settle(unit, { status: 'skipped', reason: `condition is false: ${condition}`, result: { skipped: true, changed: false } }, handler);
    }
  }

  private newUnit(task: Task, taskIndex: number, module: ModuleDefinition, vars: Record<string, unknown>): Unit {
    const unit: Unit = {
      key: `u${(this.unitCounter += 1)}`,
      task,
      taskIndex,
      module,
      vars,
      whenDeferred: false,
      attempts: 0,
      retryPending: false,
    };
    this.progress.set(task, { units: [unit], finished: false });
    return unit;
  }

  private mustStartWindow(task: Task, producedNames: Set<string>): boolean {
    const module = getModule(task.module);
    if (!module || module.local || task.runOnce || task.delegateTo || task.until) return true;
    if (producedNames.size === 0) return false;
    // A `when` may read results of the window: it is evaluated at plan
    // time, and the task is probed speculatively, since probes only read.
    const referenced = new Set([
      ...referencedVariables(task.args),
      ...referencedVariables(task.loop ?? null),
      ...referencedVariables(task.vars),
      'hostvars',
    ]);
    for (const name of producedNames) if (referenced.has(name)) return true;
    return false;
  }

  /** Evaluate `when` and `loop`, render the arguments and prepare them; undefined means the host failed. */
  private async expandTask(
    task: Task,
    taskIndex: number,
    module: ModuleDefinition,
    handler: boolean,
    producedNames: Set<string>,
  ): Promise<Unit[] | undefined> {
    const whenReads = new Set(task.when.flatMap((condition) => referencedVariables(`{{${condition}}}`)));
    const whenDeferred = [...producedNames].some((name) => whenReads.has(name));
    const progress: TaskProgress = { units: [], finished: false };
    this.progress.set(task, progress);
    const baseVars = this.run.variables(this.host, task);
    let items: Array<{ value: unknown; label: string } | undefined> = [undefined];
    try {
      if (task.loop !== undefined) {
        const loopValue = renderValue(task.loop, baseVars, { ...task.position, what: `loop of task "${task.name}"` });
        if (!Array.isArray(loopValue)) {
          throw new OnionplayError('invalid_value', `loop of task "${task.name}" did not render to a list`, {
            position: task.position,
            key: 'loop',
            value: describeItem(loopValue),
            fix: 'give loop a YAML list, or a variable that holds a list, e.g. loop: "{{ my_list }}"',
          });
        }
        items = loopValue.map((value) => ({ value, label: describeItem(value) }));
      }
    } catch (error) {
      this.failUnitless(task, handler, error);
      return undefined;
    }
    if (items.length === 0) {
      this.finishTask(task, handler, [], 'loop list is empty');
      return [];
    }
    const units: Unit[] = [];
    for (const [itemIndex, item] of items.entries()) {
      const vars = item
        ? this.run.variables(this.host, task, { name: task.loopVar, value: item.value, index: itemIndex })
        : baseVars;
      const unit: Unit = {
        key: `u${(this.unitCounter += 1)}`,
        task,
        taskIndex,
        module,
        vars,
        item,
        whenDeferred,
        attempts: 0,
        retryPending: false,
      };
      progress.units.push(unit);
      units.push(unit);
    }
    for (const unit of units) {
      this.run.bus.emit({ type: 'task_start', host: this.host, task: task.name, taskId: task.id, handler });
      try {
        const skipReason = unit.whenDeferred ? undefined : this.whenSkipReason(unit);
        if (skipReason) {
          this.settle(unit, { status: 'skipped', reason: skipReason, result: { skipped: true, changed: false } }, handler);
          continue;
        }
        if (unit.module.local) continue;
        const rendered = renderValue(task.args ?? {}, unit.vars, { ...task.position, what: `arguments of task "${task.name}"` });
        const args = (rendered ?? {}) as Record<string, unknown>;
        unit.args = unit.module.prepare ? await unit.module.prepare(args, moduleContext(this.run, this.host, unit.task, unit.vars)) : args;
        unit.probe = unit.module.probe?.(unit.args);
      } catch (error) {
        this.settle(unit, this.failureOutcome(error), handler);
      }
    }
    return units;
  }

  private whenSkipReason(unit: Unit): string | undefined {
    for (const condition of unit.task.when) {
      const passed = evaluateCondition(condition, unit.vars, { ...unit.task.position, what: `when of task "${unit.task.name}"` });
      if (!passed) return `condition is false: ${condition}`;
    }
    return undefined;
  }

  // ---- processing a window ----------------------------------------------

  private async processWindow(units: Unit[], handler: boolean): Promise<void> {
    const pending = units.filter((unit) => !unit.outcome);
    for (const unit of pending) {
      if (unit.module.local) await this.runLocal(unit, handler);
    }
    const remote = pending.filter((unit) => !unit.module.local && !unit.outcome);
    if (remote.length === 0) return;
    if (remote.some((unit) => unit.task.runOnce)) {
      await this.run.runOnce(remote[0]?.task as Task, this.host, async () => {
        await this.processRemote(remote, handler);
        return remote.map((unit) => unit.outcome);
      }, (outcomes) => this.copyRunOnce(remote, outcomes, handler));
      return;
    }
    await this.processRemote(remote, handler);
    await this.retryUntil(remote, handler);
  }

  /** Run the units of an `until` task again, after its delay, until the condition is true or retries run out. */
  private async retryUntil(units: Unit[], handler: boolean): Promise<void> {
    for (;;) {
      const again = units.filter((unit) => unit.retryPending);
      if (again.length === 0 || this.hasFailed || this.run.signal.aborted) return;
      const delayMs = again[0]?.task.delayMs ?? 0;
      this.run.bus.emit({ type: 'log', level: 1, host: this.host, message: `${again[0]?.task.name}: until is false, retrying in ${delayMs / 1000} s` });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      for (const unit of again) {
        unit.retryPending = false;
        unit.outcome = undefined;
        unit.plan = undefined;
        unit.probeAnswer = undefined;
      }
      await this.processRemote(again, handler);
    }
  }

  private copyRunOnce(units: Unit[], outcomes: Array<UnitOutcome | undefined>, handler: boolean): void {
    for (const [index, unit] of units.entries()) {
      const outcome = outcomes[index];
      if (outcome) this.settle(unit, { ...outcome, reason: outcome.reason ?? 'result copied from the run_once host' }, handler, false);
    }
  }

  private async processRemote(units: Unit[], handler: boolean): Promise<void> {
    const connection = await this.connectionFor(units[0]);
    if (!connection) return;
    const probed = units.filter((unit) => unit.probe && !unit.outcome);
    if (probed.length > 0) {
      const answers = await this.send(connection, buildProbeScript(probed.map((unit) => this.probeSection(unit))), units);
      if (!answers) return;
      for (const unit of probed) unit.probeAnswer = answers.get(unit.key);
    }
    await this.planAndApply(connection, units, handler);
  }

  private probeSection(unit: Unit): { key: string; script: string } {
    return { key: unit.key, script: unit.probe?.script ?? ':' };
  }

  private async planAndApply(connection: Connection, units: Unit[], handler: boolean): Promise<void> {
    let batch: Unit[] = [];
    let affected = new AffectedPaths();
    // In check mode nothing is applied, so a probe that an earlier change
    // would have invalidated cannot be refreshed.
    const wouldChange = new AffectedPaths();
    for (let index = 0; index < units.length; index += 1) {
      const unit = units[index];
      if (!unit || unit.outcome) continue;
      if (this.hasFailed || this.run.signal.aborted) return;
      if (unit.whenDeferred) {
        const reads = new Set(unit.task.when.flatMap((condition) => referencedVariables(`{{${condition}}}`)));
        if (batch.some((queued) => queued.task.register !== undefined && reads.has(queued.task.register))) {
          const rest = units.slice(index).filter((other) => !other.outcome);
          const ok = await this.flush(connection, batch, handler, rest);
          if (!ok) return;
          await this.planAndApply(connection, rest, handler);
          return;
        }
        unit.vars = this.run.variables(this.host, unit.task, unit.item ? { name: unit.task.loopVar, value: unit.item.value, index: 0 } : undefined);
        unit.whenDeferred = false;
        let skipReason: string | undefined;
        try {
          skipReason = this.whenSkipReason(unit);
        } catch (error) {
          this.settle(unit, this.failureOutcome(error), handler);
          continue;
        }
        if (skipReason) {
          this.settle(unit, { status: 'skipped', reason: skipReason, result: { skipped: true, changed: false } }, handler);
          continue;
        }
      }
      if (unit.task.module === 'meta') {
        // Changes collected so far go first, because they may notify the
        // handlers that flush_handlers runs; later probes are refreshed in
        // the same round trip.
        const rest = units.slice(index + 1).filter((other) => !other.outcome);
        if (batch.length > 0) {
          if (!(await this.flush(connection, batch, handler, rest))) return;
          batch = [];
          affected = new AffectedPaths();
        }
        const handlersDue = this.notified.length > 0;
        await this.runMeta(unit, handler);
        if (this.hasFailed || this.run.signal.aborted) return;
        const refresh = rest.filter((other) => other.probe);
        if (handlersDue && refresh.length > 0) {
          const again = await this.send(connection, buildProbeScript(refresh.map((other) => this.probeSection(other))), refresh);
          if (!again) return;
          for (const other of refresh) other.probeAnswer = again.get(other.key);
        }
        continue;
      }
      const become = this.becomeFor(unit);
      const batchBecome = batch[0] ? this.becomeFor(batch[0]) : become;
      if (batch.length > 0 && (affected.touches(unit.probe) || batchBecome !== become)) {
        // Apply what is collected and probe the rest again in the same round trip.
        const rest = units.slice(index).filter((other) => !other.outcome);
        const ok = await this.flush(connection, batch, handler, rest);
        batch = [];
        affected.add('everything');
        if (!ok) return;
        await this.planAndApply(connection, rest, handler);
        return;
      }
      const plan = this.planUnit(unit);
      unit.plan = plan;
      if (this.checkOnly(unit) && wouldChange.touches(unit.probe) && plan.status === 'failed') {
        this.settle(unit, {
          status: 'changed',
          summary: `depends on an earlier change that check mode did not make (as the host is now: ${plan.message})`,
          result: { changed: true },
        }, handler);
        continue;
      }
      if (plan.status === 'ok') {
        this.settle(unit, { status: 'ok', reason: plan.reason, result: { changed: false, ...plan.result }, facts: plan.facts }, handler);
        continue;
      }
      if (plan.status === 'failed') {
        if (batch.length > 0 && !(await this.flush(connection, batch, handler, []))) return;
        batch = [];
        this.settle(unit, { status: 'failed', message: plan.message, result: { failed: true, changed: false, msg: plan.message } }, handler);
        continue;
      }
      if (this.checkOnly(unit)) {
        wouldChange.add(plan.affects);
        const outcome: UnitOutcome = {
          status: 'changed',
          summary: plan.summary,
          diff: plan.diff,
          result: { changed: true, ...plan.result },
          facts: plan.facts,
        };
        this.settle(unit, outcome, handler);
        continue;
      }
      batch.push(unit);
      affected.add(plan.affects);
      // A controller-side condition on the result decides whether later
      // tasks may run, so the apply is sent before going on.
      if (unit.task.failedWhen || unit.task.until) {
        const rest = units.slice(index + 1).filter((other) => !other.outcome);
        const ok = await this.flush(connection, batch, handler, rest);
        batch = [];
        if (!ok) return;
        await this.planAndApply(connection, rest, handler);
        return;
      }
    }
    if (batch.length > 0) await this.flush(connection, batch, handler, []);
  }

  private planUnit(unit: Unit): Plan {
    if (!unit.module.plan) return { status: 'failed', message: `module ${unit.module.name} has no plan` };
    const probed = unit.probeAnswer ?? { stdout: '', stderr: '', exitCode: 0 };
    if (unit.probe && !unit.probeAnswer) return { status: 'failed', message: 'the probe printed no output for this task' };
    try {
      return unit.module.plan(unit.args ?? {}, probed, { host: this.host, check: this.checkOnly(unit) });
    } catch (error) {
      return { status: 'failed', message: error instanceof Error ? error.message : String(error) };
    }
  }

  private checkOnly(unit: Unit): boolean {
    if (unit.task.checkMode === true) return true;
    if (unit.task.checkMode === false) return false;
    return this.run.options.check;
  }

  private becomeFor(unit: Unit): boolean {
    return unit.task.become ?? this.run.playBecome ?? false;
  }

  /** Apply the batch; re-probe `reprobe` in the same script. Returns false when the host cannot go on. */
  private async flush(connection: Connection, batch: Unit[], handler: boolean, reprobe: Unit[]): Promise<boolean> {
    const sections = batch.map((unit) => {
      const plan = unit.plan as Extract<Plan, { status: 'change' }>;
      return {
        key: unit.key,
        script: plan.steps.map((step) => `# ${step.description.replace(/\n/g, ' ')}\n${step.script}`).join('\n'),
        continueOnError: unit.task.ignoreErrors,
        timeoutSeconds: unit.task.timeoutMs ? Math.ceil(unit.task.timeoutMs / 1000) : undefined,
      };
    });
    let framed: FramedScript = buildApplyScript(sections, this.journalPath);
    this.run.journalWritten(connection, this.journalPath);
    const probed = reprobe.filter((unit) => unit.probe);
    if (probed.length > 0) framed = combineScripts(framed, buildProbeScript(probed.map((unit) => this.probeSection(unit))));
    const become = batch[0] ? this.becomeFor(batch[0]) : false;
    let answers: Map<string, SectionAnswer> | undefined;
    try {
      answers = await this.sendOnce(connection, framed, become, [...batch, ...probed]);
    } catch (error) {
      if (!isLost(error)) throw error;
      answers = await this.recoverLostApply(connection, batch, error as OnionplayError);
      if (!answers) return false;
      for (const unit of probed) unit.probeAnswer = undefined;
      if (probed.length > 0) {
        const again = await this.send(connection, buildProbeScript(probed.map((unit) => this.probeSection(unit))), reprobe);
        if (!again) return false;
        for (const unit of probed) unit.probeAnswer = again.get(unit.key);
      }
      return await this.settleBatch(batch, answers, handler);
    }
    for (const unit of probed) unit.probeAnswer = answers.get(unit.key);
    return await this.settleBatch(batch, answers, handler);
  }

  private async settleBatch(batch: Unit[], answers: Map<string, SectionAnswer>, handler: boolean): Promise<boolean> {
    let blocked = false;
    for (const unit of batch) {
      const answer = answers.get(unit.key);
      if (!answer) {
        if (unit.outcome) continue;
        const reason = blocked ? 'not run: an earlier task of the batch failed' : 'no answer from the host';
        this.settle(unit, { status: 'failed', message: reason, result: { failed: true, changed: false } }, handler);
        blocked = true;
        continue;
      }
      const outcome = await this.finishOutcome(unit, this.applyOutcome(unit, answer));
      this.settle(unit, outcome, handler);
      if (outcome.status === 'failed' && !unit.task.ignoreErrors) blocked = true;
    }
    return !this.hasFailed;
  }

  private applyOutcome(unit: Unit, answer: SectionAnswer): UnitOutcome {
    const plan = unit.plan as Extract<Plan, { status: 'change' }>;
    const timedOut = answer.exitCode === 124 && unit.task.timeoutMs !== undefined;
    const raw: RunResult = {
      stdout: Buffer.from(answer.stdout),
      stderr: Buffer.from(answer.stderr),
      exitCode: answer.exitCode,
      timedOut,
    };
    if (timedOut) {
      const limit = Math.ceil((unit.task.timeoutMs ?? 0) / 1000);
      const message = `timed out after ${limit} s (task timeout): ${plan.summary}`;
      return { status: 'failed', message, result: { failed: true, changed: false, rc: 124, msg: message } };
    }
    let outcome: Outcome;
    if (plan.interpret) outcome = plan.interpret(raw);
    else if (answer.exitCode === 0) outcome = { changed: true };
    else {
      const output = tail(answer.stderr) || tail(answer.stdout);
      outcome = { changed: false, failed: `${plan.summary} failed (exit code ${answer.exitCode}): ${output}` };
    }
    const result: Record<string, unknown> = { changed: outcome.changed, ...plan.result, ...outcome.result };
    if (outcome.failed) {
      result.failed = true;
      result.msg = outcome.failed;
      return { status: 'failed', message: outcome.failed, result, facts: outcome.facts };
    }
    return {
      status: outcome.changed ? 'changed' : 'ok',
      summary: plan.summary,
      diff: plan.diff,
      reason: outcome.reason,
      result,
      facts: { ...plan.facts, ...outcome.facts },
    };
  }

  /** Run the module's controller-side finish step after a successful apply. */
  private async finishOutcome(unit: Unit, outcome: UnitOutcome): Promise<UnitOutcome> {
    const finish = unit.module.finish;
    if (!finish || outcome.status === 'failed') return outcome;
    try {
      const context = moduleContext(this.run, this.host, unit.task, unit.vars);
      const finished = await finish(unit.args ?? {}, { changed: outcome.status === 'changed', reason: outcome.reason, result: outcome.result, facts: outcome.facts }, context);
      if (finished.failed) return { status: 'failed', message: finished.failed, result: { ...finished.result, failed: true, msg: finished.failed } };
      return {
        ...outcome,
        status: finished.changed ? 'changed' : 'ok',
        reason: finished.reason ?? outcome.reason,
        result: { changed: finished.changed, ...finished.result },
        facts: finished.facts,
      };
    } catch (error) {
      return this.failureOutcome(error);
    }
  }

  /**
   * After a lost connection during an apply: reconnect, read the journal
   * and settle the sections that finished. Scripts on the host keep running
   * when the connection drops (their output goes to files first), so the
   * journal read waits up to a minute for sections that started to end.
   * Sections that never started are planned again from a new probe; a
   * section that started and did not end is reported, never run again.
   */
  private async recoverLostApply(connection: Connection, batch: Unit[], error: OnionplayError): Promise<Map<string, SectionAnswer> | undefined> {
    this.recoveries += 1;
    if (this.recoveries > 5) {
      this.lose(new OnionplayError('transport', `${error.message}; gave up after ${this.recoveries - 1} reconnects during this run's changes`));
      return undefined;
    }
    if (!(await this.reconnect(connection, error))) return undefined;
    const journal = shellQuote(this.journalPath);
    const waitForEnds = [
      `op_wait=0`,
      `while [ "$op_wait" -lt 60 ]; do`,
      `  op_open=0`,
      `  for op_key in $(sed -n 's/^start //p' ${journal} 2>/dev/null); do grep -q "^end $op_key " ${journal} || op_open=1; done`,
      `  [ "$op_open" -eq 0 ] && break`,
      `  sleep 1; op_wait=$((op_wait + 1))`,
      `done`,
      `cat ${journal} 2>/dev/null || true`,
    ].join('\n');
    const read = await this.send(connection, buildProbeScript([{ key: 'journal', script: waitForEnds }]), batch);
    if (!read) return undefined;
    const entries = parseJournal(read.get('journal')?.stdout ?? '');
    const answers = new Map<string, SectionAnswer>();
    const replan: Unit[] = [];
    for (const unit of batch) {
      const entry = entries.get(unit.key);
      if (entry?.exitCode !== undefined) {
        answers.set(unit.key, { stdout: '', stderr: '(output lost with the connection)', exitCode: entry.exitCode });
      } else if (entry?.started) {
        answers.set(unit.key, {
          stdout: '',
          stderr: 'the connection was lost while this task ran on the host and it had not finished a minute later; it is not run again, check the host',
          exitCode: 255,
        });
      } else {
        replan.push(unit);
      }
    }
    if (replan.length > 0) {
      for (const unit of replan) {
        unit.probeAnswer = undefined;
        unit.plan = undefined;
      }
      const probed = replan.filter((unit) => unit.probe);
      if (probed.length > 0) {
        const again = await this.send(connection, buildProbeScript(probed.map((unit) => this.probeSection(unit))), replan);
        if (!again) return undefined;
        for (const unit of probed) unit.probeAnswer = again.get(unit.key);
      }
      this.run.bus.emit({ type: 'log', level: 1, host: this.host, message: `${replan.length} task(s) planned again after the reconnect` });
      await this.planAndApply(connection, replan, false);
    }
    return answers;
  }

  private isIdempotent(unit: Unit): boolean {
    const idempotent = unit.module.idempotent;
    return typeof idempotent === 'function' ? idempotent(unit.args ?? {}) : idempotent;
  }

  /** Send a script, reconnecting and re-sending it once when it was a read-only script. */
  private async send(connection: Connection, framed: FramedScript, units: Unit[]): Promise<Map<string, SectionAnswer> | undefined> {
    const become = units.some((unit) => this.becomeFor(unit));
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.sendOnce(connection, framed, become, units);
      } catch (error) {
        if (!isLost(error) || attempt >= 2) {
          if (isLost(error)) this.lose(error as OnionplayError);
          else throw error;
          return undefined;
        }
        if (!(await this.reconnect(connection, error as OnionplayError))) return undefined;
      }
    }
  }

  private async sendOnce(connection: Connection, framed: FramedScript, become: boolean, units: Unit[] = []): Promise<Map<string, SectionAnswer>> {
    const hidden = units.some((unit) => unit.task.noLog || unit.module.probeOutputSecret);
    const shown = hidden ? '(not shown: it belongs to a no_log task or reads secret files)' : `\n${framed.script}`;
    this.run.bus.emit({ type: 'log', level: 2, host: this.host, message: `script of ${units.length} task(s), ${framed.script.length} bytes: ${shown}` });
    const result = await connection.run(framed.script, { become });
    const answers = framed.parse(result.stdout);
    if (answers.size === 0 && result.exitCode !== 0) {
      throw new OnionplayError('internal', `the script failed on ${this.host} before any task ran (exit code ${result.exitCode}): ${tail(result.stderr.toString('utf8'))}`);
    }
    return answers;
  }

  private async reconnect(connection: Connection, error: OnionplayError): Promise<boolean> {
    this.run.bus.emit({ type: 'log', level: 1, host: this.host, message: `${error.message}; reconnecting` });
    try {
      await connection.reconnect(this.run.targetFor(this.host));
      this.run.bus.emit({ type: 'log', level: 1, host: this.host, message: `reconnected via ${connection.route}` });
      return true;
    } catch (reconnectError) {
      this.lose(reconnectError instanceof OnionplayError ? reconnectError : error);
      return false;
    }
  }

  private lose(error: OnionplayError): void {
    if (this.unreachable) return;
    this.unreachable = true;
    this.run.bus.emit({ type: 'host_unreachable', host: this.host, message: error.message });
  }

  private async connectionFor(unit: Unit | undefined): Promise<Connection | undefined> {
    if (unit?.task.delegateTo && unit.task.delegateTo !== this.host) {
      const delegated = await this.run.connection(unit.task.delegateTo);
      if (!delegated) {
        this.settle(unit, { status: 'failed', message: `delegate host ${unit.task.delegateTo} is unreachable`, result: { failed: true } }, false);
      }
      return delegated;
    }
    if (!this.connection) {
      this.connection = await this.run.connection(this.host);
      if (!this.connection) this.unreachable = true;
    }
    return this.connection;
  }

  // ---- controller-side modules --------------------------------------------

  private async runLocal(unit: Unit, handler: boolean): Promise<void> {
    const local = unit.module.local;
    if (!local) return;
    try {
      const args = (renderValue(unit.task.args ?? {}, unit.vars, { ...unit.task.position, what: `arguments of task "${unit.task.name}"` }) ?? {}) as Record<string, unknown>;
      const outcome = await local(args, moduleContext(this.run, this.host, unit.task, unit.vars));
      const remember = unit.task.module === 'set_fact' && args.cacheable === true ? outcome.facts : undefined;
      let status: TaskStatus = outcome.changed ? 'changed' : 'ok';
      if (outcome.failed) status = 'failed';
      this.settle(unit, {
        status,
        reason: outcome.reason ?? (status === 'ok' ? 'ran on the controller' : undefined),
        message: outcome.failed,
        result: { changed: outcome.changed, ...(outcome.failed ? { failed: true, msg: outcome.failed } : {}), ...outcome.result },
        facts: outcome.facts,
        remember,
      }, handler);
    } catch (error) {
      this.settle(unit, this.failureOutcome(error), handler);
    }
  }

  private async runMeta(unit: Unit, handler: boolean): Promise<void> {
    const rendered = renderValue(unit.task.args ?? {}, unit.vars, { ...unit.task.position, what: `meta task "${unit.task.name}"` });
    const action = typeof rendered === 'string' ? rendered : (rendered as { action?: string } | null)?.action;
    if (action === 'reset_connection') {
      const connection = await this.connectionFor(unit);
      if (!connection) return;
      try {
        await connection.reconnect(this.run.targetFor(this.host));
      } catch (error) {
        this.lose(error instanceof OnionplayError ? error : new OnionplayError('transport', String(error)));
        return;
      }
      this.settle(unit, { status: 'ok', reason: `connection opened again via ${connection.route}`, result: { changed: false } }, handler);
      return;
    }
    if (action === 'flush_handlers') {
      await this.run.flushHandlers(this);
      this.settle(unit, { status: 'ok', reason: 'notified handlers ran', result: { changed: false } }, handler);
      return;
    }
    this.settle(unit, { status: 'failed', message: `unknown meta action ${String(action)}`, result: { failed: true } }, handler);
  }

  // ---- results --------------------------------------------------------------

  private failureOutcome(error: unknown): UnitOutcome {
    const message = error instanceof Error ? error.message : String(error);
    return { status: 'failed', message, result: { failed: true, changed: false, msg: message } };
  }

  private failUnitless(task: Task, handler: boolean, error: unknown): void {
    const outcome = this.failureOutcome(error);
    this.run.bus.emit({
      type: 'task_result',
      host: this.host,
      task: task.name,
      taskId: task.id,
      handler,
      status: 'failed',
      message: outcome.message,
      hidden: task.noLog,
      checkMode: this.run.options.check,
    });
    this.run.count(this.host, 'failed');
    if (!task.ignoreErrors) this.failed = true;
  }

  /** Record a unit's outcome after changed_when/failed_when, report it, and finish its task when complete. */
  private settle(unit: Unit, rawOutcome: UnitOutcome, handler: boolean, notify = true): void {
    let outcome = this.applyConditions(unit, rawOutcome);
    if (unit.task.until !== undefined && outcome.status !== 'skipped') {
      unit.attempts += 1;
      const held = this.untilHolds(unit, outcome);
      if (held !== true) {
        if (held === false && unit.attempts <= unit.task.retries) {
          unit.retryPending = true;
          return;
        }
        const message = held === false ? `until is still false after ${unit.attempts} attempt(s): ${unit.task.until}` : held;
        outcome = { ...outcome, status: 'failed', message, result: { ...outcome.result, failed: true, msg: message } };
      }
      outcome = { ...outcome, result: { ...outcome.result, attempts: unit.attempts } };
    }
    unit.outcome = outcome;
    if (outcome.facts) for (const [name, value] of Object.entries(outcome.facts)) this.run.facts.set(this.host, name, value);
    if (unit.task.noLog) this.run.hideResult(outcome.result);
    if (notify && outcome.status === 'changed' && !this.checkOnly(unit)) {
      this.addNotifications(unit.task.notify);
      void this.run.state.setPendingHandlers(this.host, this.notified);
    }
    this.reportQueue.push(unit);
    this.reportQueue.sort((a, b) => Number(a.key.slice(1)) - Number(b.key.slice(1)));
    this.drainReports(handler);
  }

  /** Evaluate the task's `until` for this outcome; a string is the error that evaluating it raised. */
  private untilHolds(unit: Unit, outcome: UnitOutcome): boolean | string {
    const scope = { ...unit.vars };
    const registered = { ...outcome.result, changed: outcome.status === 'changed', failed: outcome.status === 'failed' };
    if (unit.task.register) scope[unit.task.register] = registered;
    try {
      return evaluateCondition(unit.task.until ?? 'true', scope, { ...unit.task.position, what: `until of task "${unit.task.name}"` });
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  private applyConditions(unit: Unit, outcome: UnitOutcome): UnitOutcome {
    if (outcome.status === 'skipped') return outcome;
    const scope = { ...unit.vars };
    if (unit.task.register) scope[unit.task.register] = { ...outcome.result, changed: outcome.status === 'changed', failed: outcome.status === 'failed' };
    const where = { ...unit.task.position, what: `task "${unit.task.name}"` };
    let next = outcome;
    try {
      if (unit.task.changedWhen !== undefined && next.status !== 'failed') {
        const changed = evaluateCondition(unit.task.changedWhen, scope, where);
        next = { ...next, status: changed ? 'changed' : 'ok', reason: changed ? next.reason : `changed_when is false: ${unit.task.changedWhen}`, result: { ...next.result, changed } };
      }
      if (unit.task.failedWhen !== undefined) {
        const failed = evaluateCondition(unit.task.failedWhen, scope, where);
        if (failed) next = { ...next, status: 'failed', message: `failed_when is true: ${unit.task.failedWhen}`, result: { ...next.result, failed: true } };
        else if (next.status === 'failed') next = { ...next, status: next.result.changed ? 'changed' : 'ok', reason: `failed_when is false: ${unit.task.failedWhen}`, result: { ...next.result, failed: false } };
      }
    } catch (error) {
      return this.failureOutcome(error);
    }
    return next;
  }

  private drainReports(handler: boolean): void {
    // Report units in the order of their keys. A unit waits while an
    // earlier unit of its own task is still running.
    while (this.reportQueue.length > 0) {
      const unit = this.reportQueue[0] as Unit;
      const progress = this.progress.get(unit.task);
      const earlierPending = progress ? progress.units.some((other) => !other.outcome && Number(other.key.slice(1)) < Number(unit.key.slice(1))) : false;
      if (earlierPending) return;
      this.reportQueue.shift();
      // Tasks settled ahead of a failure (pure controller tasks run inside
      // the window) are dropped, as if the host had stopped before them.
      if (this.failedAtUnit !== undefined && Number(unit.key.slice(1)) > this.failedAtUnit) continue;
      const remember = unit.outcome?.remember;
      if (remember && unit.outcome?.status !== 'failed') void this.run.state.rememberFacts(this.host, remember);
      const outcome = unit.outcome as UnitOutcome;
      this.run.bus.emit({
        type: 'task_result',
        host: this.host,
        task: unit.task.name,
        taskId: unit.task.id,
        handler,
        status: outcome.status,
        reason: outcome.reason,
        summary: outcome.summary,
        diff: this.run.options.diff ? outcome.diff : undefined,
        message: outcome.message,
        item: unit.item?.label,
        hidden: unit.task.noLog,
        notIdempotent: !handler && !this.isIdempotent(unit) && outcome.status === 'changed',
        checkMode: this.checkOnly(unit),
      });
      if (progress && progress.units.every((other) => other.outcome) && !progress.finished) {
        this.finishTask(unit.task, handler, progress.units);
      }
    }
  }

  private finishTask(task: Task, _handler: boolean, units: Unit[], emptyReason?: string): void {
    const progress = this.progress.get(task);
    if (progress) progress.finished = true;
    const statuses = units.map((unit) => unit.outcome?.status ?? 'skipped');
    let status: TaskStatus = 'ok';
    if (statuses.includes('failed')) status = 'failed';
    else if (statuses.includes('changed')) status = 'changed';
    else if (statuses.length > 0 && statuses.every((value) => value === 'skipped')) status = 'skipped';
    else if (emptyReason) status = 'skipped';
    this.run.count(this.host, status);
    if (task.register) {
      const registered =
        task.loop !== undefined
          ? { changed: status === 'changed', failed: status === 'failed', skipped: status === 'skipped', results: units.map((unit) => ({ item: unit.item?.value, ...unit.outcome?.result })) }
          : { ...(units[0]?.outcome?.result ?? {}), changed: status === 'changed', failed: status === 'failed', skipped: status === 'skipped' };
      this.run.facts.set(this.host, task.register, registered);
      if (task.noLog) this.run.hideResult(registered);
    }
    if (status === 'failed' && !task.ignoreErrors) {
      this.failed = true;
      this.failedAtUnit ??= Math.max(...units.map((unit) => Number(unit.key.slice(1))));
    }
  }
}
