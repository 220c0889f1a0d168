// Who can reach the registry, per kind of cluster and driver: src/registry-access.ts, a pure plan.
import test from 'ava';
import { defaultConfig, type Config } from '../../src/config.js';
import { nodeKindOfDriver, planRegistryAccess } from '../../src/registry-access.js';

const config = (overrides: Partial<Config>): Config => ({ ...defaultConfig({}), ...overrides });

const table: [string, Partial<Config>, ReturnType<typeof planRegistryAccess>][] = [
  [
    'minikube, driver not given (minikube picks docker)',
    {},
    { listenAddresses: ['127.0.0.1'], node: 'container', network: 'trusted-registry' },
  ],
  ['docker driver', { minikubeDriver: 'docker', profile: 'p1' }, { listenAddresses: ['127.0.0.1'], node: 'container', network: 'p1' }],
  ['podman driver', { minikubeDriver: 'podman' }, { listenAddresses: ['127.0.0.1'], node: 'container', network: 'trusted-registry' }],
  [
    'none driver: the node is this machine',
    { minikubeDriver: 'none', profile: 'minikube' },
    { listenAddresses: ['127.0.0.1'], node: 'host' },
  ],
  ['qemu2: the VM address is found later', { minikubeDriver: 'qemu2' }, { listenAddresses: ['127.0.0.1'], node: 'vm' }],
  ['vfkit', { minikubeDriver: 'vfkit' }, { listenAddresses: ['127.0.0.1'], node: 'vm' }],
  ['--cluster existing', { cluster: 'existing' }, { listenAddresses: ['127.0.0.1'], node: 'host' }],
  [
    'registryListenAddress adds one address to loopback',
    { minikubeDriver: 'qemu2', registryListenAddress: '192.168.105.1' },
    { listenAddresses: ['127.0.0.1', '192.168.105.1'], node: 'vm' },
  ],
  [
    'registryListenAddress 0.0.0.0: every address',
    { registryListenAddress: '0.0.0.0' },
    { listenAddresses: ['0.0.0.0'], node: 'container', network: 'trusted-registry' },
  ],
  [
    'registryListenAddress 127.0.0.1 once',
    { cluster: 'existing', registryListenAddress: '127.0.0.1' },
    { listenAddresses: ['127.0.0.1'], node: 'host' },
  ],
];

for (const [name, overrides, expected] of table) {
  test(`planRegistryAccess: ${name}`, (t) => {
    t.deepEqual(planRegistryAccess(config(overrides)), expected);
  });
}

test('never every address unless asked: no plan publishes on 0.0.0.0 by default', (t) => {
  for (const driver of [undefined, 'docker', 'podman', 'none', 'qemu2', 'hyperkit', 'virtualbox', 'kvm2']) {
    t.false(planRegistryAccess(config({ minikubeDriver: driver })).listenAddresses.includes('0.0.0.0'), String(driver));
  }
});

test('nodeKindOfDriver', (t) => {
  t.is(nodeKindOfDriver(undefined), 'container');
  t.is(nodeKindOfDriver('docker'), 'container');
  t.is(nodeKindOfDriver('none'), 'host');
  t.is(nodeKindOfDriver('hyperkit'), 'vm');
});
