// Output shapes of kubeadm 1.30 and kubectl 1.30, written out by hand from
// the Kubernetes documentation and from public bug reports that quote
// them. Tokens and hashes are made up.

/** Probe lines as `captureCommand` prints them for one command. */
export function captured(key: string, exitCode: number, stdout: string, stderr = ''): string {
  const b64 = (text: string): string => Buffer.from(text.replace(/\n+$/, ''), 'utf8').toString('base64');
  return `${key} rc ${exitCode}\n${key}.out b64 ${b64(stdout)}\n${key}.err b64 ${b64(stderr)}\n`;
}

export const TOKEN = 'f3k9qa.8w2hxm7v4tq1zr6c';
export const CA_HASH = 'sha256:5b2e0d3c1a9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170fa1';

/** `kubeadm token create --print-join-command` (it ends with a space). */
export const JOIN_COMMAND_OUTPUT = `kubeadm join 10.200.0.11:6443 --token ${TOKEN} --discovery-token-ca-cert-hash ${CA_HASH} \n`;

/** kubectl -n kube-system get cm kubeadm-config -o jsonpath='{.data.ClusterConfiguration}' after init with 10.244.0.0/16. */
export function clusterConfiguration(podSubnet: string | undefined): string {
  return [
    'apiServer:',
    '  certSANs:',
    '  - 10.200.0.11',
    '  extraArgs:',
    '    authorization-mode: Node,RBAC',
    '  timeoutForControlPlane: 4m0s',
    'apiVersion: kubeadm.k8s.io/v1beta3',
    'certificatesDir: /etc/kubernetes/pki',
    'clusterName: kubernetes',
    'controllerManager: {}',
    'dns: {}',
    'etcd:',
    '  local:',
    '    dataDir: /var/lib/etcd',
    'imageRepository: registry.k8s.io',
    'kind: ClusterConfiguration',
    'kubernetesVersion: v1.30.2',
    'networking:',
    '  dnsDomain: cluster.local',
    ...(podSubnet === undefined ? [] : [`  podSubnet: ${podSubnet}`]),
    '  serviceSubnet: 10.96.0.0/12',
    'scheduler: {}',
    '',
  ].join('\n');
}

/** The end of a successful `kubeadm init` (without --skip-token-print). */
export const INIT_SUCCESS_OUTPUT = `[init] Using Kubernetes version: v1.30.2
[preflight] Running pre-flight checks
[preflight] Pulling images required for setting up a Kubernetes cluster
[certs] Using certificateDir folder "/etc/kubernetes/pki"
[kubeconfig] Writing "admin.conf" kubeconfig file
[control-plane] Creating static Pod manifest for "kube-apiserver"
[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "/etc/kubernetes/manifests"
[kubelet-check] Waiting for a healthy kubelet. This can take up to 4m0s
[kubelet-check] The kubelet is healthy after 1.001804187s
[api-check] The API server is healthy after 7.50207826s
[bootstrap-token] Using token: ${TOKEN}
[addons] Applied essential addon: CoreDNS
[addons] Applied essential addon: kube-proxy

Your Kubernetes control-plane has initialized successfully!

To start using your cluster, you need to run the following as a regular user:

  mkdir -p $HOME/.kube
  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config
  sudo chown $(id -u):$(id -g) $HOME/.kube/config

Then you can join any number of worker nodes by running the following on each as root:

kubeadm join 10.200.0.11:6443 --token ${TOKEN} \\
	--discovery-token-ca-cert-hash ${CA_HASH}
`;

/** `kubeadm init` on a 1-CPU, 1 GiB host with swap on (stderr). */
export const INIT_PREFLIGHT_FAILURE = `error execution phase preflight: [preflight] Some fatal errors occurred:
	[ERROR NumCPU]: the number of available CPUs 1 is less than the required 2
	[ERROR Mem]: the system RAM (975 MB) is less than the minimum 1700 MB
[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\`
To see the stack trace of this error execute with --v=5 or higher
`;

/** `kubeadm init` stalling on a cgroup driver mismatch (kubeadm 1.30 wording). */
export const INIT_KUBELET_UNHEALTHY = `[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "/etc/kubernetes/manifests"
[kubelet-check] Waiting for a healthy kubelet. This can take up to 4m0s
[kubelet-check] The kubelet is not healthy after 4m0.000397544s

Unfortunately, an error has occurred:
	The HTTP call equal to 'curl -sSL http://127.0.0.1:10248/healthz' returned error: Get "http://127.0.0.1:10248/healthz": context deadline exceeded
`;

/** `kubeadm join` success. */
export const JOIN_SUCCESS_OUTPUT = `[preflight] Running pre-flight checks
[preflight] Reading configuration from the cluster...
[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"
[kubelet-start] Starting the kubelet
[kubelet-check] Waiting for a healthy kubelet. This can take up to 4m0s
[kubelet-check] The kubelet is healthy after 1.002003446s
[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap

This node has joined the cluster:
* Certificate signing request was sent to apiserver and a response was received.
* The Kubelet was informed of the new secure connection details.

Run 'kubectl get nodes' on the control-plane to see this node join the cluster.
`;

/** `kubeadm join` with a token that expired (stderr). */
export const JOIN_EXPIRED_TOKEN = `[preflight] Running pre-flight checks
error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID "f3k9qa"
To see the stack trace of this error execute with --v=5 or higher
`;

/** First `kubectl apply -f kube-flannel.yml`. */
export const APPLY_CREATED = `namespace/kube-flannel created
clusterrole.rbac.authorization.k8s.io/flannel created
clusterrolebinding.rbac.authorization.k8s.io/flannel created
serviceaccount/flannel created
configmap/kube-flannel-cfg created
daemonset.apps/kube-flannel-ds created
`;

/** The same apply once nothing differs. */
export const APPLY_UNCHANGED = APPLY_CREATED.replaceAll(' created', ' unchanged');

/** After net-conf.json changed. */
export const APPLY_CONFIGURED = APPLY_UNCHANGED.replace('configmap/kube-flannel-cfg unchanged', 'configmap/kube-flannel-cfg configured');

/** `kubectl diff` of objects in a namespace that does not exist yet (stderr; kubectl diff exits 2 on errors). */
export const DIFF_NAMESPACE_MISSING = 'Error from server (NotFound): namespaces "kube-flannel" not found\n';

/** `kubectl diff` output when the ConfigMap's net-conf.json differs. */
export const DIFF_CONFIGMAP = `diff -u -N /tmp/LIVE-2747412/v1.ConfigMap.kube-flannel.kube-flannel-cfg /tmp/MERGED-1137712/v1.ConfigMap.kube-flannel.kube-flannel-cfg
--- /tmp/LIVE-2747412/v1.ConfigMap.kube-flannel.kube-flannel-cfg
+++ /tmp/MERGED-1137712/v1.ConfigMap.kube-flannel.kube-flannel-cfg
@@ -27,7 +27,7 @@
   net-conf.json: |
     {
-      "Network": "10.244.0.0/16",
+      "Network": "10.245.0.0/16",
`;
