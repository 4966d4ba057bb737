// k8s_service_address: read a Service's ClusterIP and port on every run,
// and optionally put them into the onion service list that the tor role
// reads (`tor_onion_services`). A Service that is recreated gets a new
// ClusterIP, and the next run's mapping follows it.

import { defineModule } from '../define.ts';
import { parseProbeLines, probeFailure, shellQuote } from '../shell-lib.ts';
import type { JsonSchema, Plan, Probe, ProbeOutput } from '../types.ts';
import { ADMIN_KUBECONFIG, captureCommand, kubeconfigSchema, kubectl, lastLines, readCaptured } from './common.ts';

export interface OnionServiceEntry {
  name: string;
  ports: Array<{ port: number; target: string }>;
  [key: string]: unknown;
}

export interface ServiceAddressArgs {
  name: string;
  namespace?: string;
  port?: string | number;
  kubeconfig?: string;
  missing_ok?: boolean;
  onion_service?: {
    name: string;
    port?: number;
    services?: OnionServiceEntry[] | '';
  };
}

const NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

const schema: JsonSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: NAME_PATTERN, description: 'Service name.' },
    namespace: { type: 'string', pattern: NAME_PATTERN, default: 'default', description: 'Namespace of the Service.' },
    port: {
      type: ['string', 'integer'],
      description: "Port of the Service to use, by name or number; unset or empty is the Service's first port.",
    },
    kubeconfig: kubeconfigSchema,
    missing_ok: {
      type: 'boolean',
      default: false,
      description: 'true: a missing Service (or a missing kubeconfig) is ok and sets no fact, for runs before the Service exists.',
    },
    onion_service: {
      type: 'object',
      properties: {
        name: { type: 'string', pattern: '^[a-z0-9_]+$', description: "Name of the onion service in the tor role's tor_onion_services (its HiddenServiceDir is tor_data_dir/NAME)." },
        port: { type: 'integer', minimum: 1, maximum: 65535, default: 80, description: 'Virtual port of the onion service (HiddenServicePort).' },
        services: {
          anyOf: [{ type: 'array', items: { type: 'object' } }, { const: '' }],
          description: 'The current tor_onion_services list; its entry of the same name is replaced, the others are kept.',
        },
      },
      required: ['name'],
      additionalProperties: false,
      description: 'Also set the fact tor_onion_services with an entry that maps PORT to CLUSTER_IP:SERVICE_PORT.',
    },
  },
  required: ['name'],
  additionalProperties: false,
};

function probeService(args: ServiceAddressArgs): Probe {
  const jsonpath = "'{.spec.type} {.spec.clusterIP}{range .spec.ports[*]} {.name}={.port}{end}'";
  const command = `${kubectl(args.kubeconfig)} --request-timeout=20s -n ${args.namespace ?? 'default'} get service ${args.name} -o jsonpath=${jsonpath}`;
  const kubeconfig = shellQuote(args.kubeconfig ?? ADMIN_KUBECONFIG);
  const check = `if [ -f ${kubeconfig} ]; then echo 'kubeconfig present'; else echo 'kubeconfig absent'; fi\n`;
  return { script: check + captureCommand('svc', command), reads: 'everything' };
}

/** Parse a Service as the probe's jsonpath prints it: `TYPE CLUSTER_IP NAME=PORT...`. */
export function parseServiceLine(text: string): { type: string; clusterIp: string; ports: Array<{ name: string; port: number }> } | undefined {
  const [type, clusterIp, ...portWords] = text.trim().split(/\s+/);
  if (type === undefined || clusterIp === undefined) return undefined;
  const ports = portWords.map((word) => {
    const equals = word.lastIndexOf('=');
    return { name: word.slice(0, equals), port: Number(word.slice(equals + 1)) };
  });
  return { type, clusterIp, ports };
}

function planService(args: ServiceAddressArgs, probed: ProbeOutput): Plan {
  const failure = probeFailure(probed, `Service ${args.name}`);
  if (failure) return failure;
  const namespace = args.namespace ?? 'default';
  const where = `${namespace}/${args.name}`;
  const lines = parseProbeLines(probed.stdout);
  const kubeconfig = args.kubeconfig ?? ADMIN_KUBECONFIG;
  if (lines.get('kubeconfig') !== 'present') {
    if (args.missing_ok === true) return { status: 'ok', reason: `${kubeconfig} does not exist, so there is no cluster to read Service ${where} from yet (missing_ok)` };
    return { status: 'failed', message: `${kubeconfig} does not exist, so kubectl cannot read Service ${where}. Run this on the initialised control plane.` };
  }
  const captured = readCaptured(lines, 'svc');
  if (captured === undefined) return { status: 'failed', message: `kubectl did not run for Service ${where}` };
  if (captured.exitCode !== 0) {
    const notFound = /NotFound|not found/.test(captured.stderr);
    if (notFound && args.missing_ok === true) return { status: 'ok', reason: `Service ${where} does not exist yet, so no onion mapping is set (missing_ok)` };
    const detail = lastLines(captured.stderr || captured.stdout, 3);
    return {
      status: 'failed',
      message: notFound ? `Service ${where} not found. Apply it first (kubectl_apply of its manifest).` : `reading Service ${where} failed: ${detail}`,
    };
  }
  const service = parseServiceLine(captured.stdout);
  if (service === undefined || service.ports.length === 0) {
    return { status: 'failed', message: `Service ${where} has no ports (kubectl printed ${JSON.stringify(captured.stdout)}).` };
  }
  if (service.clusterIp === 'None' || service.clusterIp === '') {
    return { status: 'failed', message: `Service ${where} is headless (clusterIP: None), so it has no address for tor to forward to. Give it a ClusterIP.` };
  }
  // An empty port (a role default) means the first port, like an unset one.
  const portWanted = args.port === '' ? undefined : args.port;
  const wanted =
    portWanted === undefined
      ? service.ports[0]
      : service.ports.find((port) => (typeof portWanted === 'number' ? port.port === portWanted : port.name === portWanted || String(port.port) === portWanted));
  if (wanted === undefined) {
    const known = service.ports.map((port) => `${port.name || '(unnamed)'}=${port.port}`).join(', ');
    return { status: 'failed', message: `Service ${where} has no port ${JSON.stringify(portWanted)}; its ports are ${known}.` };
  }
  const target = `${service.clusterIp}:${wanted.port}`;
  const result = { cluster_ip: service.clusterIp, port: wanted.port, target, type: service.type };
  if (args.onion_service === undefined) return { status: 'ok', reason: `Service ${where} is at ${target} (${service.type})`, result };

  const onion = args.onion_service;
  const virtualPort = onion.port ?? 80;
  const existing = Array.isArray(onion.services) ? onion.services : [];
  const entry: OnionServiceEntry = { name: onion.name, ports: [{ port: virtualPort, target }] };
  const services = [...existing.filter((service) => service.name !== onion.name), entry];
  return {
    status: 'ok',
    reason: `Service ${where} is at ${target}; onion service ${onion.name} maps port ${virtualPort} to it`,
    result,
    facts: { tor_onion_services: services },
  };
}

export const serviceAddressModule = defineModule<ServiceAddressArgs>({
  name: 'k8s_service_address',
  description:
    "Read a Service's ClusterIP and port with kubectl, and optionally map an onion service port to it in the tor_onion_services fact.",
  schema,
  idempotent: true,
  factNames: ['tor_onion_services'],
  probe: probeService,
  plan: planService,
});
