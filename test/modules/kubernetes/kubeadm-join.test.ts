import test from 'ava';

import { kubeadmJoinCommandModule, kubeadmJoinModule, parseJoinCommand } from '../../../runner/modules/kubernetes/kubeadm-join.ts';
import type { Outcome, Plan } from '../../../runner/modules/types.ts';
import { checkRow, planRow, type PlanRow } from '../table.ts';
import { CA_HASH, JOIN_COMMAND_OUTPUT, JOIN_EXPIRED_TOKEN, JOIN_SUCCESS_OUTPUT, TOKEN } from './outputs.ts';

const joinCommand = JOIN_COMMAND_OUTPUT.trim();

const rows: PlanRow[] = [
  {
    name: 'join command on an initialised master',
    module: kubeadmJoinCommandModule,
    args: {},
    stdout: 'kubeconfig present\n',
    expect: {
      status: 'change',
      summary: 'mint a join token valid for 2h',
      outputNeeded: true,
      steps: ['kubeadm token create --print-join-command --ttl 2h --kubeconfig /etc/kubernetes/admin.conf'],
    },
  },
  {
    name: 'join command before init',
    module: kubeadmJoinCommandModule,
    args: { ttl: '30m' },
    stdout: 'kubeconfig absent\n',
    expect: { status: 'failed', message: /\/etc\/kubernetes\/admin\.conf does not exist.*Run kubeadm_init first/ },
  },
  {
    name: 'fresh worker joins',
    module: kubeadmJoinModule,
    args: { join_command: joinCommand },
    stdout: 'kubeadm present\nkubelet_conf absent\n',
    expect: {
      status: 'change',
      summary: 'kubeadm join 10.200.0.11:6443',
      affects: 'everything',
      steps: ['kubeadm join 10.200.0.11:6443 --token ', TOKEN, ' --discovery-token-ca-cert-hash ', CA_HASH],
    },
  },
  {
    name: 'fresh worker with a runtime socket',
    module: kubeadmJoinModule,
    args: { join_command: joinCommand, cri_socket: 'unix:///var/run/cri-dockerd.sock', node_name: 'ciclope' },
    stdout: 'kubeadm present\nkubelet_conf absent\n',
    expect: { status: 'change', steps: ['--cri-socket=unix:///var/run/cri-dockerd.sock', '--node-name=ciclope'] },
  },
  {
    name: 'joined worker is left alone',
    module: kubeadmJoinModule,
    args: { join_command: joinCommand },
    stdout: 'kubeadm present\nkubelet_conf present\nserver https://10.200.0.11:6443\n',
    expect: {
      status: 'ok',
      reason: 'already joined: /etc/kubernetes/kubelet.conf exists (API server https://10.200.0.11:6443), so kubeadm join is not run again',
    },
  },
  {
    name: 'joined worker without a fresh join command',
    module: kubeadmJoinModule,
    args: { join_command: 'none' },
    stdout: 'kubeadm present\nkubelet_conf present\nserver https://10.200.0.11:6443\n',
    expect: {
      status: 'ok',
      reason: 'already joined: /etc/kubernetes/kubelet.conf exists (API server https://10.200.0.11:6443), so kubeadm join is not run again',
    },
  },
  {
    name: 'joined worker in check mode, no join command',
    module: kubeadmJoinModule,
    args: {},
    stdout: 'kubeadm present\nkubelet_conf present\nserver https://10.200.0.11:6443\n',
    expect: {
      status: 'ok',
      reason: 'already joined: /etc/kubernetes/kubelet.conf exists (API server https://10.200.0.11:6443), so kubeadm join is not run again',
    },
  },
  {
    name: 'fresh worker without a join command',
    module: kubeadmJoinModule,
    args: { join_command: '' },
    stdout: 'kubeadm present\nkubelet_conf absent\n',
    expect: { status: 'failed', message: /^this node has not joined and there is no join command: .*Run the masters' play before the workers' play/ },
  },
  {
    name: 'worker of another cluster',
    module: kubeadmJoinModule,
    args: { join_command: joinCommand },
    stdout: 'kubeadm present\nkubelet_conf present\nserver https://192.0.2.10:6443\n',
    expect: { status: 'failed', message: /already belongs to another cluster: .* points at https:\/\/192\.0\.2\.10:6443, not https:\/\/10\.200\.0\.11:6443/ },
  },
  {
    name: 'malformed join command',
    module: kubeadmJoinModule,
    args: { join_command: 'kubeadm join 10.200.0.11:6443 --token abc; rm -rf /' },
    stdout: 'kubeadm present\nkubelet_conf absent\n',
    expect: { status: 'failed', message: /^join_command is not a command of the form/ },
  },
  {
    name: 'kubeadm missing on the worker',
    module: kubeadmJoinModule,
    args: { join_command: joinCommand },
    stdout: 'kubeadm absent\nkubelet_conf absent\n',
    expect: { status: 'failed', message: /kubeadm is not installed/ },
  },
];

for (const row of rows) test(`kubeadm join: ${row.name}`, (t) => checkRow(t, row));

function interpretOf(plan: Plan, stdout: string, stderr: string, exitCode: number): Outcome {
  if (plan.status !== 'change' || plan.interpret === undefined) throw new Error('expected a change plan with interpret');
  return plan.interpret({ stdout: Buffer.from(stdout), stderr: Buffer.from(stderr), exitCode, timedOut: false });
}

test('join command: minted token is ok, not changed', (t) => {
  const outcome = interpretOf(planRow(rows[0] as PlanRow), JOIN_COMMAND_OUTPUT, '', 0);
  t.false(outcome.changed);
  t.is(outcome.failed, undefined);
  t.is(outcome.reason, 'minted a join token for 10.200.0.11:6443, valid for 2h (not shown)');
  t.false((outcome.reason ?? '').includes(TOKEN), 'the token is in the reason');
  t.is(outcome.result?.join_command, `kubeadm join 10.200.0.11:6443 --token ${TOKEN} --discovery-token-ca-cert-hash ${CA_HASH}`);
  t.is(outcome.result?.token, TOKEN);
});

test('join command: output without a join line fails', (t) => {
  const outcome = interpretOf(planRow(rows[0] as PlanRow), 'W1204 17:00:00 warning only\n', '', 0);
  t.regex(outcome.failed ?? '', /printed no join command/);
});

test('join command: API error keeps tokens out', (t) => {
  const outcome = interpretOf(planRow(rows[0] as PlanRow), '', `failed to create token ${TOKEN}: connection refused`, 1);
  t.regex(outcome.failed ?? '', /^kubeadm token create failed \(exit 1\)/);
  t.false((outcome.failed ?? '').includes(TOKEN));
});

test('kubeadm join: success output is a change', (t) => {
  const outcome = interpretOf(planRow(rows[2] as PlanRow), JOIN_SUCCESS_OUTPUT, '', 0);
  t.true(outcome.changed);
  t.is(outcome.failed, undefined);
});

test('kubeadm join: expired token names the fix', (t) => {
  const outcome = interpretOf(planRow(rows[2] as PlanRow), '', JOIN_EXPIRED_TOKEN, 1);
  t.regex(outcome.failed ?? '', /^kubeadm join failed \(exit 1\): The bootstrap token was rejected: it expired or was deleted\. Rerun the playbook/);
});

test('kubeadm join: summary and reason never hold the token', (t) => {
  for (const row of rows) {
    const plan = planRow(row);
    const shown = plan.status === 'change' ? plan.summary + (plan.diff ?? '') : plan.status === 'ok' ? plan.reason : plan.message;
    t.false(shown.includes(TOKEN), `${row.name}: token shown`);
  }
});

test('parseJoinCommand: reads kubeadm output', (t) => {
  t.deepEqual(parseJoinCommand(JOIN_COMMAND_OUTPUT), { apiServerEndpoint: '10.200.0.11:6443', token: TOKEN, caCertHash: CA_HASH });
  t.is(parseJoinCommand(`kubeadm join 10.200.0.11:6443 --token ${TOKEN.toUpperCase()} --discovery-token-ca-cert-hash ${CA_HASH}`), undefined);
});
