// The article's openssl steps, with node-forge: a CA (CN admission_ca) and a server certificate for opa.opa.svc.
import { createHash, generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

export const CA_COMMON_NAME = 'admission_ca';
export const SERVER_COMMON_NAME = 'opa.opa.svc';
/** The article's SAN plus the longer forms the official OPA tutorial uses today. */
export const SERVER_DNS_NAMES = ['opa.opa.svc', 'opa.opa.svc.cluster', 'opa.opa.svc.cluster.local'];
const DAY = 24 * 60 * 60 * 1000;
export const CA_VALIDITY_DAYS = 3650;
export const SERVER_VALIDITY_DAYS = 365;
/** Renew when less than this is left, so a long-lived sandbox never meets an expired certificate. */
export const RENEW_BEFORE_DAYS = 30;

export interface CertificateBundle {
  caKey: string;
  caCert: string;
  serverKey: string;
  serverCert: string;
}

// Native key generation, off the main thread: forge's pure-JS RSA takes seconds per key, and a synchronous one
// would stall the steps that run beside the certificates.
const newPrivateKeyPem = async () =>
  (
    await promisify(generateKeyPair)('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    })
  ).privateKey;

/** Keys being made ahead of need, in libuv's thread pool, taken in order by the next certificates. */
const ahead: Promise<string>[] = [];

/** Starts making `count` keys now (e.g. while preflight runs), so that making certificates later costs no wait. */
export function prepareKeys(count: number): void {
  while (ahead.length < count) {
    const key = newPrivateKeyPem();
    key.catch(() => undefined); // a failure surfaces where the key is taken
    ahead.push(key);
  }
}

async function rsaKeyPair(): Promise<{ privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string }> {
  const privateKey = await (ahead.shift() ?? newPrivateKeyPem());
  const key = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  return { privateKey: key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e), pem: forge.pki.privateKeyToPem(key) };
}

function serial(): string {
  // Positive, 16 bytes: the high bit cleared so the DER integer is not negative.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

/** UTF8String, as openssl writes it: forge's default PrintableString cannot hold the "_" of admission_ca, and Go's x509 rejects it. */
const commonName = (value: string) => ({ name: 'commonName', value, valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class });

function sign(cert: forge.pki.Certificate, key: forge.pki.rsa.PrivateKey) {
  cert.sign(key, forge.md.sha256.create());
}

export async function generateCa(now: Date = new Date()): Promise<Pick<CertificateBundle, 'caKey' | 'caCert'>> {
  const keys = await rsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 60_000); // tolerate small clock skew
  cert.validity.notAfter = new Date(now.getTime() + CA_VALIDITY_DAYS * DAY);
  const subject = [commonName(CA_COMMON_NAME)];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  sign(cert, keys.privateKey);
  return { caKey: keys.pem, caCert: forge.pki.certificateToPem(cert) };
}

/** The article's server.conf: CA:FALSE; nonRepudiation, digitalSignature, keyEncipherment; clientAuth, serverAuth. */
export async function generateServerCertificate(
  ca: Pick<CertificateBundle, 'caKey' | 'caCert'>,
  now: Date = new Date(),
): Promise<Pick<CertificateBundle, 'serverKey' | 'serverCert'>> {
  const caCert = forge.pki.certificateFromPem(ca.caCert);
  const caKey = forge.pki.privateKeyFromPem(ca.caKey) as forge.pki.rsa.PrivateKey;
  const keys = await rsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(Math.min(now.getTime() + SERVER_VALIDITY_DAYS * DAY, caCert.validity.notAfter.getTime()));
  cert.setSubject([commonName(SERVER_COMMON_NAME)]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', nonRepudiation: true, digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', clientAuth: true, serverAuth: true },
    { name: 'subjectAltName', altNames: SERVER_DNS_NAMES.map((value) => ({ type: 2, value })) },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  sign(cert, caKey);
  return { serverKey: keys.pem, serverCert: forge.pki.certificateToPem(cert) };
}

export type CertificateVerdict = { action: 'keep' } | { action: 'renew-server'; reason: string } | { action: 'renew-all'; reason: string };

function sameKey(cert: forge.pki.Certificate, keyPem: string): boolean {
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const pub = cert.publicKey as forge.pki.rsa.PublicKey;
  return pub.n.equals(key.n) && pub.e.equals(key.e);
}

/** Whether existing files can be reused: valid for RENEW_BEFORE_DAYS more, matching keys, the right names, signed by the CA. */
export function assessCertificates(bundle: Partial<CertificateBundle>, now: Date = new Date()): CertificateVerdict {
  if (!bundle.caKey || !bundle.caCert) return { action: 'renew-all', reason: 'no CA yet' };
  const horizon = now.getTime() + RENEW_BEFORE_DAYS * DAY;
  let ca: forge.pki.Certificate;
  try {
    ca = forge.pki.certificateFromPem(bundle.caCert);
    if (!sameKey(ca, bundle.caKey)) return { action: 'renew-all', reason: 'CA key does not match its certificate' };
  } catch (error) {
    return { action: 'renew-all', reason: `CA unreadable (${(error as Error).message})` };
  }
  if (ca.validity.notAfter.getTime() < horizon) return { action: 'renew-all', reason: 'CA expires soon' };
  if (!bundle.serverKey || !bundle.serverCert) return { action: 'renew-server', reason: 'no server certificate yet' };
  try {
    const server = forge.pki.certificateFromPem(bundle.serverCert);
    if (!sameKey(server, bundle.serverKey)) return { action: 'renew-server', reason: 'server key does not match its certificate' };
    if (!ca.verify(server)) return { action: 'renew-server', reason: 'server certificate not signed by this CA' };
    if (server.validity.notAfter.getTime() < horizon) return { action: 'renew-server', reason: 'server certificate expires soon' };
    const san = server.getExtension('subjectAltName') as { altNames?: { value: string }[] } | null;
    const names = new Set(san?.altNames?.map((n) => n.value));
    if (!SERVER_DNS_NAMES.every((n) => names.has(n))) return { action: 'renew-server', reason: 'server certificate lacks a required name' };
  } catch (error) {
    return { action: 'renew-server', reason: `server certificate unreadable (${(error as Error).message})` };
  }
  return { action: 'keep' };
}

/** A certificate's subject CN, DNS names (SANs) and end of validity, read from its PEM; throws on an unreadable one. */
export function certificateNames(pem: string): { commonName: string; dnsNames: string[]; notAfter: Date } {
  const cert = forge.pki.certificateFromPem(pem);
  const san = cert.getExtension('subjectAltName') as { altNames?: { type: number; value: string }[] } | null;
  return {
    commonName: String(cert.subject.getField('CN')?.value ?? ''),
    dnsNames: (san?.altNames ?? []).filter((n) => n.type === 2).map((n) => n.value),
    notAfter: cert.validity.notAfter,
  };
}

export const base64 = (text: string) => Buffer.from(text).toString('base64');
export const sha256 = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex');
/** The bearer token kube-mgmt presents to OPA. */
export const newToken = () => randomBytes(32).toString('base64url');
