// Full check of v3 onion addresses (Tor rend-spec-v3, "Encoding onion
// addresses"): base32 of PUBKEY(32) | CHECKSUM(2) | VERSION(1), where
// CHECKSUM is the first two bytes of SHA3-256(".onion checksum" | PUBKEY | VERSION).

import { createHash } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export interface OnionProblem {
  message: string;
  fix: string;
}

function decodeBase32(text: string): Buffer {
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of text) {
    buffer = (buffer << 5) | ALPHABET.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

function encodeBase32(bytes: Buffer): string {
  let text = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      text += ALPHABET[(buffer >> bits) & 31];
    }
  }
  if (bits > 0) text += ALPHABET[(buffer << (5 - bits)) & 31];
  return text;
}

function checksum(publicKey: Buffer, version: number): Buffer {
  return createHash('sha3-256')
    .update(Buffer.from('.onion checksum'))
    .update(publicKey)
    .update(Buffer.from([version]))
    .digest()
    .subarray(0, 2);
}

/** Build the v3 onion address of an ed25519 public key (32 bytes). */
export function onionAddressFromPublicKey(publicKey: Buffer): string {
  const body = Buffer.concat([publicKey, checksum(publicKey, 3), Buffer.from([3])]);
  return `${encodeBase32(body)}.onion`;
}

/** Check an onion address; returns the problem, or undefined when it is valid. */
export function checkOnionAddress(value: string): OnionProblem | undefined {
  const fix = 'copy the address again from the host (e.g. /var/lib/tor/ssh/hostname), or remove `onion:` so it is learned on first contact';
  const match = /^([a-z2-7]+)\.onion$/.exec(value);
  if (match === null || match[1] === undefined) {
    if (/^[A-Z2-7]+\.onion$/i.test(value)) {
      return { message: 'onion address must be lower case', fix: `write ${value.toLowerCase()}` };
    }
    return { message: 'not an onion address: expected 56 characters a-z and 2-7, then .onion', fix };
  }
  const label = match[1];
  if (label.length === 16) {
    return {
      message: 'v2 onion addresses (16 characters) are no longer supported by Tor',
      fix: 'use the host\'s v3 onion address, 56 characters long',
    };
  }
  if (label.length !== 56) {
    return { message: `onion address has ${label.length} characters before .onion, expected 56`, fix };
  }
  const body = decodeBase32(label);
  const publicKey = body.subarray(0, 32);
  const version = body[34];
  if (version !== 3) {
    return { message: `onion address has version byte ${String(version)}, expected 3`, fix };
  }
  if (!checksum(publicKey, 3).equals(body.subarray(32, 34))) {
    return { message: 'onion address checksum does not match: a character is wrong', fix };
  }
  return undefined;
}
