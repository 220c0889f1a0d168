// The listr module: the renderer is chosen from the environment alone (live on an interactive terminal, plain lines anywhere else).
import test from 'ava';
import { chooseRenderer } from '../../src/listr.js';

test('chooseRenderer: live on a TTY, plain in CI, in pipes and on dumb terminals', (t) => {
  t.is(chooseRenderer({}, true), 'default');
  t.is(chooseRenderer({ CI: 'false' }, true), 'default');
  t.is(chooseRenderer({ CI: 'true' }, true), 'simple');
  t.is(chooseRenderer({ CI: '1' }, true), 'simple');
  t.is(chooseRenderer({}, false), 'simple');
  t.is(chooseRenderer({}, undefined), 'simple');
  t.is(chooseRenderer({ TERM: 'dumb' }, true), 'simple');
});
