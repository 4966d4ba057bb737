// The modules a task can name, looked up by the executor and the loader.

import { aptRepositoryModule } from './apt-repository.ts';
import { aptModule } from './apt.ts';
import { blockInFileModule } from './blockinfile.ts';
import { commandModule, shellModule } from './command.ts';
import { assertModule, debugModule, failModule, setFactModule } from './controller.ts';
import { copyModule } from './copy.ts';
import { renderModuleDocs } from './docs.ts';
import { fileModule } from './file.ts';
import { kubernetesModules } from './kubernetes/index.ts';
import { lineInFileModule } from './lineinfile.ts';
import { metaModule } from './meta.ts';
import { modprobeModule } from './modprobe.ts';
import { nftablesConfirmModule, nftablesTableModule } from './nftables/table.ts';
import { aptTorSourcesModule } from './onion/apt-tor-sources.ts';
import { onionKeysModule } from './onion/onion-keys.ts';
import { onionReachableModule, sshLoginCheckModule } from './onion/onion-reachable.ts';
import { fetchModule, slurpModule } from './slurp.ts';
import { statModule } from './stat.ts';
import { sysctlModule } from './sysctl.ts';
import { serviceModule, systemdModule } from './systemd.ts';
import { templateModule } from './template.ts';
import type { ModuleDefinition } from './types.ts';
import { waitForModule } from './wait-for.ts';

/** The general-purpose modules, named and shaped after Ansible's. */
const CORE_MODULES: ModuleDefinition[] = [
  aptModule,
  aptRepositoryModule,
  assertModule,
  blockInFileModule,
  commandModule,
  copyModule,
  debugModule,
  failModule,
  fetchModule,
  fileModule,
  lineInFileModule,
  metaModule,
  modprobeModule,
  serviceModule,
  setFactModule,
  shellModule,
  slurpModule,
  statModule,
  sysctlModule,
  systemdModule,
  templateModule,
  waitForModule,
];

/** Modules written for the shipped roles (tor, sshd-onion, nftables, Kubernetes). */
const ROLE_MODULES: ModuleDefinition[] = [
  ...kubernetesModules,
  aptTorSourcesModule,
  nftablesConfirmModule,
  nftablesTableModule,
  onionKeysModule,
  onionReachableModule,
  sshLoginCheckModule,
];

const BY_NAME = new Map([...CORE_MODULES, ...ROLE_MODULES].map((module) => [module.name, module]));

/** Names of the general-purpose modules, sorted. */
export function coreModuleNames(): string[] {
  return CORE_MODULES.map((module) => module.name).sort();
}

/** Look up the module a task names; undefined for an unknown name. */
export function getModule(name: string): ModuleDefinition | undefined {
  return BY_NAME.get(name);
}

/** Names of every module, sorted. */
export function moduleNames(): string[] {
  return [...BY_NAME.keys()].sort();
}

/** Return every module, sorted by name. */
export function allModules(): ModuleDefinition[] {
  return moduleNames().map((name) => BY_NAME.get(name) as ModuleDefinition);
}

/** Markdown documentation of every module, generated from the schemas. */
export function moduleDocs(): string {
  return renderModuleDocs(allModules());
}
