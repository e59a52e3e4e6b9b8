// Just enough JWT to forge the bad tokens the handshake must refuse.

import { createHmac, generateKeyPairSync, sign as rsaSign } from 'node:crypto';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function b64url(data) {
  return Buffer.from(typeof data === 'string' ? data : JSON.stringify(data)).toString('base64url');
}

/** The decoded `[header, claims]` of a token (no verification). */
export function decode(token) {
  const [header, payload] = token.split('.');
  return [JSON.parse(Buffer.from(header, 'base64url')), JSON.parse(Buffer.from(payload, 'base64url'))];
}

/** Signs `claims` with HS256/HS384/HS512 and `secret`; `header` adds or overrides header fields. */
export function sign(claims, secret, { alg = 'HS256', header = {} } = {}) {
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg];
  const input = `${b64url({ typ: 'JWT', alg, ...header })}.${b64url(claims)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

/**
 * `alg: none` over the claims of a real token: header and payload base64url, then an empty
 * signature (or `signature` if given, for example the original one).
 */
export function algNone(token, { alg = 'none', signature = '' } = {}) {
  const [, claims] = decode(token);
  return `${b64url({ alg, typ: 'JWT' })}.${b64url(claims)}.${signature}`;
}

/**
 * The token with the last character of its signature changed so that the signature bytes change
 * (the top bit of that base64url digit is flipped; its low two bits, which for a 32-byte HMAC are
 * padding, are kept — so the result is still canonical base64url and cannot decode to the same
 * bytes).
 */
export function tamperSignature(token) {
  const last = token.at(-1);
  const value = B64URL.indexOf(last);
  if (value < 0) throw new Error(`not a base64url digit: ${last}`);
  return token.slice(0, -1) + B64URL[value ^ 0b100000];
}

/**
 * `claims` signed RS256 with a fresh RSA key of our own: a well-formed token the server has no
 * reason to trust (it knows HS256 keys only).
 */
export function signRs256(claims) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const input = `${b64url({ typ: 'JWT', alg: 'RS256' })}.${b64url(claims)}`;
  return `${input}.${rsaSign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}
