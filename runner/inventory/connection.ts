// Checks of host connection values that a JSON Schema cannot express:
// the full onion address check and the shape of `address`.

import { isIP } from 'node:net';
import { OnionplayError } from '../errors/index.ts';
import { formatKeyPath } from '../schema/format.ts';
import type { YamlDocument, YamlPath } from '../yaml/load.ts';
import type { Collector } from './load.ts';
import { checkOnionAddress } from './onion.ts';

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** Check `onion` and `address` in a mapping of variables at `at`. */
export function checkConnectionValues(doc: YamlDocument, at: YamlPath, vars: unknown, collector: Collector): void {
  if (vars === null || typeof vars !== 'object' || Array.isArray(vars)) return;
  const mapping = vars as Record<string, unknown>;

  const onion = mapping.onion;
  if (typeof onion === 'string' && !onion.includes('{{')) {
    const problem = checkOnionAddress(onion);
    if (problem !== undefined) {
      collector.errors.push(
        new OnionplayError('invalid_value', `invalid onion address: ${problem.message}`, {
          position: doc.positionOf([...at, 'onion']),
          key: formatKeyPath([...at, 'onion']),
          value: onion,
          allowed: 'a v3 onion address: 56 characters a-z and 2-7, then .onion, with a valid checksum',
          fix: problem.fix,
        }),
      );
    }
  }

  const address = mapping.address;
  if (typeof address === 'string' && !address.includes('{{') && isIP(address) === 0 && !HOST_NAME.test(address)) {
    collector.errors.push(
      new OnionplayError('invalid_value', 'invalid address: not a host name or IP address', {
        position: doc.positionOf([...at, 'address']),
        key: formatKeyPath([...at, 'address']),
        value: address,
        allowed: 'a host name (letters, digits, - and .) or an IPv4 or IPv6 address, without port',
        fix: /:\d+$/.test(address) ? 'put the port in `port:` and the host alone in `address:`' : 'write the host name or IP address alone',
      }),
    );
  }
}
