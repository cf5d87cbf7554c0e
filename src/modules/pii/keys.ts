import { randomBytes } from 'node:crypto';
import { createKeyRing, loadMasterKey, type KeyRing } from '../../lib/crypto.ts';

/**
 * The key ring of a process: FENXIAO_MASTER_KEY (or the data dir's master.key) encrypts and
 * indexes; FENXIAO_PREVIOUS_MASTER_KEYS only decrypt, while `fenxiao pii rotate-key` rewrites
 * what was written under them. The server and the CLI build it the same way.
 */
export function keyRingFromConfig(config: { masterKey?: string | undefined; previousMasterKeys?: string[] | undefined; dataDir: string }): KeyRing {
  const previous = (config.previousMasterKeys ?? []).map((k) => Buffer.from(k, 'base64'));
  return createKeyRing(loadMasterKey(config.masterKey, config.dataDir), previous);
}

/** A fresh master key, base64 of 32 random bytes (`fenxiao pii new-key`). */
export function newMasterKey(): string {
  return randomBytes(32).toString('base64');
}
