// kubeadm_join_command mints a fresh bootstrap token on the control plane
// on every run, so a worker added a day later never meets an expired one.
// kubeadm_join joins a worker only when /etc/kubernetes/kubelet.conf is
// absent. Tokens and join commands never appear in a reason or summary.

import { defineModule } from '../define.ts';
import { parseProbeLines, probeFailure, shellQuote } from '../shell-lib.ts';
import type { JsonSchema, Outcome, Plan, Probe, ProbeOutput } from '../types.ts';
import type { RunResult } from '../../transport/types.ts';
import { ADMIN_KUBECONFIG, KUBELET_KUBECONFIG, lastLines, redactTokens } from './common.ts';
import { kubeadmFailureHints } from './kubeadm-init.ts';

/** A join command as `kubeadm token create --print-join-command` prints it (v1.30). */
const JOIN_COMMAND = /^kubeadm join (\S+:\d+) --token ([a-z0-9]{6}\.[a-z0-9]{16}) --discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})\s*$/;

export interface JoinCommand {
  apiServerEndpoint: string;
  token: string;
  caCertHash: string;
}

/** Parse a join command; undefined when it is not one kubeadm prints. */
export function parseJoinCommand(text: string): JoinCommand | undefined {
  for (const line of text.split('\n')) {
    const match = JOIN_COMMAND.exec(line.trim());
    if (match) return { apiServerEndpoint: match[1] ?? '', token: match[2] ?? '', caCertHash: match[3] ?? '' };
  }
  return undefined;
}

// ---- kubeadm_join_command -------------------------------------------------

export interface KubeadmJoinCommandArgs {
  ttl?: string;
  kubeconfig?: string;
}

const joinCommandSchema: JsonSchema = {
  type: 'object',
  properties: {
    ttl: {
      type: 'string',
      pattern: '^\\d+(s|m|h)$',
      default: '2h',
      description: 'Lifetime of the minted token (--ttl), e.g. 2h. Each run mints a new one, so it only has to outlive the run.',
    },
    kubeconfig: { type: 'string', pattern: '^/', default: ADMIN_KUBECONFIG, description: 'Admin kubeconfig on the control-plane node.' },
  },
  additionalProperties: false,
};

function probeJoinCommand(args: KubeadmJoinCommandArgs): Probe {
  const kubeconfig = shellQuote(args.kubeconfig ?? ADMIN_KUBECONFIG);
  return { script: `if [ -f ${kubeconfig} ]; then echo 'kubeconfig present'; else echo 'kubeconfig absent'; fi\n`, reads: [args.kubeconfig ?? ADMIN_KUBECONFIG] };
}

/** Turn the output of `kubeadm token create --print-join-command` into the registered result. */
export function interpretJoinCommand(ttl: string): (result: RunResult) => Outcome {
  return (result) => {
    const stdout = result.stdout.toString('utf8');
    if (result.exitCode !== 0) {
      const detail = redactTokens(lastLines(result.stderr.toString('utf8') || stdout, 5));
      return { changed: false, failed: `kubeadm token create failed (exit ${result.exitCode}): ${detail}. Check that the API server answers (kubectl get nodes).` };
    }
    const parsed = parseJoinCommand(stdout);
    if (parsed === undefined) {
      return { changed: false, failed: 'kubeadm token create --print-join-command printed no join command of the form "kubeadm join HOST:PORT --token ... --discovery-token-ca-cert-hash sha256:...".' };
    }
    const joinCommand = `kubeadm join ${parsed.apiServerEndpoint} --token ${parsed.token} --discovery-token-ca-cert-hash ${parsed.caCertHash}`;
    // Minting a token changes no host state that a rerun would undo, so it is reported as ok.
    return {
      changed: false,
      reason: `minted a join token for ${parsed.apiServerEndpoint}, valid for ${ttl} (not shown)`,
      result: { join_command: joinCommand, api_server_endpoint: parsed.apiServerEndpoint, token: parsed.token, ca_cert_hash: parsed.caCertHash },
    };
  };
}

function planJoinCommand(args: KubeadmJoinCommandArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, 'the admin kubeconfig');
  if (failure) return failure;
  const kubeconfig = args.kubeconfig ?? ADMIN_KUBECONFIG;
  if (parseProbeLines(probed.stdout).get('kubeconfig') !== 'present') {
    return { status: 'failed', message: `${kubeconfig} does not exist, so this node is not an initialised control plane. Run kubeadm_init first.` };
  }
  const ttl = args.ttl ?? '2h';
  const command = `kubeadm token create --print-join-command --ttl ${shellQuote(ttl)} --kubeconfig ${shellQuote(kubeconfig)}`;
  return {
    status: 'change',
    summary: `mint a join token valid for ${ttl}`,
    steps: [{ description: 'kubeadm token create', script: `${command}\n` }],
    affects: [],
    outputNeeded: true,
    interpret: interpretJoinCommand(ttl),
  };
}

export const kubeadmJoinCommandModule = defineModule<KubeadmJoinCommandArgs>({
  name: 'kubeadm_join_command',
  description:
    'Mint a fresh bootstrap token on the control plane and register the join command (join_command, token, ca_cert_hash) for the workers; reported ok, never changed. Use with no_log.',
  schema: joinCommandSchema,
  idempotent: true,
  probe: probeJoinCommand,
  plan: planJoinCommand,
});

// ---- kubeadm_join ---------------------------------------------------------

export interface KubeadmJoinArgs {
  join_command?: string;
  cri_socket?: string;
  node_name?: string;
  ignore_preflight_errors?: string[];
}

const joinSchema: JsonSchema = {
  type: 'object',
  properties: {
    join_command: {
      type: 'string',
      description:
        "The master's join command, as kubeadm_join_command registers it (hostvars.MASTER.kubeadm_join_info.join_command). A joined node needs none, so it may be unset or empty then.",
    },
    cri_socket: { type: 'string', pattern: '^(unix://\\S+)?$', description: 'Runtime socket (--cri-socket), e.g. unix:///var/run/cri-dockerd.sock; empty lets kubeadm find it.' },
    node_name: { type: 'string', pattern: '^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$', description: 'Node name (--node-name); empty or unset is the host name.' },
    ignore_preflight_errors: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9-]+$' }, default: [], description: 'kubeadm preflight checks to turn into warnings.' },
  },
  additionalProperties: false,
};

function probeJoin(): Probe {
  const script = [
    'if command -v kubeadm >/dev/null 2>&1; then echo \'kubeadm present\'; else echo \'kubeadm absent\'; fi',
    `if [ -f ${KUBELET_KUBECONFIG} ]; then`,
    "  echo 'kubelet_conf present'",
    `  awk '$1 == "server:" { print "server", $2; exit }' ${KUBELET_KUBECONFIG}`,
    "else echo 'kubelet_conf absent'; fi",
    '',
  ].join('\n');
  return { script, reads: [KUBELET_KUBECONFIG] };
}

/** Build the `kubeadm join` command line, quoted for the shell. */
export function joinCommandLine(join: JoinCommand, args: KubeadmJoinArgs): string {
  const words = ['kubeadm', 'join', join.apiServerEndpoint, '--token', join.token, '--discovery-token-ca-cert-hash', join.caCertHash];
  if (args.cri_socket !== undefined && args.cri_socket !== '') words.push(`--cri-socket=${args.cri_socket}`);
  if (args.node_name !== undefined && args.node_name !== '') words.push(`--node-name=${args.node_name}`);
  const ignored = args.ignore_preflight_errors ?? [];
  if (ignored.length > 0) words.push(`--ignore-preflight-errors=${ignored.join(',')}`);
  return words.map(shellQuote).join(' ');
}

/** Turn the output of `kubeadm join` into the outcome; the token is redacted. */
export function interpretJoin(result: RunResult): Outcome {
  const stdout = redactTokens(result.stdout.toString('utf8'));
  const stderr = redactTokens(result.stderr.toString('utf8'));
  const fields = { rc: result.exitCode, stdout, stderr };
  if (result.exitCode === 0 && stdout.includes('This node has joined the cluster')) return { changed: true, result: fields };
  const hints = kubeadmFailureHints(`${stdout}\n${stderr}`);
  const detail = hints.length > 0 ? hints.join('\n') : lastLines(`${stdout}\n${stderr}`, 10);
  return { changed: true, failed: `kubeadm join failed (exit ${result.exitCode}): ${detail}`, result: fields };
}

function planJoin(args: KubeadmJoinArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, 'the node state');
  if (failure) return failure;
  const lines = parseProbeLines(probed.stdout);
  const join = parseJoinCommand(args.join_command ?? '');

  if (lines.get('kubelet_conf') === 'present') {
    const server = lines.get('server');
    if (join !== undefined && server !== undefined && server !== `https://${join.apiServerEndpoint}`) {
      return {
        status: 'failed',
        message: `this node already belongs to another cluster: ${KUBELET_KUBECONFIG} points at ${server}, not https://${join.apiServerEndpoint}. Reset it by hand (kubeadm reset; onionplay never runs it), then rerun.`,
      };
    }
    return { status: 'ok', reason: `already joined: ${KUBELET_KUBECONFIG} exists${server === undefined ? '' : ` (API server ${server})`}, so kubeadm join is not run again` };
  }
  if (args.join_command === undefined || args.join_command === '') {
    return {
      status: 'failed',
      message:
        "this node has not joined and there is no join command: the master's kubeadm_join_command did not run in this run. " +
        "Run the masters' play before the workers' play, in the same run. In check mode the master mints no token, so a node that still has to join cannot be checked.",
    };
  }
  if (join === undefined) {
    return {
      status: 'failed',
      message: 'join_command is not a command of the form "kubeadm join HOST:PORT --token ... --discovery-token-ca-cert-hash sha256:..." (the value is not shown). Pass the join_command that kubeadm_join_command registered on the master.',
    };
  }
  if (lines.get('kubeadm') !== 'present') {
    return { status: 'failed', message: 'kubeadm is not installed on this host. Install kubelet, kubeadm and kubectl first (the kubernetes-common role).' };
  }
  return {
    status: 'change',
    summary: `kubeadm join ${join.apiServerEndpoint}`,
    steps: [{ description: `kubeadm join ${join.apiServerEndpoint}`, script: `${joinCommandLine(join, args)}\n` }],
    affects: 'everything',
    interpret: interpretJoin,
  };
}

export const kubeadmJoinModule = defineModule<KubeadmJoinArgs>({
  name: 'kubeadm_join',
  description: 'Join a worker with the join command from the master, only when /etc/kubernetes/kubelet.conf is absent.',
  schema: joinSchema,
  idempotent: true,
  probe: probeJoin,
  plan: planJoin,
});
