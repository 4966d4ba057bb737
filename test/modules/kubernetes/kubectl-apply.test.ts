import test from 'ava';

import { kubectlApplyModule, manifestObjects, parseApplyOutput } from '../../../runner/modules/kubernetes/kubectl-apply.ts';
import type { Outcome } from '../../../runner/modules/types.ts';
import { checkRow, planRow, type PlanRow } from '../table.ts';
import { APPLY_CONFIGURED, APPLY_CREATED, APPLY_UNCHANGED, captured, DIFF_CONFIGMAP, DIFF_NAMESPACE_MISSING } from './outputs.ts';

const manifest = `---
apiVersion: v1
kind: Namespace
metadata:
  name: kube-flannel
---
apiVersion: v1
kind: ConfigMap
metadata:
  namespace: kube-flannel
  name: kube-flannel-cfg
data:
  net-conf.json: |
    {"Network": "10.244.0.0/16"}
`;

const args = { content: manifest, manifest };

const rows: PlanRow[] = [
  {
    name: 'no differences',
    module: kubectlApplyModule,
    args,
    stdout: `kubeconfig present\n${captured('diff', 0, '')}`,
    expect: { status: 'ok', reason: 'kubectl diff found no differences in the 2 objects of the manifest' },
  },
  {
    name: 'differences are applied with the diff shown',
    module: kubectlApplyModule,
    args,
    stdout: `kubeconfig present\n${captured('diff', 1, DIFF_CONFIGMAP)}`,
    expect: {
      status: 'change',
      summary: 'apply 2 objects (kubectl diff found differences)',
      diff: /\+      "Network": "10\.245\.0\.0\/16",/,
      outputNeeded: false,
      steps: ['base64 -d | kubectl --kubeconfig=/etc/kubernetes/admin.conf apply -f -'],
    },
  },
  {
    name: 'first apply into a missing namespace',
    module: kubectlApplyModule,
    args,
    stdout: `kubeconfig present\n${captured('diff', 2, '', DIFF_NAMESPACE_MISSING)}`,
    expect: {
      status: 'change',
      summary: 'apply 2 objects (kubectl diff failed: Error from server (NotFound): namespaces "kube-flannel" not found)',
      outputNeeded: true,
      diff: 'namespace/kube-flannel\nconfigmap/kube-flannel-cfg\n',
    },
  },
  {
    name: 'no kubeconfig',
    module: kubectlApplyModule,
    args: { ...args, kubeconfig: '/root/.kube/config' },
    stdout: `kubeconfig absent\n${captured('diff', 1, '', 'error: stat /root/.kube/config: no such file or directory')}`,
    expect: { status: 'failed', message: /^\/root\/\.kube\/config does not exist/ },
  },
];

for (const row of rows) test(`kubectl_apply: ${row.name}`, (t) => checkRow(t, row));

function interpret(stdout: string, stderr = '', exitCode = 0): Outcome {
  const plan = planRow(rows[2] as PlanRow);
  if (plan.status !== 'change' || plan.interpret === undefined) throw new Error('expected a change plan');
  return plan.interpret({ stdout: Buffer.from(stdout), stderr: Buffer.from(stderr), exitCode, timedOut: false });
}

test('kubectl_apply: created objects are a change', (t) => {
  const outcome = interpret(APPLY_CREATED);
  t.true(outcome.changed);
  t.deepEqual(outcome.result?.created, [
    'namespace/kube-flannel',
    'clusterrole.rbac.authorization.k8s.io/flannel',
    'clusterrolebinding.rbac.authorization.k8s.io/flannel',
    'serviceaccount/flannel',
    'configmap/kube-flannel-cfg',
    'daemonset.apps/kube-flannel-ds',
  ]);
});

test('kubectl_apply: all unchanged is ok', (t) => {
  const outcome = interpret(APPLY_UNCHANGED);
  t.false(outcome.changed);
  t.is(outcome.failed, undefined);
  t.is(outcome.reason, 'kubectl apply: all 6 objects unchanged');
});

test('kubectl_apply: one configured object is a change', (t) => {
  const outcome = interpret(APPLY_CONFIGURED);
  t.true(outcome.changed);
  t.deepEqual(outcome.result?.configured, ['configmap/kube-flannel-cfg']);
  t.is((outcome.result?.unchanged as string[]).length, 5);
});

test('kubectl_apply: server error fails', (t) => {
  const outcome = interpret('namespace/kube-flannel unchanged\n', 'Error from server (Forbidden): error when creating "STDIN": daemonsets.apps is forbidden', 1);
  t.regex(outcome.failed ?? '', /^kubectl apply failed \(exit 1\): Error from server \(Forbidden\)/);
  t.false(outcome.changed);
});

test('kubectl_apply: output without object lines fails', (t) => {
  t.regex(interpret('').failed ?? '', /printed no object lines/);
});

test('parseApplyOutput: server-side apply lines', (t) => {
  const report = parseApplyOutput('deployment.apps/webapp serverside-applied\nservice/webapp serverside-applied\n');
  t.deepEqual(report.other, ['deployment.apps/webapp', 'service/webapp']);
});

test('manifestObjects: kinds and names', (t) => {
  t.deepEqual(manifestObjects(manifest), ['namespace/kube-flannel', 'configmap/kube-flannel-cfg']);
});
