import { createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

const N = 16384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

/**
 * Hashes an OCPP Basic-auth password (Security Profile 1/2) with scrypt and a random salt, in the
 * self-describing form `scrypt$N$r$p$salt$hash`, so the cost can be raised later without breaking
 * stored hashes.
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, { N, r: R, p: P });
  return ['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

/**
 * Successful verifications, remembered per (stored hash, password) digest so a reconnect storm does
 * not run scrypt a thousand times. Only SHA-256 digests are kept, never passwords.
 */
const verified = new Set<string>();
const MAX_REMEMBERED = 10_000;

/** Checks a password against a stored hash in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const memo = createHash('sha256').update(stored).update('\0').update(password).digest('base64');
  if (verified.has(memo)) return true;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, saltB64, keyB64] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(keyB64, 'base64');
  const key = await scrypt(password, Buffer.from(saltB64, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  const ok = key.length === expected.length && timingSafeEqual(key, expected);
  if (ok) {
    if (verified.size >= MAX_REMEMBERED) verified.clear();
    verified.add(memo);
  }
  return ok;
}

/**
 * Parses an `Authorization: Basic ...` header. OCPP 1.6 Security Profile 1 puts the charge point
 * identity as the username; the password is whatever follows the first colon.
 */
export function parseBasicAuth(header: string | undefined): { username: string; password: string } | null {
  if (!header) return null;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
