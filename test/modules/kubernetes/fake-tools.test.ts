// The Kubernetes modules end to end through /bin/sh, with stand-in
// `kubectl` and `kubeadm` scripts first on PATH. The stand-ins record
// their arguments and stdin and print the output shapes of the real tools,
// so the quoting, the base64 plumbing of manifests and the parsing of
// real shell output are exercised without a cluster.

import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import test from 'ava';

import { kubeadmJoinCommandModule, kubeadmJoinModule } from '../../../runner/modules/kubernetes/kubeadm-join.ts';
import { kubectlApplyModule } from '../../../runner/modules/kubernetes/kubectl-apply.ts';
import { podNetworkCheckModule } from '../../../runner/modules/kubernetes/pod-network.ts';
import { serviceAddressModule } from '../../../runner/modules/kubernetes/service-address.ts';
import type { ModuleDefinition, Outcome, Plan } from '../../../runner/modules/types.ts';
import type { Connection } from '../../../runner/transport/types.ts';
import { connectLocal, makeTempDir, planWith } from '../helpers.ts';
import { APPLY_CREATED, APPLY_UNCHANGED, clusterConfiguration, JOIN_COMMAND_OUTPUT, JOIN_SUCCESS_OUTPUT, TOKEN } from './outputs.ts';

const FAKE_KUBECTL = `#!/bin/sh
printf '%s\\n' "$*" >>"$FAKE_DIR/kubectl.log"
case "$*" in
  *" diff -f -")
    cat >"$FAKE_DIR/diff-stdin"
    if [ ! -f "$FAKE_DIR/applied" ]; then
      echo 'Error from server (NotFound): namespaces "kube-flannel" not found' >&2
      exit 2
    fi
    if cmp -s "$FAKE_DIR/applied" "$FAKE_DIR/diff-stdin"; then exit 0; fi
    echo '--- live'
    echo '+++ merged'
    exit 1 ;;
  *" apply -f -")
    cat >"$FAKE_DIR/apply-stdin"
    if [ -f "$FAKE_DIR/applied" ]; then cat "$FAKE_DIR/unchanged"; else cat "$FAKE_DIR/created"; fi
    cp "$FAKE_DIR/apply-stdin" "$FAKE_DIR/applied" ;;
  *"get configmap kubeadm-config"*)
    cat "$FAKE_DIR/cluster-configuration" ;;
  *"get service webapp"*)
    printf 'ClusterIP 10.100.0.141 http=8080' ;;
  *"get service"*)
    echo 'Error from server (NotFound): services "other" not found' >&2
    exit 1 ;;
  *) echo "fake kubectl: unexpected arguments: $*" >&2; exit 3 ;;
esac
`;

const FAKE_KUBEADM = `#!/bin/sh
for word in "$@"; do printf '[%s]' "$word"; done >>"$FAKE_DIR/kubeadm.log"
printf '\\n' >>"$FAKE_DIR/kubeadm.log"
case "$1 $2" in
  "token create") cat "$FAKE_DIR/join-command" ;;
  "join "*) cat "$FAKE_DIR/join-success" ;;
  *) echo "fake kubeadm: unexpected arguments: $*" >&2; exit 3 ;;
esac
`;

let connection: Connection;
test.before(async () => {
  connection = await connectLocal();
});
test.after.always(async () => {
  await connection.close();
});

interface Fakes {
  dir: string;
  kubeconfig: string;
  run: (module: ModuleDefinition, args: Record<string, unknown>) => Promise<Plan>;
  apply: (plan: Plan) => Promise<Outcome>;
}

async function withFakes(t: { teardown: (fn: () => Promise<void>) => void }): Promise<Fakes> {
  const temp = await makeTempDir();
  t.teardown(temp.remove);
  const dir = temp.path;
  const files: Record<string, string> = {
    kubectl: FAKE_KUBECTL,
    kubeadm: FAKE_KUBEADM,
    created: APPLY_CREATED,
    unchanged: APPLY_UNCHANGED,
    'cluster-configuration': clusterConfiguration('10.244.0.0/16'),
    'join-command': JOIN_COMMAND_OUTPUT,
    'join-success': JOIN_SUCCESS_OUTPUT,
    'admin.conf': 'apiVersion: v1\nkind: Config\n',
  };
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  await chmod(join(dir, 'kubectl'), 0o755);
  await chmod(join(dir, 'kubeadm'), 0o755);
  const environment = `FAKE_DIR='${dir}'; export FAKE_DIR; PATH='${dir}':"$PATH"; export PATH\n`;
  return {
    dir,
    kubeconfig: join(dir, 'admin.conf'),
    async run(module, args) {
      const probe = module.probe?.(args);
      const result = await connection.run(`${environment}( ${probe?.script ?? ':'}\n)`);
      const probed = { stdout: result.stdout.toString('utf8'), stderr: result.stderr.toString('utf8'), exitCode: result.exitCode };
      return planWith(module, args, probed);
    },
    async apply(plan) {
      if (plan.status !== 'change') throw new Error(`expected a change plan, got ${JSON.stringify(plan)}`);
      const result = await connection.run(`${environment}( set -e\n${plan.steps.map((step) => step.script).join('\n')}\n)`);
      return plan.interpret ? plan.interpret(result) : { changed: result.exitCode === 0 };
    },
  };
}

const MANIFEST = `apiVersion: v1
kind: ConfigMap
metadata:
  name: kube-flannel-cfg
  namespace: kube-flannel
data:
  net-conf.json: |
    {"Network": "10.244.0.0/16", "note": "it's \`quoted\` $HOME"}
`;

test('kubectl_apply: create, then converged', async (t) => {
  const fakes = await withFakes(t);
  const args = { content: MANIFEST, manifest: MANIFEST, kubeconfig: fakes.kubeconfig };

  const first = await fakes.run(kubectlApplyModule, args);
  t.is(first.status, 'change');
  if (first.status === 'change') t.true(first.outputNeeded === true, 'a failed diff leaves the outcome to the apply');
  const outcome = await fakes.apply(first);
  t.true(outcome.changed);
  t.is(outcome.failed, undefined);
  t.is(await readFile(join(fakes.dir, 'applied'), 'utf8'), MANIFEST, 'the manifest reached kubectl byte for byte');

  const second = await fakes.run(kubectlApplyModule, args);
  t.is(second.status, 'ok');
  if (second.status === 'ok') t.is(second.reason, 'kubectl diff found no differences in the 1 objects of the manifest');
  t.is(await readFile(join(fakes.dir, 'diff-stdin'), 'utf8'), MANIFEST);

  const changed = MANIFEST.replace('10.244.0.0/16', '10.245.0.0/16');
  const third = await fakes.run(kubectlApplyModule, { ...args, content: changed, manifest: changed });
  t.is(third.status, 'change');
  if (third.status === 'change') t.is(third.diff, '--- live\n+++ merged');
  const log = await readFile(join(fakes.dir, 'kubectl.log'), 'utf8');
  t.regex(log, new RegExp(`^--kubeconfig=${fakes.kubeconfig} --request-timeout=30s diff -f -$`, 'm'));
  t.regex(log, new RegExp(`^--kubeconfig=${fakes.kubeconfig} apply -f -$`, 'm'));
});

test('kubectl_apply: unchanged apply is ok', async (t) => {
  const fakes = await withFakes(t);
  await writeFile(join(fakes.dir, 'applied'), 'older manifest\n');
  const plan = await fakes.run(kubectlApplyModule, { content: MANIFEST, manifest: MANIFEST, kubeconfig: fakes.kubeconfig });
  const outcome = await fakes.apply(plan);
  t.false(outcome.changed);
  t.is(outcome.reason, 'kubectl apply: all 6 objects unchanged');
});

test('k8s_service_address: reads the fake Service', async (t) => {
  const fakes = await withFakes(t);
  const plan = await fakes.run(serviceAddressModule, { name: 'webapp', kubeconfig: fakes.kubeconfig, onion_service: { name: 'web', services: '' } });
  t.is(plan.status, 'ok');
  if (plan.status !== 'ok') return;
  t.deepEqual(plan.facts, { tor_onion_services: [{ name: 'web', ports: [{ port: 80, target: '10.100.0.141:8080' }] }] });
  const missing = await fakes.run(serviceAddressModule, { name: 'other', kubeconfig: fakes.kubeconfig, missing_ok: true });
  t.is(missing.status, 'ok');
  if (missing.status === 'ok') t.is(missing.reason, 'Service default/other does not exist yet, so no onion mapping is set (missing_ok)');
});

test('kubeadm_pod_network_check: reads the fake ConfigMap', async (t) => {
  const fakes = await withFakes(t);
  const same = await fakes.run(podNetworkCheckModule, { pod_network_cidr: '10.244.0.0/16', kubeconfig: fakes.kubeconfig });
  t.is(same.status, 'ok');
  const other = await fakes.run(podNetworkCheckModule, { pod_network_cidr: '10.96.0.0/16', kubeconfig: fakes.kubeconfig });
  t.is(other.status, 'failed');
  if (other.status === 'failed') t.regex(other.message, /^pod network mismatch: the cluster's podSubnet is 10\.244\.0\.0\/16/);
});

test('join command: minted, then used by kubeadm join', async (t) => {
  const fakes = await withFakes(t);
  const mint = await fakes.run(kubeadmJoinCommandModule, { kubeconfig: fakes.kubeconfig, ttl: '45m' });
  const minted = await fakes.apply(mint);
  t.false(minted.changed);
  t.is(minted.reason, 'minted a join token for 10.200.0.11:6443, valid for 45m (not shown)');
  const joinCommand = String(minted.result?.join_command);

  // /etc/kubernetes/kubelet.conf does not exist on this machine, so the worker plan joins.
  const joinPlan = await fakes.run(kubeadmJoinModule, { join_command: joinCommand, node_name: 'ciclope' });
  t.is(joinPlan.status, 'change');
  const joined = await fakes.apply(joinPlan);
  t.true(joined.changed);
  t.is(joined.failed, undefined);

  const log = (await readFile(join(fakes.dir, 'kubeadm.log'), 'utf8')).split('\n');
  t.is(log[0], `[token][create][--print-join-command][--ttl][45m][--kubeconfig][${fakes.kubeconfig}]`);
  t.is(log[1], `[join][10.200.0.11:6443][--token][${TOKEN}][--discovery-token-ca-cert-hash][sha256:5b2e0d3c1a9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170fa1][--node-name=ciclope]`);
});
