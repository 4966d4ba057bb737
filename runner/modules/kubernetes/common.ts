// Helpers shared by the Kubernetes modules: kubectl invocations, the
// kubeadm token format, CIDR checks and the parsing of kubeadm's own files.

import { shellQuote } from '../shell-lib.ts';
import type { JsonSchema } from '../types.ts';

/** Admin kubeconfig that `kubeadm init` writes on the control-plane node. */
export const ADMIN_KUBECONFIG = '/etc/kubernetes/admin.conf';

/** Kubeconfig that `kubeadm join` (and `init`) writes for the node's kubelet. */
export const KUBELET_KUBECONFIG = '/etc/kubernetes/kubelet.conf';

export const kubeconfigSchema: JsonSchema = {
  type: 'string',
  pattern: '^/',
  default: ADMIN_KUBECONFIG,
  description: 'Kubeconfig that kubectl uses on the host. Absolute path on the host.',
};

/** `kubectl --kubeconfig=FILE`, quoted for the shell. */
export function kubectl(kubeconfig: string | undefined): string {
  return `kubectl --kubeconfig=${shellQuote(kubeconfig ?? ADMIN_KUBECONFIG)}`;
}

/**
 * A bootstrap token as kubeadm prints it: 6 and 16 characters of [a-z0-9]
 * joined by a dot (kubeadm's `\A([a-z0-9]{6})\.([a-z0-9]{16})\z`).
 */
export const TOKEN_PATTERN = /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g;

/** Replace bootstrap tokens in kubeadm output, so results can be shown and registered. */
export function redactTokens(text: string): string {
  return text.replace(TOKEN_PATTERN, '<token>');
}

/** Parse an IPv4 or IPv6 CIDR; returns undefined when it is not one. */
export function parseCidr(text: string): { family: 4 | 6; prefix: number } | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!match) return undefined;
  const [, address = '', prefixText = ''] = match;
  const prefix = Number(prefixText);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) {
    const valid = address.split('.').every((part) => Number(part) <= 255);
    return valid && prefix <= 32 ? { family: 4, prefix } : undefined;
  }
  if (/^[0-9a-fA-F:]+$/.test(address) && address.includes(':') && prefix <= 128) return { family: 6, prefix };
  return undefined;
}

/** Split a podSubnet into its comma-separated subnets, sorted, for comparison. */
export function subnetSet(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .sort();
}

/**
 * Read `networking.podSubnet` from the ClusterConfiguration YAML that
 * kubeadm stores in the kube-system/kubeadm-config ConfigMap. Returns
 * null when the document has no podSubnet (kubeadm init ran without
 * --pod-network-cidr), undefined when it is not a ClusterConfiguration.
 */
export function podSubnetOf(clusterConfiguration: string): string | null | undefined {
  if (!/^kind:\s*ClusterConfiguration\s*$/m.test(clusterConfiguration)) return undefined;
  const lines = clusterConfiguration.split('\n');
  let inNetworking = false;
  for (const line of lines) {
    if (/^networking:\s*$/.test(line)) {
      inNetworking = true;
      continue;
    }
    if (inNetworking && /^\S/.test(line)) inNetworking = false;
    const match = inNetworking ? /^\s+podSubnet:\s*"?([^"\s]+)"?\s*$/.exec(line) : null;
    if (match) return match[1] ?? null;
  }
  return null;
}

/** Decode probe output that a probe sent as `KEY b64 BASE64`, or undefined. */
export function decodeBase64Line(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value === 'b64') return '';
  if (!value.startsWith('b64 ')) return undefined;
  return Buffer.from(value.slice(4), 'base64').toString('utf8');
}

/**
 * Shell that runs a command and prints `KEY rc N` and its stdout and stderr
 * as `KEY.out b64 ...` and `KEY.err b64 ...` lines, so multi-line output
 * travels inside the one-line-per-fact probe format.
 */
export function captureCommand(key: string, command: string): string {
  // The inner command substitution captures stderr; stdout and the exit
  // code leave through fd 3, so no temporary file is needed.
  const b64 = "base64 | tr -d '\\n'";
  return [
    '{ op_err=$( {',
    `  op_out=$(${command}); op_rc=$?`,
    `  printf '%s rc %s\\n' ${key} "$op_rc" >&3`,
    `  printf '%s.out b64 %s\\n' ${key} "$(printf '%s' "$op_out" | ${b64})" >&3`,
    '} 2>&1 )',
    `printf '%s.err b64 %s\\n' ${key} "$(printf '%s' "$op_err" | ${b64})"; } 3>&1`,
    '',
  ].join('\n');
}

/** Output of a command captured by `captureCommand`. */
export interface CapturedCommand {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Read what `captureCommand` printed under `key`, or undefined when it did not run. */
export function readCaptured(lines: Map<string, string>, key: string): CapturedCommand | undefined {
  const rc = lines.get(key);
  if (rc === undefined || !rc.startsWith('rc ')) return undefined;
  return {
    exitCode: Number(rc.slice(3)),
    stdout: decodeBase64Line(lines.get(`${key}.out`)) ?? '',
    stderr: decodeBase64Line(lines.get(`${key}.err`)) ?? '',
  };
}

/** Keep the last non-empty lines of a text, for messages. */
export function lastLines(text: string, count = 5): string {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '')
    .slice(-count)
    .join('\n');
}
