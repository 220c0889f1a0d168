// Tables for people: cells wrapped at spaces within their column to fit the terminal; words cut only when longer
// than their column. Exact output, at the widths a person meets (120, 80) and narrower ones.
import test from 'ava';
import { formatChecks } from '../../src/steps/verify.js';
import type { CheckResult } from '../../src/context.js';
import { DEFAULT_COLUMNS, fitColumns, formatTable, tableWidth, wrapWords } from '../../src/table.js';

test('wrapWords', (t) => {
  const cases: { text: string; width: number; lines: string[]; why: string }[] = [
    { text: 'admitted', width: 20, lines: ['admitted'], why: 'fits: as it is' },
    { text: 'abcde', width: 5, lines: ['abcde'], why: 'exactly the width' },
    { text: 'two  spaces', width: 20, lines: ['two  spaces'], why: 'a line that fits keeps its spaces' },
    { text: 'aa bb cc dd', width: 5, lines: ['aa bb', 'cc dd'], why: 'as many words as fit' },
    { text: 'denied: Image x', width: 10, lines: ['denied:', 'Image x'], why: 'breaks at a space' },
    { text: 'a  b   c', width: 3, lines: ['a b', 'c'], why: 'spaces between wrapped words become one' },
    { text: 'abcdefghij', width: 4, lines: ['abcd', 'efgh', 'ij'], why: 'a word longer than the width is cut' },
    { text: 'ab cdefghij', width: 4, lines: ['ab', 'cdef', 'ghij'], why: 'a long word starts a line of its own' },
    { text: 'abcdefg hi', width: 4, lines: ['abcd', 'efg', 'hi'], why: 'after a cut word, words go on' },
    { text: 'one\ntwo three', width: 5, lines: ['one', 'two', 'three'], why: 'a newline stays a break' },
    { text: '', width: 5, lines: [''], why: 'nothing is one empty line' },
    { text: 'ab', width: 0, lines: ['a', 'b'], why: 'a width below 1 counts as 1' },
  ];
  for (const c of cases) t.deepEqual(wrapWords(c.text, c.width), c.lines, c.why);
});

test('fitColumns: the widest column gives way, first down to its longest word, then down to the minimum', (t) => {
  const cases: { natural: number[]; words: number[]; total: number; widths: number[]; why: string }[] = [
    { natural: [4, 10, 20], words: [4, 5, 5], total: 40, widths: [4, 10, 20], why: 'fits: unchanged' },
    { natural: [4, 10, 30], words: [4, 5, 5], total: 40, widths: [4, 10, 22], why: 'the widest only' },
    { natural: [4, 20, 20], words: [4, 5, 5], total: 40, widths: [4, 16, 16], why: 'equals in turn, the rightmost first' },
    { natural: [4, 30, 40], words: [4, 10, 38], total: 60, widths: [4, 14, 38], why: 'another column gives way before a word is cut' },
    { natural: [4, 30, 50], words: [4, 30, 50], total: 40, widths: [4, 16, 16], why: 'then words are cut' },
    { natural: [4, 30, 30], words: [4, 5, 5], total: 20, widths: [4, 10, 10], why: 'never below the minimum' },
    { natural: [4, 8, 50], words: [4, 8, 5], total: 30, widths: [4, 8, 14], why: 'a narrow column keeps its width' },
  ];
  for (const c of cases) t.deepEqual(fitColumns(c.natural, c.words, c.total, 4), c.widths, c.why);
});

test('tableWidth: the terminal’s columns, else DEFAULT_COLUMNS (a pipe, a CI log)', (t) => {
  t.is(DEFAULT_COLUMNS, 120);
  t.is(tableWidth(80), 80);
  t.is(tableWidth(undefined), 120);
  t.is(tableWidth(0), 120);
});

test('formatTable: continuation lines stand under their column; gaps per column; no trailing spaces', (t) => {
  const rows = [
    ['✔', 'registry', 'running (registry:2.7.1 on 127.0.0.1:5000)'],
    ['✖', 'registry hosting', 'kube-public/local-registry-hosting is not ours: tools use kind-registry:5000'],
    ['✖', 'webhook', ''],
  ];
  t.deepEqual(formatTable(rows, { columns: 60, gap: [' ', '  '] }), [
    '✔ registry          running (registry:2.7.1 on',
    '                    127.0.0.1:5000)',
    '✖ registry hosting  kube-public/local-registry-hosting is',
    '                    not ours: tools use kind-registry:5000',
    '✖ webhook',
  ]);
  t.deepEqual(formatTable(rows, { columns: 200, gap: [' ', '  '] }), [
    '✔ registry          running (registry:2.7.1 on 127.0.0.1:5000)',
    '✖ registry hosting  kube-public/local-registry-hosting is not ours: tools use kind-registry:5000',
    '✖ webhook',
  ]);
  t.deepEqual(formatTable([], { columns: 80 }), []);
});

const ARTICLE: CheckResult[] = [
  ['untrusted registry (pod-bad-repo.yaml)', "denied: Image 'nginx:1.21.1' comes from untrusted registry"],
  ['latest tag (pod-bad-tag.yaml)', "denied: Image 'host.minikube.internal:5000/nginx:latest' used latest image"],
  ['trusted and pinned (pod-ok.yaml)', 'admitted'],
].map(([name, actual]) => ({ name: name!, expected: actual!, actual: actual!, passed: true }));

const EXTENDED_MISSES: CheckResult[] = [
  {
    name: 'create: invalid-reference-empty-path-component',
    expected: "denied: Image 'host.minikube.internal:5000//nginx:1.21.1' is not a valid image reference",
    actual: 'admitted',
    passed: false,
  },
  {
    name: 'update: Deployment deployment-update-to-untrusted',
    expected: `denied: Image 'nginx:1.21.1' comes from untrusted registry, Image 'sha256:${'0123456789abcdef'.repeat(4)}' comes from untrusted registry`,
    actual: "denied: Image 'nginx:1.21.1' comes from untrusted registry",
    passed: false,
  },
];

test('formatChecks at 120 columns (no terminal): the article’s table as the README shows it, one line per check', (t) => {
  t.is(
    formatChecks(ARTICLE),
    [
      '      check                                   outcome',
      "PASS  untrusted registry (pod-bad-repo.yaml)  denied: Image 'nginx:1.21.1' comes from untrusted registry",
      "PASS  latest tag (pod-bad-tag.yaml)           denied: Image 'host.minikube.internal:5000/nginx:latest' used latest image",
      'PASS  trusted and pinned (pod-ok.yaml)        admitted',
      '3/3 checks as expected',
    ].join('\n'),
  );
});

test('formatChecks at 80 columns: cells wrap at spaces under their column; the image reference stays whole', (t) => {
  const text = formatChecks(ARTICLE, 80);
  t.is(
    text,
    [
      '      check                           outcome',
      "PASS  untrusted registry              denied: Image 'nginx:1.21.1' comes from",
      '      (pod-bad-repo.yaml)             untrusted registry',
      'PASS  latest tag (pod-bad-tag.yaml)   denied: Image',
      "                                      'host.minikube.internal:5000/nginx:latest'",
      '                                      used latest image',
      'PASS  trusted and pinned              admitted',
      '      (pod-ok.yaml)',
      '3/3 checks as expected',
    ].join('\n'),
  );
  t.true(text.split('\n').every((line) => line.length <= 80));
});

test('formatChecks, extended misses at 80 and 50 columns: every line fits; only words longer than the column are cut', (t) => {
  t.is(
    formatChecks(EXTENDED_MISSES, 80),
    [
      '      check                                 outcome',
      'FAIL  create:                               admitted',
      '      invalid-reference-empty-path-compone',
      '      nt',
      '                                            expected denied: Image',
      "                                            'host.minikube.internal:5000//nginx:",
      "                                            1.21.1' is not a valid image",
      '                                            reference',
      "FAIL  update: Deployment                    denied: Image 'nginx:1.21.1' comes",
      '      deployment-update-to-untrusted        from untrusted registry',
      '                                            expected denied: Image',
      "                                            'nginx:1.21.1' comes from untrusted",
      '                                            registry, Image',
      "                                            'sha256:0123456789abcdef0123456789ab",
      '                                            cdef0123456789abcdef0123456789abcdef',
      "                                            ' comes from untrusted registry",
      '0/2 checks as expected',
    ].join('\n'),
  );
  const narrow = formatChecks(EXTENDED_MISSES, 50).split('\n');
  t.true(
    narrow.every((line) => line.length <= 50),
    narrow.join('\n'),
  );
  t.deepEqual(narrow.slice(0, 5), [
    '      check                  outcome',
    'FAIL  create:                admitted',
    '      invalid-reference-emp',
    '      ty-path-component',
    '                             expected denied:',
  ]);
});
