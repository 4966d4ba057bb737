// The modules of the Kubernetes roles (docker, kubernetes-common,
// kubeadm-master, kubeadm-worker, flannel, k8s-onion-service), for the
// module registry.

import type { ModuleDefinition } from '../types.ts';
import { cniConfigCheckModule } from './cni-config.ts';
import { jsonMergeModule } from './json-merge.ts';
import { kubeadmInitModule } from './kubeadm-init.ts';
import { kubeadmJoinCommandModule, kubeadmJoinModule } from './kubeadm-join.ts';
import { kubeadmPreflightModule } from './kubeadm-preflight.ts';
import { kubeconfigCopyModule } from './kubeconfig.ts';
import { kubectlApplyModule } from './kubectl-apply.ts';
import { nodeTaintModule } from './node-taint.ts';
import { containerdImagesModule } from './images.ts';
import { aptDebFilesModule, dpkgSelectionsModule } from './packages.ts';
import { podNetworkCheckModule } from './pod-network.ts';
import { serviceAddressModule } from './service-address.ts';
import { swapOffModule } from './swap.ts';

export const kubernetesModules: ModuleDefinition[] = [
  aptDebFilesModule,
  containerdImagesModule,
  cniConfigCheckModule,
  dpkgSelectionsModule,
  jsonMergeModule,
  kubeadmInitModule,
  kubeadmJoinCommandModule,
  kubeadmJoinModule,
  kubeadmPreflightModule,
  kubeconfigCopyModule,
  kubectlApplyModule,
  nodeTaintModule,
  podNetworkCheckModule,
  serviceAddressModule,
  swapOffModule,
];
