// onion_reachable and ssh_login_check: readiness checks that run on the
// controller, through Tor, as a visitor would. A `hostname` file on the
// host proves nothing: tor writes it before the descriptor is published.

import { randomBytes } from 'node:crypto';

import { OnionplayError } from '../../errors/index.ts';
import { openTunnel, RoundTripMeter, SocksError } from '../../transport/socks.ts';
import { defineModule } from '../define.ts';
import type { ModuleContext, Outcome } from '../types.ts';

/**
 * SOCKS replies that mean Tor reached the onion service but its target did
 * not accept the stream, so the descriptor is published. They are 0x05
 * (refused) and 0x01, which tor 0.4.9 sends when the service's own
 * connection to a closed target port fails (seen on the lab network).
 */
const TARGET_DID_NOT_ACCEPT = new Set([0x01, 0x05]);

interface ReachableArgs {
  address?: string;
  /** Name of an onion service of the tor role; its address is the fact tor_onion_address_NAME. */
  service?: string;
  port: number;
  timeout?: number;
  delay?: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Try one SOCKS connect through Tor; returns how it ended. */
async function tryConnect(socks: { host: string; port: number }, address: string, port: number, username: string): Promise<'open' | 'refused' | SocksError> {
  const tunnel = await openTunnel({
    endpoint: socks,
    destination: { host: address, port },
    credentials: { username, password: 'onionplay' },
    hostLabel: `${address}:${port}`,
    kind: 'pipelined',
    meter: new RoundTripMeter(),
  });
  // The failure arrives through `established`; without a listener the
  // tunnel's error event would end the process.
  tunnel.on('error', () => undefined);
  try {
    await tunnel.established;
    return 'open';
  } catch (error) {
    if (error instanceof SocksError && error.replyCode !== undefined && TARGET_DID_NOT_ACCEPT.has(error.replyCode)) return 'refused';
    if (error instanceof SocksError) return error;
    throw error;
  } finally {
    tunnel.destroy();
  }
}

export const onionReachableModule = defineModule<ReachableArgs>({
  name: 'onion_reachable',
  description:
    'Wait on the controller until an onion service answers through Tor: a connect that reaches the service counts, even when its target port refuses.',
  idempotent: true,
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['port'],
    oneOf: [{ required: ['address'] }, { required: ['service'] }],
    properties: {
      address: { type: 'string', pattern: '^[a-z2-7]{56}\\.onion$', description: 'The v3 onion address.' },
      service: { type: 'string', pattern: '^[a-z0-9_]+$', description: 'Name of an onion service of the tor role, whose address the fact tor_onion_address_NAME holds.' },
      port: { type: 'integer', minimum: 1, maximum: 65535, description: 'Virtual port of the service.' },
      timeout: { type: 'integer', minimum: 1, default: 180, description: 'Seconds to keep trying.' },
      delay: { type: 'number', minimum: 0.1, default: 2, description: 'Seconds between attempts.' },
    },
  },
  async local(args: ReachableArgs, context: ModuleContext): Promise<Outcome> {
    if (!context.site) throw new OnionplayError('internal', 'onion_reachable needs the site services of a run');
    const address = args.address ?? context.vars[`tor_onion_address_${args.service ?? ''}`];
    if (typeof address !== 'string' || !/^[a-z2-7]{56}\.onion$/.test(address)) {
      return { changed: false, failed: `onion service ${args.service ?? '?'} has no known address (fact tor_onion_address_${args.service ?? '?'}); run the tor role first` };
    }
    const started = Date.now();
    const deadline = started + (args.timeout ?? 180) * 1000;
    // One username for all attempts: a new circuit each time would only
    // make the wait longer.
    const username = `onionplay-ready-${randomBytes(4).toString('hex')}`;
    let last: SocksError | undefined;
    let attempts = 0;
    while (Date.now() < deadline) {
      attempts += 1;
      const outcome = await tryConnect(context.site.socks, address, args.port, username);
      if (outcome === 'open' || outcome === 'refused') {
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        const detail = outcome === 'refused' ? ', its target port did not accept the stream yet' : '';
        return { changed: false, reason: `${address}:${args.port} answered through Tor after ${seconds} s (${attempts} attempt(s)${detail})` };
      }
      last = outcome;
      if (!outcome.transient) break;
      await sleep((args.delay ?? 2) * 1000);
    }
    return {
      changed: false,
      failed: `${address}:${args.port} did not answer through Tor within ${args.timeout ?? 180} s: ${last?.message ?? 'no attempt finished'}`,
    };
  },
});

interface LoginArgs {
  onion: string;
}

export const sshLoginCheckModule = defineModule<LoginArgs>({
  name: 'ssh_login_check',
  description: "Log in to the host through this SSH onion address with the host's pinned key, from the controller, and run `true`.",
  idempotent: true,
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['onion'],
    properties: { onion: { type: 'string', pattern: '^[a-z2-7]{56}\\.onion$', description: 'SSH onion address of this host.' } },
  },
  async local(args: LoginArgs, context: ModuleContext): Promise<Outcome> {
    if (!context.site) throw new OnionplayError('internal', 'ssh_login_check needs the site services of a run');
    try {
      const route = await context.site.checkLogin(args.onion);
      return { changed: false, reason: `logged in through ${route} with the pinned host key` };
    } catch (error) {
      return { changed: false, failed: `login through ${args.onion} failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  },
});
