// Command line of the lab: npm run lab -- up [--hosts N] | down [--purge] | status
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_HOST_COUNT, MAX_HOST_COUNT, SITE_DIR } from './config.ts';
import { downIfUnused } from './helper.ts';
import { down, status, up } from './lab.ts';

const USAGE = `usage: npm run lab -- COMMAND [OPTIONS]

Commands:
  up [--hosts N] [--kubernetes-from DIR]
                   start the lab hosts and the private Tor network, or complete a partly
                   running lab; N is the number of hosts, 1 to ${MAX_HOST_COUNT} (default ${DEFAULT_HOST_COUNT}).
                   DIR holds debs/ (kubelet, kubeadm, kubectl, cri-tools, kubernetes-cni as
                   .deb files) and images/ (image archives for containerd), so that
                   playbooks/site.yaml builds the cluster for real; it is written to
                   inventory/lab/group_vars/all/kubernetes.yaml (delete that file to undo)
  down [--purge]   stop the lab and remove its namespaces, cgroups, bridge and host disks;
                   --purge also deletes the Tor keys, the lab SSH key and the cached rootfs
  status           show what runs; exits 0 when every part of the lab is running

All commands need root.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      hosts: { type: 'string' },
      purge: { type: 'boolean' },
      'if-unused': { type: 'boolean' },
      'kubernetes-from': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...extra] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (extra.length > 0) throw new Error(`unexpected argument: ${extra.join(' ')}\n\n${USAGE}`);
  switch (command) {
    case 'up': {
      const hosts = values.hosts === undefined ? undefined : Number(values.hosts);
      if (hosts !== undefined && !/^\d+$/.test(values.hosts ?? '')) {
        throw new Error(`invalid --hosts value "${values.hosts}": use a whole number from 1 to ${MAX_HOST_COUNT}`);
      }
      if (values['kubernetes-from'] !== undefined) writeKubernetesSource(values['kubernetes-from']);
      await up({ hosts });
      return 0;
    }
    case 'down':
      // --if-unused is for the test helper: stop a lab that tests started once no test uses it.
      if (values['if-unused']) await downIfUnused();
      else await down({ purge: values.purge });
      return 0;
    case 'status':
      return (await status()) ? 0 : 3;
    default:
      throw new Error(`unknown command "${command}"\n\n${USAGE}`);
  }
}

/** Point the lab site's cluster roles at a folder of Kubernetes packages and images on this machine. */
function writeKubernetesSource(dir: string): void {
  const root = path.resolve(dir);
  const debs = path.join(root, 'debs');
  const images = path.join(root, 'images');
  const hasDebs = fs.existsSync(debs) && fs.readdirSync(debs).some((file) => file.endsWith('.deb'));
  const hasImages = fs.existsSync(images) && fs.readdirSync(images).some((file) => file.endsWith('.tar'));
  if (!hasDebs) throw new Error(`--kubernetes-from ${dir}: ${debs} has no .deb files; put kubelet, kubeadm, kubectl, cri-tools and kubernetes-cni there`);
  const file = path.join(SITE_DIR, 'group_vars', 'all', 'kubernetes.yaml');
  const lines = [
    '# Written by `npm run lab -- up --kubernetes-from`; delete this file to go back to a lab without Kubernetes.',
    'kubernetes_enabled: true',
    `kubernetes_packages_dir: ${JSON.stringify(debs)}`,
    `kubernetes_images_dir: ${JSON.stringify(hasImages ? images : '')}`,
    '',
  ];
  fs.writeFileSync(file, lines.join('\n'));
  process.stdout.write(`lab: the cluster roles install Kubernetes from ${debs}${hasImages ? ` and import images from ${images}` : ' (no images/ folder: nodes pull images themselves)'}\n`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`lab: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
