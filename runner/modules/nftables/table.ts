// nftables_table and nftables_confirm: load one nftables table of our own
// (never `flush ruleset`, so Docker's and kube-proxy's tables survive),
// with an automatic rollback that fires unless a later task confirms.

import { createHash } from 'node:crypto';
import { posix } from 'node:path';

import { defineModule } from '../define.ts';
import { remotePath } from '../schema-parts.ts';
import { FILE_FUNCTIONS, fileStateProbe, parseFileState, parseProbeLines, shellQuote, writeFileScript } from '../shell-lib.ts';
import type { Plan, ProbeOutput, Step } from '../types.ts';

interface TableArgs {
  family?: 'inet' | 'ip' | 'ip6';
  table?: string;
  /** The table's body: chains and sets, without the `table ... {}` around them. */
  rules?: string;
  /** A template of the role that renders to `rules`. */
  src?: string;
  file?: string;
  /** Seconds until the old table is put back unless nftables_confirm runs; 0 disables. */
  rollback_seconds?: number;
}

const ROLLBACK_UNIT = 'onionplay-firewall-rollback';
const ROLLBACK_FILE = '/var/lib/onionplay/firewall-rollback.nft';
const ROLLBACK_PID = '/run/onionplay-firewall-rollback.pid';

function defaults(args: TableArgs): Required<Omit<TableArgs, 'src'>> {
  return {
    family: args.family ?? 'inet',
    table: args.table ?? 'onionplay',
    rules: args.rules ?? '',
    file: args.file ?? '/etc/onionplay/firewall.nft',
    rollback_seconds: args.rollback_seconds ?? 120,
  };
}

/** Build the table's file: create the table if absent, delete it, define it anew. `nft -f` applies all three as one transaction. */
export function tableFile(args: TableArgs): { content: string; sha256: string } {
  const full = defaults(args);
  const sha256 = createHash('sha256').update(full.rules).digest('hex');
  const name = `${full.family} ${full.table}`;
  const body = full.rules.trimEnd().replace(/^/gm, '  ');
  const content = [
    '#!/usr/sbin/nft -f',
    `# Managed by onionplay. Loading this file replaces table ${name} only; other tables stay.`,
    `table ${name}`,
    `delete table ${name}`,
    `table ${name} {`,
    `  comment "onionplay sha256:${sha256}"`,
    body,
    '}',
    '',
  ].join('\n');
  return { content, sha256 };
}

function armRollbackScript(full: Required<Omit<TableArgs, 'src'>>): string {
  const name = `${full.family} ${full.table}`;
  const seconds = String(full.rollback_seconds);
  return [
    `mkdir -p ${shellQuote(posix.dirname(ROLLBACK_FILE))}`,
    `{ printf 'table %s\\ndelete table %s\\n' ${shellQuote(name)} ${shellQuote(name)}; nft list table ${name} 2>/dev/null || true; } >${ROLLBACK_FILE}.tmp`,
    `mv -f ${ROLLBACK_FILE}.tmp ${ROLLBACK_FILE}`,
    `if command -v systemd-run >/dev/null 2>&1 && [ -d /run/systemd/system ]; then`,
    `  systemctl stop ${ROLLBACK_UNIT}.timer ${ROLLBACK_UNIT}.service >/dev/null 2>&1 || true`,
    `  systemctl reset-failed ${ROLLBACK_UNIT}.service >/dev/null 2>&1 || true`,
    `  systemd-run --quiet --unit=${ROLLBACK_UNIT} --on-active=${seconds} /usr/sbin/nft -f ${ROLLBACK_FILE}`,
    `else`,
    `  [ -f ${ROLLBACK_PID} ] && kill "$(cat ${ROLLBACK_PID})" 2>/dev/null || true`,
    `  setsid sh -c 'sleep "$1"; nft -f "$2"; rm -f "$3"' onionplay-rollback ${seconds} ${ROLLBACK_FILE} ${ROLLBACK_PID} </dev/null >/dev/null 2>&1 &`,
    `  echo $! >${ROLLBACK_PID}`,
    `fi`,
    '',
  ].join('\n');
}

export const nftablesTableModule = defineModule<TableArgs>({
  name: 'nftables_table',
  description:
    'Load one nftables table from a file, replacing only that table, checked with `nft -c` first and with a rollback that fires unless nftables_confirm runs.',
  idempotent: true,
  schema: {
    type: 'object',
    additionalProperties: false,
    oneOf: [{ required: ['rules'] }, { required: ['src'] }],
    properties: {
      src: { type: 'string', description: 'Template of the role (templates/) that renders the table body; instead of rules.' },
      family: { enum: ['inet', 'ip', 'ip6'], default: 'inet', description: 'Address family of the table.' },
      table: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_]*$', default: 'onionplay', description: 'Name of the table; other tables are never touched.' },
      rules: { type: 'string', minLength: 1, description: 'Body of the table: chains and sets, in nft syntax.' },
      file: { ...remotePath('File the table is kept in, loaded at boot by onionplay-firewall.service.'), default: '/etc/onionplay/firewall.nft' },
      rollback_seconds: {
        type: 'integer',
        minimum: 0,
        maximum: 3600,
        default: 120,
        description: 'Seconds after which the previous table is put back unless nftables_confirm runs; 0 loads without rollback.',
      },
    },
  },
  async prepare(args: TableArgs, context) {
    if (args.src === undefined) return args;
    const { src, ...rest } = args;
    return { ...rest, rules: await context.renderTemplateFile(src) };
  },
  probe(args: TableArgs) {
    const full = defaults(args);
    const name = `${full.family} ${full.table}`;
    return {
      script: [
        FILE_FUNCTIONS + fileStateProbe('file', full.file),
        `if ! command -v nft >/dev/null 2>&1; then echo 'live missing-nft'; exit 0; fi`,
        `op_live=$(nft list table ${name} 2>/dev/null | grep -o 'comment "onionplay sha256:[0-9a-f]*"' | head -n 1)`,
        `if [ -n "$op_live" ]; then printf 'live %s\\n' "$(printf '%s' "$op_live" | sed 's/.*sha256:\\([0-9a-f]*\\).*/\\1/')"; else echo 'live none'; fi`,
        '',
      ].join('\n'),
      reads: [full.file, `nft:${name}`],
    };
  },
  plan(args: TableArgs, probed: ProbeOutput): Plan {
    const full = defaults(args);
    const name = `${full.family} ${full.table}`;
    if (probed.exitCode !== 0) return { status: 'failed', message: `probing table ${name} failed: ${probed.stderr.trim()}` };
    const lines = parseProbeLines(probed.stdout);
    const live = lines.get('live');
    if (live === 'missing-nft') return { status: 'failed', message: 'nft is not installed on the host; install the nftables package first' };
    const { content, sha256 } = tableFile(full);
    const fileState = parseFileState(lines.get('file'));
    const fileSha = fileState.type === 'file' ? fileState.sha256 : undefined;
    const wantedFileSha = createHash('sha256').update(content).digest('hex');
    if (live === sha256 && fileSha === wantedFileSha) {
      return { status: 'ok', reason: `table ${name} is loaded with the wanted rules and ${full.file} matches (sha256 ${sha256.slice(0, 12)})` };
    }
    const steps: Step[] = [
      { description: `create ${posix.dirname(full.file)}`, script: `mkdir -p ${shellQuote(posix.dirname(full.file))}\n` },
      {
        description: `write ${full.file}, checked with nft -c`,
        script: writeFileScript(full.file, Buffer.from(content), { mode: '0600', validate: 'nft -c -f %s' }),
      },
    ];
    if (full.rollback_seconds > 0) steps.push({ description: `arm a rollback of table ${name} in ${full.rollback_seconds} s`, script: armRollbackScript(full) });
    steps.push({ description: `load table ${name}`, script: `nft -f ${shellQuote(full.file)}\n` });
    let why = `table ${name} has other rules`;
    if (live === 'none') why = `table ${name} is not loaded`;
    if (live === sha256) why = `${full.file} differs from the loaded table`;
    return {
      status: 'change',
      summary: `load table ${name} (${why})${full.rollback_seconds > 0 ? `, rolled back in ${full.rollback_seconds} s unless confirmed` : ''}`,
      steps,
      affects: [full.file, `nft:${name}`],
    };
  },
});

export const nftablesConfirmModule = defineModule<Record<string, never>>({
  name: 'nftables_confirm',
  description: 'Cancel the pending rollback armed by nftables_table, once the controller has reconnected through the new rules.',
  idempotent: true,
  schema: { type: 'object', additionalProperties: false, properties: {} },
  probe() {
    return {
      script: [
        `if systemctl is-active --quiet ${ROLLBACK_UNIT}.timer 2>/dev/null; then echo 'armed timer'; `,
        `elif [ -f ${ROLLBACK_PID} ] && kill -0 "$(cat ${ROLLBACK_PID})" 2>/dev/null; then echo 'armed pid'; else echo 'armed none'; fi`,
        '',
      ].join('\n'),
      reads: ['nft:rollback'],
    };
  },
  plan(_args, probed: ProbeOutput): Plan {
    const armed = parseProbeLines(probed.stdout).get('armed');
    if (armed === 'none' || armed === undefined) return { status: 'ok', reason: 'no firewall rollback is pending' };
    const script =
      armed === 'timer'
        ? `systemctl stop ${ROLLBACK_UNIT}.timer\nsystemctl reset-failed ${ROLLBACK_UNIT}.service >/dev/null 2>&1 || true\n`
        : `kill "$(cat ${ROLLBACK_PID})"\nrm -f ${ROLLBACK_PID}\n`;
    return {
      status: 'change',
      summary: 'keep the new firewall rules: cancel the pending rollback',
      steps: [{ description: 'cancel the firewall rollback', script }],
      affects: ['nft:rollback'],
    };
  },
});
