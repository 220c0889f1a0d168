// Every user-facing message in one place: what went wrong, and what to do about it.
import { BootstrapError, errorText, formatProblem } from './errors.js';

const usage = (problem: string, fix: string, cause?: unknown) => new BootstrapError(problem, fix, { cause, exitCode: 2 });
const fault = (problem: string, fix: string, cause?: unknown) => new BootstrapError(problem, fix, { cause });

/** A request to the Kubernetes API that failed, as the kube adapter describes it. */
export interface KubeRequest {
  /** What bootstrap was doing: apply, get, delete, list, patch, create, replace, post to. */
  operation: string;
  /** What it was done to: `ConfigMap opa/image-policy`, `Pods in namespace opa`. */
  target: string;
  /** RBAC's verb and resource (`patch`, `configmaps`), for `kubectl auth can-i`. */
  verb: string;
  resource: string;
  /** The object's name and namespace, when the request is about one. */
  name?: string;
  namespace?: string;
  /** The kubeconfig context and its API server. */
  context: string;
  server: string;
}

/** Why it failed: the API server's answer, no connection, a certificate that does not match, or something else. */
export type KubeFailure =
  { kind: 'status'; code: number; reason: string; message: string } | { kind: 'unreachable' | 'tls' | 'other'; message: string };

function kubeFix(r: KubeRequest, failure: KubeFailure): string {
  const ns = r.namespace ? ` -n ${r.namespace}` : '';
  const canI = `\`kubectl --context ${r.context} auth can-i ${r.verb} ${r.resource}${ns}\``;
  switch (failure.kind) {
    case 'unreachable':
      return `The Kubernetes API at ${r.server} (context '${r.context}') does not answer: is the cluster running? \`bootstrap status\` shows each part; \`bootstrap up\` (or \`minikube start -p <profile>\`) starts a minikube profile again; another cluster, start it or point the kubeconfig at one that runs.`;
    case 'tls':
      return `The API server at ${r.server} does not present the certificate context '${r.context}' expects (a cluster made anew?): refresh the kubeconfig (\`minikube update-context -p <profile>\`, \`kind export kubeconfig\`), then run the command again.`;
    case 'other':
      return '`bootstrap status` shows each part; run the command again with --debug to see the cause and its stack.';
  }
  const { code } = failure;
  if (code === 401)
    return `The API server did not accept the credentials of context '${r.context}' (expired, or from an earlier cluster): refresh the kubeconfig (for minikube, \`minikube update-context -p <profile>\`), then run the command again.`;
  if (code === 403)
    return `The user of context '${r.context}' lacks the RBAC permission to ${r.verb} ${r.resource}${r.namespace ? ` in namespace ${r.namespace}` : ''} (${canI} says so). bootstrap installs a cluster-wide webhook and needs cluster-admin: use a context that has it (--context).`;
  if (code === 404)
    return `It is not there, or its namespace or API is not: \`bootstrap status\` shows what is missing, and \`bootstrap up\` creates what bootstrap owns.`;
  if (code === 409)
    return `Another writer got there first: another field manager owns those fields, or the object changed meanwhile (\`kubectl --context ${r.context} get ${r.resource}${r.name ? ` ${r.name}` : ''}${ns} -o yaml --show-managed-fields\` shows who owns what). Run the command again: it reads the object anew.`;
  if (code === 400 || code === 422)
    return 'The API server refused the request as written (its message names the field): check the values given by flag or config file; if they are right, it is a bootstrap bug: report it with the output of --debug.';
  if (code === 429 || code >= 500)
    return "The API server, or what it forwards to, is overloaded or failing: wait a moment and run the command again; `bootstrap status` shows each part, `kubectl get --raw='/readyz?verbose'` the API server's own checks.";
  return '`bootstrap status` shows each part; run the command again with --debug to see the cause and its stack.';
}

export const messages = {
  // Configuration
  configNotAMapping: (source: string) =>
    usage(
      `${source} must hold a mapping of settings.`,
      'Write it as `key: value` lines (YAML) or a JSON object; see README "Configuration".',
    ),
  configUnknownKey: (source: string, key: string, known: readonly string[]) =>
    usage(`Unknown setting '${key}' in ${source}.`, `Remove it or fix its spelling; known settings: ${known.join(', ')}.`),
  configWrongType: (source: string, key: string, kind: string, value: unknown) =>
    usage(`Setting '${key}' in ${source} must be ${kind}, got ${JSON.stringify(value)}.`, `Give '${key}' a ${kind} value.`),
  configBadValue: (key: string, value: unknown, expected: string) =>
    usage(`Invalid ${key}: ${JSON.stringify(value)}.`, `Set ${key} to ${expected}.`),
  configUnreadable: (file: string, cause: unknown) =>
    usage(`Cannot read config file ${file}: ${errorText(cause)}.`, 'Check the path given to --config.', cause),
  configUnparsable: (file: string, cause: unknown) =>
    usage(`Config file ${file} is not valid YAML or JSON: ${errorText(cause)}`, 'Fix the syntax at the position shown.', cause),

  // Preflight
  dockerUnreachable: (cause: unknown) =>
    fault(
      `Cannot reach the Docker engine (${errorText(cause)}).`,
      'Start Docker (Docker Desktop, or `sudo systemctl start docker`), or point DOCKER_HOST at a running engine, then run the command again.',
      cause,
    ),
  registryPortUnchecked: (port: number, cause: unknown) =>
    fault(
      `Cannot tell whether port ${port} is ours: the Docker engine does not answer (${errorText(cause)}).`,
      'Start Docker (see the Docker engine check), then run the command again.',
      cause,
    ),
  minikubeMissing: () =>
    fault(
      'minikube is not installed (not found on PATH).',
      'Install minikube ≥ 1.26 (https://minikube.sigs.k8s.io/docs/start/), or use --cluster existing with a running cluster.',
    ),
  minikubeTooOld: (found: string, needed: string) =>
    fault(
      `minikube ${found} is too old; bootstrap needs ${needed} or newer.`,
      'Upgrade minikube (https://minikube.sigs.k8s.io/docs/start/).',
    ),
  minikubeUnparsableVersion: (output: string) =>
    fault(`Cannot read minikube's version from: ${output.trim().slice(0, 200)}`, 'Check that `minikube version` works.'),
  portHeld: (port: number) =>
    fault(
      `Port ${port} is already in use by another process, not by our registry container.`,
      `Stop that process (on macOS, AirPlay Receiver uses 5000), or choose another port with --registry-port.`,
    ),

  // Registry
  registryNotOurs: (name: string) =>
    fault(
      `A container named '${name}' exists that bootstrap did not create.`,
      `Remove or rename it (\`docker rm -f ${name}\`) if you no longer need it; bootstrap never touches containers it did not create.`,
    ),
  registryDrift: (name: string, differences: string[]) =>
    fault(
      `Container '${name}' exists with other settings than compose/registry.yaml: ${differences.join('; ')}.`,
      'Run `bootstrap up --recreate-registry` to recreate it (pushed images survive in the volume).',
    ),
  registryNotAnswering: (url: string, seconds: number) =>
    fault(`The registry at ${url} did not answer within ${seconds}s.`, 'Check `docker logs registry`; then run the command again.'),
  pullFailed: (image: string, cause: unknown) =>
    fault(
      `Cannot pull ${image}: ${errorText(cause)}.`,
      `Check your network and the image name, or make the image available locally (\`docker load\`/\`docker tag … ${image}\`), then run the command again.`,
      cause,
    ),
  pushFailed: (image: string, cause: unknown) =>
    fault(
      `Cannot push ${image}: ${errorText(cause)}.`,
      'Check that the registry container is running (`bootstrap status`) and has disk space.',
      cause,
    ),

  // Cluster
  profileLacksInsecureRegistry: (profile: string, registry: string) =>
    fault(
      `minikube profile '${profile}' was created without --insecure-registry=${registry}, and minikube applies that flag only when a profile is created.`,
      `Run \`bootstrap up --recreate-cluster\` to delete and recreate profile '${profile}', or \`minikube delete -p ${profile}\` yourself.`,
    ),
  profileLacksAlwaysPullImages: (profile: string) =>
    fault(
      `minikube profile '${profile}' was created without the AlwaysPullImages admission plugin, so an image side-loaded into its node under a trusted name (minikube image load, ctr images import) would run without being pulled from the registry; minikube applies --extra-config only when a profile is created.`,
      `Run \`bootstrap up --recreate-cluster\` to delete and recreate profile '${profile}', or \`minikube delete -p ${profile}\` yourself.`,
    ),
  minikubeStartFailed: (profile: string, cause: unknown) =>
    fault(
      `minikube could not start profile '${profile}': ${errorText(cause)}`,
      `Read minikube's message above; \`minikube logs -p ${profile}\` has details. \`minikube delete -p ${profile}\` then \`bootstrap up\` starts over.`,
      cause,
    ),
  nodeCannotReachRegistry: (profile: string, registryHost: string, output: string) =>
    fault(
      `The minikube node cannot reach the registry at http://${registryHost}/v2/ (${output.trim() || 'no answer'}).`,
      `Check that the registry container is running and that a firewall allows port traffic from minikube; or name the address yourself with --registry-host. Try: minikube ssh -p ${profile} -- curl -v http://${registryHost}/v2/`,
    ),
  nodeCannotReachRegistryOnNetwork: (container: string, mirror: string, network: string, output: string) =>
    fault(
      `The node ${container} cannot reach the registry at http://${mirror}/v2/ on Docker network '${network}' (${output.trim() || 'no answer'}).`,
      `\`docker network inspect ${network}\` should list container ${mirror.split(':')[0]}; \`docker exec ${container} curl -v http://${mirror}/v2/\` shows why; \`bootstrap up --recreate-registry\` connects a new one.`,
    ),
  registryContainerGone: (name: string) =>
    fault(`The registry container '${name}' is gone.`, 'Run `bootstrap up` again: it creates it (pushed images stay in the volume).'),
  nodeNetworkMissing: (container: string, network: string) =>
    fault(
      `The node runs in container '${container}', but Docker has no network '${network}' to join the registry to.`,
      `Check \`docker network ls\` and \`docker inspect ${container}\`; for a minikube profile, \`minikube delete -p <profile>\` then \`bootstrap up\` starts over.`,
    ),
  nodeHostAddressUnknown: (profile: string) =>
    fault(
      `The minikube node of profile '${profile}' does not resolve host.minikube.internal, so bootstrap cannot tell on which address of this machine to publish the registry.`,
      `Name it yourself: \`bootstrap up --registry-listen-address <this machine's address on the VM network>\` (see \`minikube ssh -p ${profile} -- ip route\`).`,
    ),
  packetFilterFailed: (command: string, said: string) =>
    fault(
      `The packet filter refused a rule that closes the registry to other hosts: ${command}: ${said}`,
      'Check that iptables works on this machine (`sudo iptables -t raw -S PREROUTING`) and run the command again; Docker 28 or later closes the registry itself, and bootstrap then adds no rule.',
    ),
  kubeconfigUnreadable: (cause: unknown) =>
    fault(
      `Cannot read the kubeconfig (${errorText(cause).split('\n')[0]}).`,
      'Point KUBECONFIG at an existing kubeconfig file (or unset it to use ~/.kube/config); `minikube update-context` or `kind export kubeconfig` writes one for those clusters.',
      cause,
    ),
  noKubeContext: () => fault('No current kubeconfig context.', 'Point KUBECONFIG at your cluster or name one with --context.'),
  unknownKubeContext: (name: string, known: string[]) =>
    usage(
      `No kubeconfig context named '${name}'.`,
      known.length
        ? `Use one of: ${known.join(', ')} (--context), or run \`bootstrap up\` to make it.`
        : 'The kubeconfig has no contexts (KUBECONFIG, else ~/.kube/config): run `bootstrap up`, or point KUBECONFIG at your cluster.',
    ),
  contextNotLocal: (context: string, server: string) =>
    usage(
      `Context '${context}' (${server}) does not look like a local cluster (a loopback address, or a kind, k3d, minikube or Docker Desktop context).`,
      'bootstrap installs a cluster-wide admission webhook; if you really mean this cluster, pass --yes.',
    ),
  clusterUnreachable: (server: string, cause: unknown) =>
    fault(
      `Cannot reach the Kubernetes API at ${server}: ${errorText(cause)}.`,
      'Check that the cluster is running (`bootstrap status`) and your kubeconfig is current.',
      cause,
    ),
  kubeRequestFailed: (request: KubeRequest, failure: KubeFailure, cause: unknown) =>
    fault(
      `Cannot ${request.operation} ${request.target}: ${
        failure.kind === 'status'
          ? `${failure.code}${failure.reason ? ` ${failure.reason}` : ''}${failure.message ? `: ${failure.message}` : ''}`
          : failure.message
      }`,
      kubeFix(request, failure),
      cause,
    ),
  registryHostRequired: () =>
    usage(
      'With --cluster existing, bootstrap cannot tell at which address your cluster reaches the registry.',
      'Pass --registry-host host:port (e.g. host.docker.internal:5000 for Docker Desktop, kind-registry:5000 for kind).',
    ),

  // OPA, policy, webhook
  objectNotOurs: (kind: string, name: string) =>
    fault(
      `${kind} ${name} exists, but bootstrap did not create it (it lacks the label app.kubernetes.io/managed-by=bootstrap); nothing was changed.`,
      `It may be left from a manual install of the article or the OPA tutorial: remove it (\`kubectl delete ${kind.toLowerCase()} ${name}\`) if you no longer need it, or use another cluster. bootstrap never changes objects it did not create.`,
    ),
  policySyntax: (file: string, output: string) =>
    usage(`The policy ${file} does not compile:\n${output.trim()}`, 'Fix the Rego at the position OPA shows; nothing was applied.'),
  policyCheckUnavailable: () =>
    'No opa binary (OPA or PATH) and no local OPA image: the custom policy is checked by kube-mgmt after it is applied.',
  rolloutTimeout: (seconds: number, detail: string) =>
    fault(
      `OPA did not become ready within ${seconds}s (${detail}).`,
      'Look at the pod: `kubectl -n opa describe pod -l app=opa` and `kubectl -n opa logs -l app=opa -c opa`; image pulls on a slow network can take longer (--wait-seconds).',
    ),
  policyRejected: (configMap: string, error: string) =>
    fault(
      `kube-mgmt could not load ConfigMap opa/${configMap}: ${error}`,
      'Fix the policy; `kubectl -n opa get configmap ' + configMap + ' -o yaml` shows the status annotation.',
    ),
  webhookNotAnswering: (seconds: number, lastAnswer: string) =>
    fault(
      `The API server could not reach the webhook within ${seconds}s: ${lastAnswer}`,
      'The API server dials Service opa/opa through kube-proxy: check `kubectl -n kube-system get pods -l k8s-app=kube-proxy` and `kubectl -n opa get endpointslices`; then run `bootstrap up` again.',
    ),
  policyTimeout: (configMap: string, seconds: number) =>
    fault(
      `kube-mgmt did not report on ConfigMap opa/${configMap} within ${seconds}s.`,
      'Check kube-mgmt: `kubectl -n opa logs -l app=opa -c kube-mgmt`.',
    ),

  registryHostingNotOurs: (theirHost: string | undefined, ourHost: string) =>
    formatProblem(
      `ConfigMap kube-public/local-registry-hosting exists, but bootstrap did not create it (it lacks the label app.kubernetes.io/managed-by=bootstrap), so it was left unchanged: Tilt and Skaffold will use the registry it names${theirHost ? ` (${theirHost})` : ''}, not ours (${ourHost}).`,
      "If it is left from another setup (kind's registry script, ctlptl, k3d), delete it (`kubectl -n kube-public delete configmap local-registry-hosting`) and run `bootstrap up` again; bootstrap never changes objects it did not create.",
      { mark: false },
    ),

  // Verify
  environmentNotUp: (command: string, problem: string) =>
    fault(
      `Nothing to ${command}: ${problem}.`,
      `Run \`bootstrap up\` (with the same flags), then ${command} again; \`bootstrap status\` shows each part.`,
    ),
  // The outcome of an update or ephemeral case whose base object cannot be created under its name.
  verifyBaseNameTaken: (object: string) =>
    `${object} exists and is not bootstrap's (no label app.kubernetes.io/managed-by=bootstrap), so it was left alone; this case needs the name: delete it, or verify in another namespace (--verify-namespace)`,
  verifyBaseGone: (object: string) =>
    `${object} was deleted before this case could change it: is another bootstrap verify or watch sending the same checks to this namespace at the same time? Run them one after the other`,
  verifyBaseStillDeleting: (object: string, seconds: number, finalizers: string[]) =>
    `${object}, left by an earlier run, is still being deleted ${seconds} s after it was asked to go${finalizers.length ? ` (finalizers: ${finalizers.join(', ')})` : ''}; the next run tries again`,
  verifyFailed: (failed: number, total: number) =>
    fault(
      `${failed} of ${total} checks did not give the expected result.`,
      'Read the table above; `bootstrap status` shows which part is missing, and `bootstrap up` converges it.',
    ),

  junitUnwritable: (file: string, cause: unknown) =>
    fault(
      `Cannot write the JUnit results to ${file}: ${errorText(cause)}.`,
      'Give --junit a path in a directory you can write to (it is created if missing).',
      cause,
    ),
  // Audit
  auditViolations: (count: number) =>
    fault(
      `${count} container image${count === 1 ? '' : 's'} in existing pods and workloads would be denied by the installed policy.`,
      'Push those images to the trusted registry and pin them (a version tag, or a digest), then update or recreate the objects listed above; or delete them.',
    ),

  // Watch
  junitNotInDryRun: (file: string) => `note: dry run: no JUnit report written (without --dry-run it goes to ${file}).`,
  watchNoDryRun: () =>
    usage(
      'bootstrap watch has no dry run: each save is applied to the cluster and judged there.',
      'To see what a policy decides without changing the cluster, run `opa test` on it (`bootstrap init-policy` copies the shipped tests), or `bootstrap up --policy-file FILE --dry-run` for what up would apply.',
    ),
  watchNeedsPolicyFile: () =>
    usage(
      'bootstrap watch needs the policy file to follow.',
      '`bootstrap init-policy` copies the shipped policy and its tests to ./policy; then `bootstrap watch --policy-file policy/image-policy.rego`.',
    ),
  policyCopyExists: (file: string) =>
    usage(
      `${file} already exists; nothing was copied.`,
      'Pick another directory (`bootstrap init-policy DIR`), or move that file away first.',
    ),

  auditUnsupported: () =>
    fault(
      'The running OPA does not answer audit requests: its policy predates `bootstrap audit`.',
      'Run `bootstrap up` to install the current policy, then audit again.',
    ),

  // doctor: what it shows before the preflight. The images are the settings, not what a cluster runs: doctor reads none.
  doctorImagesHeading: 'Images `up` deploys, as configured (no cluster is read):',
  doctorImageLabels: { opa: 'OPA', kubeMgmt: 'kube-mgmt', registry: 'registry', trusted: 'trusted image' },
  doctorRegistrySource: (image: string) => `${image} (compose/registry.yaml)`,
  doctorTrustedImage: (image: string) => `${image} (copied into the registry for the ok pod)`,

  // Interruptions
  interrupted: formatProblem('Interrupted.', 'Run the command again: every step picks up where it stopped.'),
  stalled: formatProblem(
    'bootstrap stopped while a step was still waiting on an answer that never came.',
    'Run the command again: every step picks up where it stopped.',
  ),

  // Dry run: each step's plan as --dry-run shows it (src/listr.ts runPlanned)
  planGuardInPlace: (rules: string[]) =>
    rules.length ? `other hosts' packets to the registry are dropped (${rules.join(', ')})` : 'no rule needed',
  planGuardPending: () =>
    "drop other hosts' packets to the registry's addresses once its container runs (iptables -t raw, one rule for 127.0.0.1 and one per network)",
  noRegistryDigest: (image: string) => `no digest for ${image} in the registry (run bootstrap up)`,
  guardUnchecked: () => 'not checked: this process may not read the packet filter (not root); see the note of bootstrap up',
  guardRulesMissing: (missing: number, wanted: number) =>
    `${missing} of ${wanted} packet-filter rules missing (they do not survive a reboot or a Docker restart that readdresses the registry): run bootstrap up`,
  planGuardUnmanageable: () => 'NOT done: this process may not change the packet filter (see the note)',
  registryGuardUnmanageable: (commands: string[]) =>
    [
      'Hosts that route to this machine can reach the registry: this Docker engine (before Docker 28) forwards their',
      'packets to a published port, even one published on 127.0.0.1 only, and bootstrap may not change the packet filter',
      '(not root, or no iptables). Upgrade Docker to 28 or later, or run these lines (they last until a reboot;',
      '`bootstrap status` shows whether they are in place):',
      ...commands.map((c) => `  ${c}`),
    ].join('\n'),
  planNothing: (title: string, found: string) => `${title}: nothing to do (${found})`,
  planChanges: (changes: string, assumed?: string) => `dry run${assumed ? ` (${assumed})` : ''}: ${changes}`,
  planWouldFail: (title: string, problem: string) => `${title}: would fail (${problem})`,
  // the registry container and the trusted image
  planRegistryRunning: (image: string, published: string) => `running ${image} on ${published}`,
  planRegistryCreate: (name: string, image: string, published: string, volume: string, restart: string) =>
    `create container ${name} (image ${image}, published on ${published}, volume ${volume}, restart ${restart}; compose/registry.yaml through the Docker API) && docker start ${name}`,
  planRegistryStart: (name: string, image: string) => `docker start ${name} (${image}, stopped)`,
  planRegistryRemove: (name: string, volume: string) => `docker rm -f ${name} (its volume ${volume} and the images in it stay)`,
  planTrustedImagePresent: (image: string) => `the registry holds ${image}`,
  planRegistryNotRunning: (name: string) => `container ${name} does not run as wanted yet`,
  // the minikube profile and its node
  planProfileRunning: (profile: string, status: string, insecureRegistry: string) =>
    `minikube profile ${profile} ${status}, pulling from ${insecureRegistry} as an insecure registry, AlwaysPullImages on`,
  planNodeMirrorInPlace: (node: string, mirror: string, network: string) =>
    `${node} pulls through ${mirror} on network ${network}, containerd mirror in place`,
  planNodeIsHost: (host: string) => `the node is this machine; up checks that http://${host}/v2/ answers here`,
  planNodeVmPublished: (address: string, probe: string) => `the registry is published on ${address}; up checks from the node: ${probe}`,
  planRegistryRepublish: (address: string | undefined) =>
    `publish the registry on ${address ?? 'that address'} too (remove the registry container and create it again: the images stay in its volume)`,
  planExistingNodes: (registry: string) =>
    `for each node that is a container on this Docker: docker network connect <its network> ${registry}, and a containerd mirror`,
  planNoContainerNodes: () => 'no node is a container on this Docker; nothing to join',
  planProfileMade: (profile: string, action: 'create' | 'recreate') => `minikube profile ${profile} is to be ${action}d first`,
  // certificates: each named by its subject CN and SANs
  planCertificate: (commonName: string, dnsNames: string[], until: string) =>
    `CN=${commonName}${dnsNames.length ? `, SANs ${dnsNames.join(', ')}` : ''}, until ${until}`,
  planCa: (named: string) => `a CA (${named}) as ca.key and ca.crt`,
  planServerCertificate: (named: string) => `a server certificate (${named}) signed by the CA, as tls.key and tls.crt`,
  planToken: (file: string) => `a new kube-mgmt token as ${file}`,
  planCertificatesWritten: (writes: string[], dir: string, reason?: string) =>
    `write ${writes.join('; ')} in ${dir} (keys and token 0600)${reason ? `: ${reason}` : ''}`,
  planCertificatesKept: (ca: string, server: string, dir: string) => `CA ${ca} and server certificate ${server} in ${dir}`,
  // Kubernetes objects (src/object-plan.ts)
  planObjectsInPlace: (names: string[]) => `${names.join(', ')} as wanted`,
  planApply: (create: string[], update: string[], unchanged: string[], also: string[], yaml: string) => {
    const applied = [...(create.length ? [`create ${create.join(', ')}`] : []), ...(update.length ? [`update ${update.join(', ')}`] : [])];
    const steps = [
      ...(applied.length ? [`server-side apply (field manager bootstrap) — ${applied.join('; ')}`] : []),
      ...also,
      ...(unchanged.length ? [`unchanged ${unchanged.join(', ')}`] : []),
    ];
    return `${steps.join('; ')}${yaml ? `:\n${yaml}` : ''}`;
  },
  planResync: (configMap: string) => `make kube-mgmt load ${configMap} again (merge patch dropping its status annotations)`,
  planHosting: (host: string, fromRuntime: string) => `it says push to ${host}, manifests use ${fromRuntime}`,
  planHostingNotOurs: () => 'kube-public/local-registry-hosting is not ours; it stays as it is',
  /** The cluster as a dry run's plan sees it when it cannot read it. */
  planClusterUnread: (reason: string) => `the cluster not read (${reason}): planned as if it held none of bootstrap's objects`,
  /** What a dry run could not read, and what its plan assumes instead. */
  planUnread: (what: string, reason: string, assumption: string) => `${what} not read (${reason}): planned as if ${assumption}`,

  // Down
  planDeleteOurs: (objects: string[], selector: string) => `delete ${objects.join(' and ')} (only if labelled ${selector})`,
  planDeleteLabelled: (kinds: string[], namespace: string, selector: string) =>
    `delete every ${kinds.join(', ')} in namespace ${namespace} labelled ${selector}`,
  planUnlabel: (object: string, label: string) =>
    `server-side apply ${object} without label ${label} (drops only what bootstrap's field manager set)`,
  planRemoveContainer: (command: string, labels: string, guardComment: string) =>
    `${command} (only if labelled ${labels}), and the packet-filter rules commented ${guardComment}`,
  guardRulesRemoved: (count: number) => `; ${count} packet-filter rule${count === 1 ? '' : 's'} for it removed`,
  planPurgeState: (dir: string, files: string[]) => `rm ${files.join(' ')} in ${dir} (and the directory, if that leaves it empty)`,
  planProfileKept: (profile: string) => `keep minikube profile ${profile}: bootstrap has no record of creating it`,
  profileKept: (profile: string) =>
    `Cluster: minikube profile ${profile} kept: bootstrap has no record of creating it (delete it yourself with \`minikube delete -p ${profile}\`)`,
  kubeletNotStopped: (output: string) =>
    `Could not stop the kubelet before minikube delete (${output || 'no output'}): on the none driver pods may still run; \`sudo crictl ps\` shows them, \`sudo crictl rmp -fa\` removes them.`,
  minikubeDeleteFailed: (profile: string, output: string) =>
    fault(
      `minikube could not delete profile '${profile}': ${output.trim()}`,
      `Run \`minikube delete -p ${profile}\` yourself, then \`bootstrap down\` again for the rest.`,
    ),
  minikubeProfilesUnreadable: (output: string) =>
    fault(
      `Cannot list minikube profiles: ${output.trim().slice(0, 300)}`,
      'Check that `minikube profile list` works (Docker running, minikube healthy), then run the command again.',
    ),
  namespaceStillTerminating: (name: string) => `Namespace ${name} is still terminating; it will disappear once its finalizers run.`,
} as const;
