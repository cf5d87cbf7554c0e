import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, scrypt, timingSafeEqual, type BinaryLike } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

// ---------------------------------------------------------------------------------------------
// Passwords: scrypt with a per-password salt, parameters stored beside the hash so they can rise.

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 } as const;

function scryptAsync(password: BinaryLike, salt: Buffer, N: number, r: number, p: number, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, { N, r, p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keylen);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, saltB64, keyB64] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(keyB64, 'base64');
  const key = await scryptAsync(password, Buffer.from(saltB64, 'base64'), Number(n), Number(r), Number(p), expected.length);
  return timingSafeEqual(key, expected);
}

/** A hash that takes the same time whatever the password, for unknown users (no user oracle). */
export const DUMMY_PASSWORD_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

// ---------------------------------------------------------------------------------------------
// Tokens (API keys, sessions): random, high-entropy, so a fast hash is enough to store them.

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256Hex(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

// ---------------------------------------------------------------------------------------------
// Personal data at rest: AES-256-GCM under a key id, and an HMAC blind index for lookups.

export interface KeyRing {
  /** Id of the key new ciphertexts are written under. */
  currentKid: string;
  encrypt(plaintext: string): string;
  decrypt(ciphertext: string): string;
  /** Deterministic keyed hash of a normalised value: equal values, equal index; no plaintext. */
  blindIndex(value: string): string;
  /**
   * The value's index under the current key, then under each previous key: lookups match any of
   * them, so rows not yet rewritten by a key rotation are still found while it runs.
   */
  blindIndexes(value: string): string[];
  /** True if the ciphertext was written under an older key (the rotation command rewrites it). */
  isStale(ciphertext: string): boolean;
}

interface DerivedKey {
  kid: string;
  enc: Buffer;
  idx: Buffer;
}

function derive(master: Buffer): DerivedKey {
  const kid = createHash('sha256').update(master).digest('hex').slice(0, 8);
  const enc = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'fenxiao pii encryption v1', 32));
  const idx = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'fenxiao pii blind index v1', 32));
  return { kid, enc, idx };
}

function indexWith(key: DerivedKey, value: string): string {
  return createHmac('sha256', key.idx).update(value.normalize('NFKC').trim().toLowerCase()).digest('base64url');
}

/**
 * `current` encrypts and indexes; `previous` keys only decrypt, so a key can be rotated while
 * old rows are rewritten. Format: `v1.<kid>.<iv>.<ciphertext+tag>` (base64url parts).
 */
export function createKeyRing(current: Buffer, previous: Buffer[] = []): KeyRing {
  if (current.length !== 32) throw new Error('master key must be 32 bytes');
  const cur = derive(current);
  const byKid = new Map<string, DerivedKey>([[cur.kid, cur]]);
  for (const key of previous) {
    const d = derive(key);
    if (!byKid.has(d.kid)) byKid.set(d.kid, d);
  }
  return {
    currentKid: cur.kid,
    encrypt(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', cur.enc, iv);
      cipher.setAAD(Buffer.from(cur.kid));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `v1.${cur.kid}.${iv.toString('base64url')}.${body.toString('base64url')}`;
    },
    decrypt(ciphertext) {
      const [version, kid, ivB64, bodyB64] = ciphertext.split('.');
      if (version !== 'v1' || !kid || !ivB64 || !bodyB64) throw new Error('not a Fenxiao ciphertext');
      const key = byKid.get(kid);
      if (!key) throw new Error(`no key with id ${kid} is configured`);
      const body = Buffer.from(bodyB64, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key.enc, Buffer.from(ivB64, 'base64url'));
      decipher.setAAD(Buffer.from(kid));
      decipher.setAuthTag(body.subarray(body.length - 16));
      return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
    },
    blindIndex(value) {
      return indexWith(cur, value);
    },
    blindIndexes(value) {
      return [...byKid.values()].map((k) => indexWith(k, value));
    },
    isStale(ciphertext) {
      return ciphertext.split('.')[1] !== cur.kid;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Files at rest (identity documents): envelope encryption. Each file has its own random data key
// that encrypts its bytes with AES-256-GCM; the data key is kept wrapped under the key ring
// (`keyring.encrypt`), so a key rotation re-wraps 32 bytes per file instead of re-encrypting it,
// and deleting the wrapped key makes the file unreadable wherever copies of it remain.

/** `FXE1`: the first bytes of a sealed file, then the IV (12 bytes), the ciphertext and the tag (16). */
const SEALED_MAGIC = Buffer.from('FXE1', 'latin1');

export function newDataKey(): Buffer {
  return randomBytes(32);
}

/** The data key as stored: wrapped under the key ring's current key (`v1.<kid>.…`). */
export function wrapDataKey(keyring: KeyRing, key: Buffer): string {
  return keyring.encrypt(key.toString('base64'));
}

export function unwrapDataKey(keyring: KeyRing, wrapped: string): Buffer {
  const key = Buffer.from(keyring.decrypt(wrapped), 'base64');
  if (key.length !== 32) throw new Error('a wrapped data key is not 32 bytes');
  return key;
}

/**
 * Encrypts `plaintext` under a data key. `aad` binds the result to what it belongs to (a
 * document's id): a sealed file copied under another document's row does not open.
 */
export function sealBytes(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  return Buffer.concat([SEALED_MAGIC, iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** The plaintext of a sealed file; throws if it is not one, or was changed, or belongs to another `aad`. */
export function openBytes(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < SEALED_MAGIC.length + 12 + 16 || !sealed.subarray(0, SEALED_MAGIC.length).equals(SEALED_MAGIC))
    throw new Error('not a sealed Fenxiao file');
  const iv = sealed.subarray(4, 16);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(16, sealed.length - 16)), decipher.final()]);
}

/** The master key from configuration, else the one in the data dir, else a new one saved there. */
export function loadMasterKey(configured: string | undefined, dataDir: string): Buffer {
  if (configured) return Buffer.from(configured, 'base64');
  const file = path.resolve(dataDir, 'master.key');
  if (fs.existsSync(file)) {
    const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${file} does not hold a base64 32-byte key`);
    return key;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const key = randomBytes(32);
  fs.writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}

/** Shows the last four characters of a phone, account or id number: 138****5678 style. */
export function maskTail(value: string, keepStart = 3, keepEnd = 4): string {
  if (value.length <= keepEnd) return '*'.repeat(value.length);
  const start = value.length > keepStart + keepEnd ? value.slice(0, keepStart) : '';
  return start + '*'.repeat(value.length - start.length - keepEnd) + value.slice(-keepEnd);
}
