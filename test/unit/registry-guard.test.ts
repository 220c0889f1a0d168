// Closing the registry's container addresses to other hosts: the plan per engine and platform, the iptables argv and
// the listing it is read back from, the real adapter over a recording command runner, and the step on fakes.
import test from 'ava';
import { BootstrapError } from '../../src/errors.js';
import { guardArgv, HostFirewall, parseGuardRules, type GuardRule } from '../../src/adapters/firewall.js';
import { planRegistryGuard, routedAccessClosed, type GuardInputs } from '../../src/registry-guard.js';
import { registryGuardTask } from '../../src/steps/registry-guard.js';
import { FakeCmdRunner, makeCtx, runWithTestRenderer, stateFromSpec } from '../helpers/fakes.js';
import { loadRegistrySpec } from '../../src/registry-spec.js';

const engine = (version: string, more: { desktop?: boolean; local?: boolean } = {}) => ({ version, desktop: false, local: true, ...more });
const onBridge = { network: 'bridge', address: '172.17.0.3', bridge: 'docker0' };
const onProfile = { network: 'trusted-registry', address: '192.168.49.3', bridge: 'br-0123456789ab' };
const rule = (a: { address: string; bridge: string }, container = 'registry'): GuardRule => ({
  container,
  address: a.address,
  inInterface: a.bridge,
});
const loopback: GuardRule = { container: 'registry', address: '127.0.0.1', inInterface: 'lo', port: 5000 };

test('routedAccessClosed: only a local Linux engine before Docker 28 leaves routed access open', (t) => {
  const table: [string, ReturnType<typeof engine>, boolean][] = [
    ['linux', engine('20.10.24+dfsg1'), false],
    ['linux', engine('27.5.1'), false],
    ['linux', engine('28.0.1'), true],
    ['linux', engine('29.1.0'), true],
    ['linux', engine('26.1.5', { desktop: true }), true],
    ['linux', engine('26.1.5', { local: false }), true],
    ['darwin', engine('26.1.5'), true],
    ['win32', engine('26.1.5'), true],
  ];
  for (const [platform, facts, closed] of table)
    t.is(Boolean(routedAccessClosed(platform, facts)), closed, `${platform} ${JSON.stringify(facts)}`);
});

test('planRegistryGuard table: a rule per bridge network; only ours are touched; stale ones go', (t) => {
  const base: GuardInputs = {
    platform: 'linux',
    engine: engine('20.10.24'),
    container: 'registry',
    publishedPort: 5000,
    addresses: [onBridge, onProfile],
    existing: [],
  };
  const all = [loopback, rule(onBridge), rule(onProfile)];
  t.deepEqual(planRegistryGuard(base), { desired: all, add: all, remove: [] });
  // converged: nothing to add or remove
  t.deepEqual(planRegistryGuard({ ...base, existing: all }), { desired: all, add: [], remove: [] });
  // the registry got a new address (restarted): the old rule goes, the new one comes; another container's rule stays
  const old = { address: '172.17.0.2', bridge: 'docker0' };
  t.deepEqual(planRegistryGuard({ ...base, addresses: [onBridge], existing: [loopback, rule(old), rule(old, 'someone-else')] }), {
    desired: [loopback, rule(onBridge)],
    add: [rule(onBridge)],
    remove: [rule(old)],
  });
  // published on another port now: the loopback rule follows it
  t.deepEqual(planRegistryGuard({ ...base, publishedPort: 5001, existing: all }), {
    desired: [{ ...loopback, port: 5001 }, rule(onBridge), rule(onProfile)],
    add: [{ ...loopback, port: 5001 }],
    remove: [loopback],
  });
  // a network without a Linux bridge (host, macvlan) gets no rule
  t.deepEqual(planRegistryGuard({ ...base, addresses: [{ network: 'mac', address: '10.0.0.5' }] }), {
    desired: [loopback],
    add: [loopback],
    remove: [],
  });
  // no container yet (a dry run before the first up): its addresses are not known
  t.deepEqual(planRegistryGuard({ ...base, addresses: undefined }), { pending: true });
  // not root: the rules it would need
  t.deepEqual(planRegistryGuard({ ...base, existing: undefined }), { unmanageable: all });
  // Docker 28: nothing needed, whatever else
  t.true('unneeded' in planRegistryGuard({ ...base, engine: engine('28.1.1'), existing: undefined }));
});

test('guardArgv and parseGuardRules: what iptables -S prints for a rule we inserted reads back as that rule', (t) => {
  const r = rule(onProfile);
  t.deepEqual(guardArgv('-I', r), [
    '-w',
    '5',
    '-t',
    'raw',
    '-I',
    'PREROUTING',
    '-d',
    '192.168.49.3/32',
    '!',
    '-i',
    'br-0123456789ab',
    '-m',
    'comment',
    '--comment',
    'bootstrap-registry-guard:registry',
    '-j',
    'DROP',
  ]);
  t.deepEqual(guardArgv('-D', loopback).slice(6, 15), ['-d', '127.0.0.1/32', '!', '-i', 'lo', '-p', 'tcp', '--dport', '5000']);
  const listing = [
    '-P PREROUTING ACCEPT',
    '-A PREROUTING -d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 5000 -m comment --comment "bootstrap-registry-guard:registry" -j DROP',
    '-A PREROUTING -d 192.168.49.3/32 ! -i br-0123456789ab -m comment --comment bootstrap-registry-guard:registry -j DROP',
    '-A PREROUTING -d 172.17.0.3/32 ! -i docker0 -m comment --comment "bootstrap-registry-guard:registry" -j DROP',
    '-A PREROUTING -d 172.17.0.4/32 ! -i docker0 -j DROP',
    '-A PREROUTING -d 172.17.0.5/32 ! -i docker0 -m comment --comment somebody-else -j DROP',
  ].join('\n');
  t.deepEqual(parseGuardRules(listing), [loopback, r, rule(onBridge)]);
});

test('HostFirewall: lists through iptables -S; a refusal (not root) or no iptables is undefined; a failed insert throws its words', async (t) => {
  const cmd = new FakeCmdRunner().on(['iptables', '-w', '5', '-t', 'raw', '-S'], {
    stdout:
      '-P PREROUTING ACCEPT\n-A PREROUTING -d 172.17.0.3/32 ! -i docker0 -m comment --comment bootstrap-registry-guard:registry -j DROP\n',
  });
  const firewall = new HostFirewall(cmd);
  t.deepEqual(await firewall.guardRules(), [rule(onBridge)]);
  t.deepEqual(cmd.calls, [['iptables', '-w', '5', '-t', 'raw', '-S', 'PREROUTING']]);

  const notRoot = new FakeCmdRunner().on(['iptables'], {
    exitCode: 4,
    stderr: "iptables v1.8.9 (legacy): can't initialize iptables table `raw': Permission denied",
  });
  t.is(await new HostFirewall(notRoot).guardRules(), undefined);
  const refused = await t.throwsAsync(new HostFirewall(notRoot).addGuard(rule(onBridge)), { instanceOf: BootstrapError });
  t.regex(refused!.problem, /^The packet filter refused a rule .*: iptables -w 5 -t raw -I PREROUTING .*: .*Permission denied/);
  t.regex(refused!.fix, /sudo iptables -t raw -S PREROUTING/);
  t.is(await new HostFirewall(new FakeCmdRunner().on(['iptables'], 'not-found')).guardRules(), undefined);
  // Anything else (a lock held too long, a table the kernel lacks) is an error with iptables' words, not "not root".
  const locked = new FakeCmdRunner().on(['iptables'], { exitCode: 4, stderr: 'Another app is currently holding the xtables lock.' });
  await t.throwsAsync(new HostFirewall(locked).guardRules(), { instanceOf: BootstrapError, message: /holding the xtables lock/ });
  // -D of a rule that is gone is false; the count down reports is of rules that went.
  const gone = new FakeCmdRunner().on(['iptables'], {
    exitCode: 1,
    stderr: 'iptables: Bad rule (does a matching rule exist in that chain?).',
  });
  t.false(await new HostFirewall(gone).removeGuard(loopback));
});

test('the step, not root on Docker 27: nothing changed, and a note gives the commands to run', async (t) => {
  const ctx = makeCtx(t);
  const { docker, firewall } = ctx.services.fakes;
  docker.addContainer('registry', stateFromSpec(await loadRegistrySpec(5000)));
  firewall.manageable = false;
  const { screen, error } = await runWithTestRenderer([registryGuardTask()], ctx);
  t.is(error, undefined, screen.join('\n'));
  t.deepEqual(firewall.calls, [['guardRules']]);
  t.regex(
    ctx.notes.join('\n'),
    /sudo iptables -w 5 -t raw -C PREROUTING -d 172\.17\.0\.2\/32 '!' -i docker0 -m comment --comment bootstrap-registry-guard:registry -j DROP 2>\/dev\/null \|\| sudo iptables -w 5 -t raw -I PREROUTING -d 172\.17\.0\.2\/32 /,
  );
});

test('the step on Docker 28: no rule, and the packet filter is not even read', async (t) => {
  const ctx = makeCtx(t);
  const { docker, firewall } = ctx.services.fakes;
  docker.engineVersion = '28.0.4';
  docker.addContainer('registry', stateFromSpec(await loadRegistrySpec(5000)));
  const { screen } = await runWithTestRenderer([registryGuardTask()], ctx);
  t.deepEqual(firewall.calls, []);
  t.true(
    screen.some((l) => l.includes('Docker 28.0.4 drops routed traffic to containers itself')),
    screen.join('\n'),
  );
});
