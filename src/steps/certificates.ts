// Certificates and the kube-mgmt token, kept in the state directory (keys 0600), reused while valid.
import {
  assessCertificates,
  certificateNames,
  generateCa,
  generateServerCertificate,
  newToken,
  prepareKeys,
  type CertificateBundle,
  type CertificateVerdict,
} from '../certs.js';
import type { Ctx } from '../context.js';
import { plannedTask, type PlanReport, type Task } from '../listr.js';
import { messages } from '../messages.js';

import { CERTIFICATE_FILES as FILES, TOKEN_FILE } from '../adapters/state.js';

export async function readCertificates(ctx: Ctx): Promise<Partial<CertificateBundle>> {
  const { state } = ctx.services;
  const entries = await Promise.all(Object.entries(FILES).map(async ([key, file]) => [key, await state.read(file)] as const));
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
}

const keysFor = (verdict: CertificateVerdict) => (verdict.action === 'renew-all' ? 2 : verdict.action === 'renew-server' ? 1 : 0);

/** How many new keys `up` will need: starting them early takes key generation off the critical path. */
export async function keysNeeded(ctx: Ctx): Promise<number> {
  return keysFor(assessCertificates(await readCertificates(ctx), ctx.services.now()));
}

/**
 * The certificates this run uses: the verdict on the files, and the bundle — the files' own when they are kept, else
 * made in memory (nothing is written). `token`: the kube-mgmt token on file, if any.
 */
export interface CertificatePlan {
  verdict: CertificateVerdict;
  bundle: CertificateBundle;
  token?: string;
}

/** Reads the state directory's certificates and token; makes new ones in memory where they cannot be reused. */
export async function readCertificatePlan(ctx: Ctx): Promise<CertificatePlan> {
  const existing = await readCertificates(ctx);
  const token = (await ctx.services.state.read(TOKEN_FILE))?.trim() || undefined;
  const verdict = assessCertificates(existing, ctx.services.now());
  if (verdict.action === 'keep') return { verdict, bundle: existing as CertificateBundle, ...(token ? { token } : {}) };
  prepareKeys(keysFor(verdict)); // both keys at once
  const ca = verdict.action === 'renew-all' ? await generateCa(ctx.services.now()) : { caKey: existing.caKey!, caCert: existing.caCert! };
  return { verdict, bundle: { ...ca, ...(await generateServerCertificate(ca, ctx.services.now())) }, ...(token ? { token } : {}) };
}

/** A certificate as a plan names it: "CN=opa.opa.svc, SANs opa.opa.svc, …, until 2026-06-01". */
function named(pem: string): string {
  const { commonName, dnsNames, notAfter } = certificateNames(pem);
  return messages.planCertificate(commonName, dnsNames, notAfter.toISOString().slice(0, 10));
}

/** The plan as a dry run shows it: each certificate that would be written, with its subject CN and SANs. */
export function describeCertificatePlan(plan: CertificatePlan, dir: string): PlanReport {
  const { verdict, bundle, token } = plan;
  const writes: string[] = {
    keep: [],
    'renew-server': [messages.planServerCertificate(named(bundle.serverCert))],
    'renew-all': [messages.planCa(named(bundle.caCert)), messages.planServerCertificate(named(bundle.serverCert))],
  }[verdict.action];
  if (!token) writes.push(messages.planToken(TOKEN_FILE));
  if (!writes.length) return { nothing: messages.planCertificatesKept(named(bundle.caCert), named(bundle.serverCert), dir) };
  return { changes: messages.planCertificatesWritten(writes, dir, 'reason' in verdict ? verdict.reason : undefined) };
}

/** Writes what the plan made (keys 0600) and a token if there is none; the bundle and token go on the context. Returns what was done. */
export async function applyCertificatePlan(ctx: Ctx, plan: CertificatePlan): Promise<string> {
  const { state } = ctx.services;
  const { verdict, bundle } = plan;
  if (verdict.action !== 'keep') {
    for (const key of Object.keys(FILES) as (keyof typeof FILES)[]) {
      const file = FILES[key];
      if (key.endsWith('Key')) await state.writeSecret(file, bundle[key]);
      else await state.write(file, bundle[key]);
    }
  }
  let token = plan.token;
  if (!token) {
    token = newToken();
    await state.writeSecret(TOKEN_FILE, `${token}\n`);
  }
  ctx.certificates = bundle;
  ctx.kubeMgmtToken = token;
  if (verdict.action === 'keep') return 'reused';
  return `${verdict.action === 'renew-all' ? 'created' : 'server certificate renewed'} (${verdict.reason})`;
}

/** Returns what was done: kept, renewed the server certificate, or made everything anew. */
export async function convergeCertificates(ctx: Ctx): Promise<string> {
  return applyCertificatePlan(ctx, await readCertificatePlan(ctx));
}

export function certificateTasks(): Task[] {
  return [
    plannedTask<CertificatePlan>('Certificates', (ctx, task) => ({
      read: () => readCertificatePlan(ctx),
      report: async (plan) => {
        // In memory only: later steps plan with the CA bundle `up` would apply (the existing CA unless renewed).
        ctx.certificates = plan.bundle;
        ctx.kubeMgmtToken = plan.token ?? '<new random token>';
        return describeCertificatePlan(plan, ctx.services.state.dir);
      },
      apply: async (plan) => {
        task.title = `Certificates: ${await applyCertificatePlan(ctx, plan)} in ${ctx.services.state.dir}`;
      },
    })),
  ];
}
