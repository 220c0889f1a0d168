// Certificates and the kube-mgmt token, kept in the state directory (keys 0600), reused while valid.
import {
  assessCertificates,
  generateCa,
  generateServerCertificate,
  newToken,
  prepareKeys,
  type CertificateBundle,
  type CertificateVerdict,
} from '../certs.js';
import type { Ctx } from '../context.js';
import type { Task } from '../listr.js';

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

/** The certificates this run uses, made in memory where the files cannot be reused; nothing is written. */
async function planCertificates(ctx: Ctx): Promise<{ verdict: CertificateVerdict; bundle: CertificateBundle }> {
  const existing = await readCertificates(ctx);
  const verdict = assessCertificates(existing, ctx.services.now());
  if (verdict.action === 'keep') return { verdict, bundle: existing as CertificateBundle };
  prepareKeys(keysFor(verdict)); // both keys at once
  const ca = verdict.action === 'renew-all' ? await generateCa(ctx.services.now()) : { caKey: existing.caKey!, caCert: existing.caCert! };
  return { verdict, bundle: { ...ca, ...(await generateServerCertificate(ca, ctx.services.now())) } };
}

/** Returns what was done: kept, renewed the server certificate, or made everything anew. */
export async function convergeCertificates(ctx: Ctx): Promise<string> {
  const { state } = ctx.services;
  const { verdict, bundle } = await planCertificates(ctx);
  if (verdict.action !== 'keep') {
    for (const key of Object.keys(FILES) as (keyof typeof FILES)[]) {
      const file = FILES[key];
      if (key.endsWith('Key')) await state.writeSecret(file, bundle[key]);
      else await state.write(file, bundle[key]);
    }
  }
  let token = (await state.read(TOKEN_FILE))?.trim();
  if (!token) {
    token = newToken();
    await state.writeSecret(TOKEN_FILE, `${token}\n`);
  }
  ctx.certificates = bundle;
  ctx.kubeMgmtToken = token;
  if (verdict.action === 'keep') return 'reused';
  return `${verdict.action === 'renew-all' ? 'created' : 'server certificate renewed'} (${verdict.reason})`;
}

export function certificateTasks(): Task[] {
  return [
    {
      title: 'Certificates',
      task: async (ctx, task) => {
        if (ctx.options.dryRun) {
          // In memory only: the plan shows the CA bundle `up` would apply (the existing CA unless it must be renewed).
          const { verdict, bundle } = await planCertificates(ctx);
          ctx.certificates = bundle;
          ctx.kubeMgmtToken = (await ctx.services.state.read(TOKEN_FILE))?.trim() ?? '<new random token>';
          task.skip(
            `dry run: certificates would be ${verdict.action === 'keep' ? 'reused' : `made (${verdict.reason})`} in ${ctx.services.state.dir}`,
          );
          return;
        }
        task.title = `Certificates: ${await convergeCertificates(ctx)} in ${ctx.services.state.dir}`;
      },
    },
  ];
}
