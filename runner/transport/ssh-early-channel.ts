// Opens the exec channel of the shell loop in the same flight as the
// signed public key request, which cuts one round trip from every
// connect. RFC 4252 section 5.1 says that messages a client sends after
// the request that leads to USERAUTH_SUCCESS are passed to the service
// that follows, so a CHANNEL_OPEN right behind the signed USERAUTH_REQUEST
// is handled as soon as the login succeeds. ssh2 1.17 lets `exec` start
// before 'ready' (it only checks that the socket is writable); this file
// only chooses the moment: right after ssh2 has sent the signed request.
// It hooks `_protocol.authPK`, so it must be installed after
// applyHandshakeShortcuts, which makes that request signed.
//
// Measured with OpenSSH 9.2p1 by test/bench/handshake.ts: 4 connect round
// trips instead of 5 up to the first output of the command.
// NOTE: if the server rejects the key, it receives the CHANNEL_OPEN before
// any login and ends the connection with a protocol error; the login
// failure itself is still reported first by ssh2.

import type { Client, ClientChannel } from 'ssh2';

type AuthPK = (this: unknown, ...args: unknown[]) => void;

/**
 * Start `command` on an exec channel whose CHANNEL_OPEN is sent right
 * behind the first public key request. Call it right after
 * `client.connect()` and applyHandshakeShortcuts. Returns undefined,
 * changing nothing, when ssh2's internals differ from version 1.17's.
 */
export function execBehindAuth(client: Client, command: string): Promise<ClientChannel> | undefined {
  const protocol = (client as unknown as { _protocol?: { authPK?: AuthPK } })._protocol;
  if (!protocol || typeof protocol.authPK !== 'function') return undefined;
  const authPK = protocol.authPK;
  let resolveChannel!: (channel: ClientChannel) => void;
  let rejectChannel!: (error: Error) => void;
  const channel = new Promise<ClientChannel>((resolve, reject) => {
    resolveChannel = resolve;
    rejectChannel = reject;
  });
  // A connection that fails before the login leaves this promise unsettled; the caller sees the client's error instead.
  channel.catch(() => undefined);
  let opened = false;
  protocol.authPK = function authPKThenOpen(this: unknown, ...args: unknown[]): void {
    authPK.apply(this, args);
    if (opened) return;
    opened = true;
    protocol.authPK = authPK;
    try {
      client.exec(command, (error, stream) => (error ? rejectChannel(error) : resolveChannel(stream)));
    } catch (error) {
      rejectChannel(error as Error);
    }
  };
  return channel;
}
