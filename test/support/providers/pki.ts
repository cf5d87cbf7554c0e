import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Key and certificate material for the provider simulators, made fresh for every run with
 * node:crypto and the `openssl` CLI, so no real provider key ever sits in the repository.
 */

export interface RsaKeyPair {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** SPKI PEM. */
  publicKeyPem: string;
}

export function generateRsaKeyPair(bits = 2048): RsaKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function withTempDir<T>(work: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-pki-'));
  try {
    return work(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function openssl(args: string[], options: { cwd?: string; input?: string | Buffer } = {}): Buffer {
  return execFileSync('openssl', args, { cwd: options.cwd, input: options.input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A positive serial with the high bit clear, like a CA would pick. */
function randomSerialHex(): string {
  const bytes = randomBytes(12);
  bytes[0] = (bytes[0]! & 0x7f) | 0x10;
  return bytes.toString('hex');
}

export interface IssuedCert {
  certPem: string;
  keyPem: string;
}

/** A self-signed root. `ec` makes an ECDSA root, which Alipay's root-SN rule must skip. */
export function makeRootCert(subject: string, kind: 'rsa' | 'ec' = 'rsa'): IssuedCert {
  const keyPem =
    kind === 'rsa'
      ? generateRsaKeyPair().privateKeyPem
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const certPem = withTempDir((dir) => {
    fs.writeFileSync(path.join(dir, 'root.key'), keyPem);
    return openssl(
      ['req', '-x509', '-new', '-key', 'root.key', '-subj', subject, '-days', '3650', '-sha256', '-set_serial', `0x${randomSerialHex()}`, '-out', '-'],
      { cwd: dir },
    ).toString();
  });
  return { certPem, keyPem };
}

/** A leaf certificate for `keyPem`'s public key, signed by `issuer` (CSR then `openssl x509 -req`). */
export function issueCert(issuer: IssuedCert, subject: string, keyPem: string): string {
  return withTempDir((dir) => {
    fs.writeFileSync(path.join(dir, 'leaf.key'), keyPem);
    fs.writeFileSync(path.join(dir, 'ca.pem'), issuer.certPem);
    fs.writeFileSync(path.join(dir, 'ca.key'), issuer.keyPem);
    openssl(['req', '-new', '-key', 'leaf.key', '-subj', subject, '-out', 'leaf.csr'], { cwd: dir });
    return openssl(
      [
        'x509',
        '-req',
        '-in',
        'leaf.csr',
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-days',
        '3650',
        '-sha256',
        '-set_serial',
        `0x${randomSerialHex()}`,
        '-out',
        '-',
      ],
      { cwd: dir },
    ).toString();
  });
}

export function splitPemBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * Alipay's certificate SN, computed here independently of alipay-sdk so the simulator checks the
 * SDK rather than agreeing with it by construction: md5 of the issuer DN written from the last
 * RDN to the first as `k=v` joined by commas, followed by the serial number in decimal.
 */
export function alipayCertSn(certPem: string): string {
  const cert = new X509Certificate(certPem);
  const issuer = cert.issuer.split('\n').reverse().join(',');
  const serialDecimal = BigInt(`0x${cert.serialNumber}`).toString(10);
  return createHash('md5')
    .update(issuer + serialDecimal, 'utf8')
    .digest('hex');
}

/** The root SN: the SNs of the bundle's RSA-signed certificates joined by `_` (others skipped). */
export function alipayRootCertSn(bundlePem: string): string {
  return splitPemBundle(bundlePem)
    .filter((pem) => /Signature Algorithm: sha\d+WithRSAEncryption/.test(openssl(['x509', '-noout', '-text'], { input: pem }).toString()))
    .map(alipayCertSn)
    .join('_');
}
