// Certificates: files and modes in the state directory, reuse, renewal on a fake clock, and the result checked by real openssl.
import test from 'ava';
import { execa } from 'execa';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { CERTIFICATE_FILES as FILES, TOKEN_FILE } from '../../src/adapters/state.js';
import { convergeCertificates } from '../../src/steps/certificates.js';
import { FakeClock, fakeServices, makeCtx, type FakeCtx, type Owner } from '../helpers/fakes.js';

function ctxAt(t: Owner, time = Date.now()): FakeCtx {
  return makeCtx(t, {}, {}, fakeServices(t, { fakes: { clock: new FakeClock(time) } }));
}

const ALL = [...Object.values(FILES), TOKEN_FILE];
async function snapshot(ctx: FakeCtx): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(ALL.map(async (f) => [f, await readFile(ctx.services.state.file(f), 'utf8')] as const)));
}
const mode = async (file: string) => (await stat(file)).mode & 0o777;

test('first run creates the CA, the server pair and the token; keys and token 0600', async (t) => {
  const ctx = ctxAt(t);
  t.is(await convergeCertificates(ctx), 'created (no CA yet)');
  const state = ctx.services.state;
  for (const secret of [FILES.caKey, FILES.serverKey, TOKEN_FILE]) t.is(await mode(state.file(secret)), 0o600, secret);
  for (const pub of [FILES.caCert, FILES.serverCert]) t.is(await mode(state.file(pub)), 0o644, pub);
  t.is((await stat(state.dir)).mode & 0o777, 0o700);
  const files = await snapshot(ctx);
  t.regex(files[FILES.caKey]!, /^-----BEGIN RSA PRIVATE KEY-----/);
  t.regex(files[FILES.caCert]!, /^-----BEGIN CERTIFICATE-----/);
  t.regex(files[TOKEN_FILE]!, /^[A-Za-z0-9_-]{43}\n$/);
  t.deepEqual(ctx.certificates, {
    caKey: files[FILES.caKey],
    caCert: files[FILES.caCert],
    serverKey: files[FILES.serverKey],
    serverCert: files[FILES.serverCert],
  });
  t.is(ctx.kubeMgmtToken, files[TOKEN_FILE]!.trim());
});

test('second run reuses everything, byte for byte', async (t) => {
  const ctx = ctxAt(t);
  await convergeCertificates(ctx);
  const before = await snapshot(ctx);
  t.is(await convergeCertificates(ctx), 'reused');
  t.deepEqual(await snapshot(ctx), before);
  t.is(ctx.kubeMgmtToken, before[TOKEN_FILE]!.trim());
});

test('a widened key file mode is put back to 0600 when rewritten', async (t) => {
  const ctx = ctxAt(t);
  await convergeCertificates(ctx);
  const { chmod } = await import('node:fs/promises');
  await chmod(ctx.services.state.file(FILES.serverKey), 0o644);
  await writeFile(ctx.services.state.file(FILES.serverCert), 'garbage');
  t.regex(await convergeCertificates(ctx), /^server certificate renewed \(server certificate unreadable/);
  t.is(await mode(ctx.services.state.file(FILES.serverKey)), 0o600);
});

test('340 days later the server certificate is renewed, the CA kept', async (t) => {
  const ctx = ctxAt(t);
  await convergeCertificates(ctx);
  const before = await snapshot(ctx);
  ctx.services.fakes.clock.advanceDays(340);
  t.is(await convergeCertificates(ctx), 'server certificate renewed (server certificate expires soon)');
  const after = await snapshot(ctx);
  t.is(after[FILES.caKey], before[FILES.caKey]);
  t.is(after[FILES.caCert], before[FILES.caCert]);
  t.is(after[TOKEN_FILE], before[TOKEN_FILE]);
  t.not(after[FILES.serverCert], before[FILES.serverCert]);
  t.not(after[FILES.serverKey], before[FILES.serverKey]);
  t.is(await convergeCertificates(ctx), 'reused');
});

test('a corrupt CA regenerates everything (but keeps the token)', async (t) => {
  const ctx = ctxAt(t);
  await convergeCertificates(ctx);
  const before = await snapshot(ctx);
  await writeFile(ctx.services.state.file(FILES.caCert), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
  t.regex(await convergeCertificates(ctx), /^created \(CA unreadable/);
  const after = await snapshot(ctx);
  for (const file of Object.values(FILES)) t.not(after[file], before[file], file);
  t.is(after[TOKEN_FILE], before[TOKEN_FILE]);
});

test('a CA key that does not match its certificate regenerates everything', async (t) => {
  const ctx = ctxAt(t);
  await convergeCertificates(ctx);
  const other = ctxAt(t);
  await convergeCertificates(other);
  await writeFile(ctx.services.state.file(FILES.caKey), await readFile(other.services.state.file(FILES.caKey), 'utf8'));
  t.is(await convergeCertificates(ctx), 'created (CA key does not match its certificate)');
});

// --- real openssl -------------------------------------------------------------------------------------------

async function made(t: { teardown(fn: () => void): void }) {
  const ctx = ctxAt(t);
  await convergeCertificates(ctx);
  const f = (name: string) => ctx.services.state.file(name);
  return { ctx, ca: f(FILES.caCert), cert: f(FILES.serverCert), key: f(FILES.serverKey), caKey: f(FILES.caKey) };
}

test('openssl verify: the server certificate chains to the CA', async (t) => {
  const { ca, cert } = await made(t);
  const result = await execa('openssl', ['verify', '-CAfile', ca, cert], { reject: false });
  t.is(result.exitCode, 0, result.stderr);
  t.is(result.stdout.trim(), `${cert}: OK`);
});

test('openssl x509: names, extensions and usages as in the article’s server.conf', async (t) => {
  const { cert, ca } = await made(t);
  const { stdout } = await execa('openssl', [
    'x509',
    '-in',
    cert,
    '-noout',
    '-subject',
    '-issuer',
    '-ext',
    'subjectAltName,keyUsage,extendedKeyUsage,basicConstraints',
  ]);
  t.regex(stdout, /^subject=CN ?= ?opa\.opa\.svc$/m);
  t.regex(stdout, /^issuer=CN ?= ?admission_ca$/m);
  for (const expected of [
    'DNS:opa.opa.svc',
    'DNS:opa.opa.svc.cluster.local',
    'Digital Signature',
    'Non Repudiation',
    'Key Encipherment',
    'TLS Web Server Authentication',
    'TLS Web Client Authentication',
    'CA:FALSE',
  ]) {
    t.true(stdout.includes(expected), `${expected} in\n${stdout}`);
  }
  const caText = (await execa('openssl', ['x509', '-in', ca, '-noout', '-subject', '-ext', 'basicConstraints,keyUsage'])).stdout;
  t.regex(caText, /^subject=CN ?= ?admission_ca$/m);
  t.true(caText.includes('CA:TRUE'));
  t.true(caText.includes('Certificate Sign'));
});

test('openssl: common names are UTF8String (Go rejects "_" in a PrintableString)', async (t) => {
  const { ca } = await made(t);
  const { stdout } = await execa('openssl', ['asn1parse', '-in', ca]);
  t.regex(stdout, /UTF8STRING\s+:admission_ca/);
  t.notRegex(stdout, /PRINTABLESTRING\s+:admission_ca/);
});

test('openssl x509 -checkend: valid now and for 300 days, not for 400', async (t) => {
  const { cert, ca } = await made(t);
  const checkend = (file: string, days: number) =>
    execa('openssl', ['x509', '-in', file, '-noout', '-checkend', String(days * 86400)], { reject: false });
  t.is((await checkend(cert, 0)).exitCode, 0);
  t.is((await checkend(cert, 300)).exitCode, 0);
  t.is((await checkend(cert, 400)).exitCode, 1);
  t.is((await checkend(ca, 3000)).exitCode, 0);
});

test('openssl rsa -check on the keys; key modulus matches the certificate’s', async (t) => {
  const { cert, key, caKey, ca } = await made(t);
  for (const k of [key, caKey]) {
    const check = await execa('openssl', ['rsa', '-in', k, '-check', '-noout'], { reject: false });
    t.is(check.exitCode, 0, check.stderr);
    t.regex(check.stdout, /RSA key ok/);
  }
  const modulus = async (args: string[]) => (await execa('openssl', args)).stdout.trim();
  const certModulus = await modulus(['x509', '-in', cert, '-noout', '-modulus']);
  t.regex(certModulus, /^Modulus=[0-9A-F]{512}$/);
  t.is(await modulus(['rsa', '-in', key, '-noout', '-modulus']), certModulus);
  t.not(await modulus(['x509', '-in', ca, '-noout', '-modulus']), certModulus);
  t.is(await modulus(['rsa', '-in', caKey, '-noout', '-modulus']), await modulus(['x509', '-in', ca, '-noout', '-modulus']));
});
