// Workloads on any cluster where `bootstrap up` has run (the lead's minikube, kind, ...): a bad Deployment is refused
// at apply, and a good one rolls out and its pod runs.
//
//   E2E_KUBECONFIG=~/.kube/config E2E_REGISTRY_HOST=host.minikube.internal:5000 npx ava test/e2e/workloads-any-cluster.test.ts
//
// E2E_CONTEXT picks a context (default: the current one), E2E_NAMESPACE the namespace (default: default; it must not
// be exempt). Without E2E_KUBECONFIG the test is skipped; CI runs it on minikube's docker driver, and
// test/e2e/none-faults.test.ts runs the same scenario on the none driver.
import * as k8s from '@kubernetes/client-node';
import test from 'ava';
import { workloadScenario } from '../helpers/workload-scenario.js';

const file = process.env.E2E_KUBECONFIG;
const registryHost = process.env.E2E_REGISTRY_HOST ?? 'host.minikube.internal:5000';

(file ? test : test.skip)('a bad Deployment is refused at apply; a good one rolls out and its pod runs (any cluster)', async (t) => {
  t.timeout(300_000);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file!);
  if (process.env.E2E_CONTEXT) kc.setCurrentContext(process.env.E2E_CONTEXT);
  const admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
  const registered = await admission.readValidatingWebhookConfiguration({ name: 'opa-validating-webhook' }).then(
    () => true,
    () => false,
  );
  if (!registered) return t.fail(`no webhook opa-validating-webhook on ${kc.getCurrentContext()}: run \`bootstrap up\` there first`);
  await workloadScenario(t, kc, { namespace: process.env.E2E_NAMESPACE ?? 'default', registryHost });
});
