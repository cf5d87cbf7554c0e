import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import fs from 'node:fs';

/**
 * Key material arrives from configuration either inline (a PEM, or a bare base64 body as the
 * providers' consoles hand it out) or as a path to a file. Reading it once at construction makes
 * a wrong path or a damaged key fail at boot rather than on the first payout.
 */

/** Inline PEM stays as it is; an existing file is read; a long base64 string is a bare key body. */
export function readKeyMaterial(valueOrPath: string): string {
  const trimmed = valueOrPath.trim();
  if (trimmed.startsWith('-----BEGIN')) return trimmed;
  // A file wins over the base64 reading: a long path of letters and slashes is valid base64 too.
  if (fs.existsSync(trimmed)) return fs.readFileSync(trimmed, 'utf8').trim();
  if (/^[A-Za-z0-9+/=\s]{64,}$/.test(trimmed)) return trimmed;
  // The value itself stays out of the message: it may be a damaged secret.
  throw new Error(`key material (${trimmed.length} characters) is neither a PEM, a base64 key body, nor an existing file`);
}

function wrapPem(base64Body: string, label: string): string {
  const body =
    base64Body
      .replace(/\s+/g, '')
      .match(/.{1,64}/g)
      ?.join('\n') ?? '';
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

/** An RSA private key from PKCS#8 or PKCS#1, PEM or bare base64. */
export function loadPrivateKey(valueOrPath: string): KeyObject {
  const material = readKeyMaterial(valueOrPath);
  if (material.startsWith('-----BEGIN')) return createPrivateKey(material);
  try {
    return createPrivateKey(wrapPem(material, 'PRIVATE KEY'));
  } catch {
    return createPrivateKey(wrapPem(material, 'RSA PRIVATE KEY'));
  }
}

/** A public key from an SPKI PEM, a certificate, or a bare base64 SPKI body. */
export function loadPublicKey(valueOrPath: string): KeyObject {
  const material = readKeyMaterial(valueOrPath);
  if (material.startsWith('-----BEGIN')) return createPublicKey(material);
  return createPublicKey(wrapPem(material, 'PUBLIC KEY'));
}

/** Certificates are passed on as text (the Alipay SDK reads them itself). */
export function loadCertificate(valueOrPath: string): string {
  const material = readKeyMaterial(valueOrPath);
  if (!material.includes('-----BEGIN CERTIFICATE-----')) throw new Error('expected a PEM certificate (or a path to one)');
  return material;
}
