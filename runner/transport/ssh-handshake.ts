// Two round trips cut from ssh2's client authentication. ssh2 1.17 waits
// for SERVICE_ACCEPT before its first USERAUTH_REQUEST, and sends a
// public key first as a query without signature (RFC 4252 section 7),
// waiting for USERAUTH_PK_OK before it signs. OpenSSH's sshd processes
// messages in order, so a USERAUTH_REQUEST sent right behind the
// SERVICE_REQUEST is handled once the service is accepted, and RFC 4252
// lets a client send the signed request directly. Both shortcuts hook
// ssh2 internals (`_protocol`, its `service`/`authPK` methods and the
// `_handlers` table) and are skipped when those are not as expected.

import type { Client } from 'ssh2';

type Handler = (protocol: unknown, ...args: unknown[]) => void;

interface SignableKey {
  type: string;
  sign(data: Buffer, hash?: string): Buffer | Error;
  isPrivateKey?(): boolean;
}

type SignCallback = (data: Buffer, done: (signature: Buffer) => void) => void;

interface ProtocolInternals {
  service: (name: string) => void;
  authPK: (username: string, key: SignableKey, keyAlgo?: string | SignCallback, sign?: SignCallback) => void;
  _handlers: Record<string, Handler | undefined>;
}

/** Hash that goes with a public key signature algorithm (RFC 8332 for RSA). */
function hashForAlgorithm(algorithm: string): string | undefined {
  switch (algorithm) {
    case 'rsa-sha2-256':
      return 'sha256';
    case 'rsa-sha2-512':
      return 'sha512';
    case 'ssh-rsa':
      return 'sha1';
    default:
      return undefined;
  }
}

function protocolOf(client: Client): ProtocolInternals | undefined {
  const protocol = (client as unknown as { _protocol?: Partial<ProtocolInternals> })._protocol;
  if (!protocol) return undefined;
  if (typeof protocol.service !== 'function' || typeof protocol.authPK !== 'function') return undefined;
  const handlers = protocol._handlers;
  if (!handlers || typeof handlers.SERVICE_ACCEPT !== 'function') return undefined;
  return protocol as ProtocolInternals;
}

/**
 * Install both shortcuts on a client right after `client.connect()`.
 * Returns false, changing nothing, when ssh2's internals differ from
 * version 1.17's; the client then authenticates the stock way.
 */
export function applyHandshakeShortcuts(client: Client): boolean {
  const protocol = protocolOf(client);
  if (!protocol) return false;
  const handlers = protocol._handlers;
  const acceptService = handlers.SERVICE_ACCEPT as Handler;
  const requestService = protocol.service;
  const authPK = protocol.authPK;
  let acceptedEarly = false;

  protocol.service = function serviceThenAuthenticate(this: ProtocolInternals, name: string): void {
    requestService.call(this, name);
    if (name !== 'ssh-userauth') return;
    acceptedEarly = true;
    // ssh2 calls service() while it parses the server's NEWKEYS. Waiting
    // for the end of that parse lets an EXT_INFO in the same chunk set the
    // server's signature algorithms before the key is used.
    queueMicrotask(() => acceptService(protocol, name));
  };

  handlers.SERVICE_ACCEPT = (self: unknown, ...args: unknown[]): void => {
    if (acceptedEarly && args[0] === 'ssh-userauth') {
      acceptedEarly = false;
      return;
    }
    acceptService(self, ...args);
  };

  protocol.authPK = function authPKSigned(this: ProtocolInternals, username, key, keyAlgo, sign): void {
    if (typeof keyAlgo === 'function') {
      sign = keyAlgo;
      keyAlgo = undefined;
    }
    if (sign !== undefined || typeof key.sign !== 'function' || key.isPrivateKey?.() === false) {
      authPK.call(this, username, key, keyAlgo, sign);
      return;
    }
    const algorithm = keyAlgo;
    const hash = hashForAlgorithm(algorithm ?? key.type);
    authPK.call(this, username, key, algorithm, (data, done) => {
      const signature = key.sign(data, hash);
      if (signature instanceof Error) {
        // Nothing was sent yet: fall back to the query, and let ssh2
        // report the signing failure its own way after USERAUTH_PK_OK.
        authPK.call(this, username, key, algorithm);
        return;
      }
      done(signature);
    });
  };
  return true;
}
