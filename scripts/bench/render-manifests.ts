// The baseline's manifests: the SAME objects `bootstrap up` applies (src/steps/opa.ts desiredObjects), rendered
// with the baseline's own openssl certificates and token, printed as YAML (Secrets NOT redacted; --dry-run redacts).
//
//   node --import tsx scripts/bench/render-manifests.ts --certs DIR --registry-host HOST:PORT --token TOKEN --group G
//   ... --out-dir OUT   (instead of --group: every group to OUT/<group>.yaml)
//
// DIR holds ca.crt, ca.key, server.crt, server.key (the article's file names). Groups, in the article's order:
//   authz-secret  the Secret opa-authz (token + authz policy; the article has none, the modernised Deployment mounts it)
//   workload      RBAC, ServiceAccount, Service, Deployment (the article's admission-controller.yaml)
//   policy        the two policy ConfigMaps
//   webhook       the ValidatingWebhookConfiguration (caBundle = base64 ca.crt)
// The namespace and the TLS Secret are made by `kubectl create` in baseline.sh, as in the article.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { mergeConfig } from '../../src/config.js';
import { newContext, defaultRunOptions, type Services } from '../../src/context.js';
import { desiredObjects } from '../../src/steps/opa.js';

const { values } = parseArgs({
  options: {
    certs: { type: 'string' },
    'registry-host': { type: 'string' },
    token: { type: 'string' },
    group: { type: 'string', default: 'all' },
    'out-dir': { type: 'string' },
  },
});
const certs = values.certs;
const registryHost = values['registry-host'];
const token = values.token;
if (!certs || !registryHost || !token) {
  process.stderr.write(
    'usage: render-manifests.ts --certs DIR --registry-host HOST:PORT --token TOKEN [--group authz-secret|workload|policy|webhook|all]\n',
  );
  process.exit(2);
}

const read = (name: string) => readFile(path.join(certs, name), 'utf8');
const config = mergeConfig(process.env, {}, { cluster: 'existing', registryHost });
// desiredObjects only renders: it reaches no service.
const ctx = newContext(config, defaultRunOptions(), {} as Services);
ctx.registryHost = registryHost;
ctx.certificates = {
  caCert: await read('ca.crt'),
  caKey: await read('ca.key'),
  serverCert: await read('server.crt'),
  serverKey: await read('server.key'),
};
ctx.kubeMgmtToken = token;

const all = await desiredObjects(ctx);
const groups = {
  'authz-secret': all.namespace.filter((o) => o.kind === 'Secret' && o.metadata?.name === 'opa-authz'),
  workload: all.workload,
  policy: all.policy,
  webhook: all.webhook,
};
const outDir = values['out-dir'];
if (outDir) {
  // One file per group: <DIR>/<group>.yaml.
  for (const [name, list] of Object.entries(groups))
    await writeFile(path.join(outDir, `${name}.yaml`), list.map((o) => stringify(o)).join('---\n'));
  process.exit(0);
}
const group = values.group as keyof typeof groups | 'all';
const objects = group === 'all' ? Object.values(groups).flat() : groups[group];
if (!objects) {
  process.stderr.write(`unknown group ${group}\n`);
  process.exit(2);
}
process.stdout.write(objects.map((o) => stringify(o)).join('---\n'));
