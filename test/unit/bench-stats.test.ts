// Smoke test of the benchmark's pure pieces (scripts/bench/stats.ts) on fixed inputs, and `bash -n` on the
// baseline script. The real benchmark (`npm run bench`) is never run here: it needs the test bed and minutes.
import test from 'ava';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import {
  boundedLoad,
  formatRatio,
  formatValue,
  goal,
  goalMark,
  markdownTable,
  parseOpaBench,
  percentile,
  ratio,
  row,
  rowsTable,
  spreadText,
  summarize,
} from '../../scripts/bench/stats.js';

const baseline = fileURLToPath(new URL('../../scripts/bench/baseline.sh', import.meta.url));

test('percentile interpolates linearly (numpy default) and handles edges', (t) => {
  const xs = [10, 1, 4, 2, 3, 5, 6, 7, 8, 9];
  t.is(percentile(xs, 0), 1);
  t.is(percentile(xs, 100), 10);
  t.is(percentile(xs, 50), 5.5);
  t.is(Math.round(percentile(xs, 90) * 100) / 100, 9.1);
  t.is(Math.round(percentile(xs, 99) * 100) / 100, 9.91);
  t.is(percentile([42], 99), 42);
  t.true(Number.isNaN(percentile([], 50)));
  t.deepEqual(xs, [10, 1, 4, 2, 3, 5, 6, 7, 8, 9], 'input not sorted in place');
});

test('summarize: median, min–max, p10–p90', (t) => {
  const s = summarize([5, 1, 3]);
  t.like(s, { n: 3, median: 3, min: 1, max: 5 });
  t.is(summarize([]).n, 0);
  t.true(Number.isNaN(summarize([]).median));
});

test('ratio of medians; NaN when one side is missing', (t) => {
  t.is(ratio(summarize([2, 4, 6]), summarize([8, 8, 8])), 0.5);
  t.true(Number.isNaN(ratio(summarize([1]), summarize([]))));
  t.true(Number.isNaN(ratio(summarize([1]), undefined)));
  t.is(formatRatio(0.456), '0.46×');
  t.is(formatRatio(Number.NaN), '—');
});

test('goals: met, missed, inclusive limits, and n/a without a figure', (t) => {
  t.is(goalMark(goal('< 2 s', 1999, 2000, '1999 ms')), 'met');
  t.is(goalMark(goal('< 2 s', 2000, 2000, '2000 ms')), 'MISSED');
  t.is(goalMark(goal('≤ 0.7×', 0.7, 0.7, '0.70×', true)), 'met');
  t.is(goalMark(goal('≤ 0.7×', Number.NaN, 0.7, '—', true)), 'n/a');
});

test('values and spreads are formatted with their unit', (t) => {
  t.is(formatValue(1234.4, 'ms'), '1234 ms');
  t.is(formatValue(12.345, 'ms'), '12.3 ms');
  t.is(formatValue(1.2345, 'ms'), '1.23 ms');
  t.is(formatValue(161.4, 'MB'), '161 MB');
  t.is(formatValue(Number.NaN, 'ms'), '—');
  t.is(spreadText(row('a', 'a', [1, 2, 3], 'ms')), '1.00–3.00 ms (min–max)');
  t.is(spreadText(row('a', 'a', [7], 'ms')), '(1 run)');
  t.is(spreadText(row('a', 'a', [], 'ms')), '—');
  const many = Array.from({ length: 11 }, (_, i) => i * 10);
  t.is(spreadText(row('a', 'a', many, 'ms')), '10.0–90.0 ms (p10–p90)', '10 or more values: p10–p90');
});

test('the table: one header, one line per row, goals in their column, aligned', (t) => {
  const cold = row('cold-up', 'bootstrap up, cold', [3000, 2900, 3100], 'ms', { versus: '0.88× baseline' });
  cold.goals = [goal('≤ 0.7× baseline', 0.88, 0.7, '0.88×', true)];
  const help = row('help', 'bootstrap --help', [95, 96, 94], 'ms', { note: 'hyperfine', goals: [goal('< 300 ms', 95, 300, '95 ms')] });
  const table = rowsTable([cold, help]);
  const lines = table.split('\n');
  t.is(lines.length, 4);
  t.regex(lines[0]!, /^\| measure +\| n +\| median +\| spread +\| vs +\| goal +\| note +\|$/);
  t.regex(lines[1]!, /^\|-+(\|-+)+\|$/);
  t.true(lines[2]!.includes('| 3000 ms ') && lines[2]!.includes('2900–3100 ms (min–max)') && lines[2]!.includes('≤ 0.7× baseline: MISSED'));
  t.true(lines[3]!.includes('< 300 ms: met') && lines[3]!.includes('hyperfine'));
  t.is(new Set(lines.map((l) => l.length)).size, 1, 'all lines the same width');
  t.is(markdownTable(['a'], [['xyz']]), '| a   |\n|-----|\n| xyz |');
});

test('parseOpaBench reads the concatenated JSON documents of `opa bench --count N`', (t) => {
  const doc = (n: number, tNs: number, median: number) =>
    JSON.stringify(
      {
        N: n,
        T: tNs,
        Extra: {
          histogram_timer_rego_query_eval_ns_median: median,
          'histogram_timer_rego_query_eval_ns_99%': median * 3,
          note: 'a "quoted" {brace}',
        },
      },
      null,
      2,
    );
  const parsed = parseOpaBench(`${doc(1000, 100_000_000, 90_000)}\n${doc(2000, 100_000_000, 45_000)}\n`);
  t.deepEqual(parsed, [
    { nsPerOp: 100_000, medianNs: 90_000, p99Ns: 270_000 },
    { nsPerOp: 50_000, medianNs: 45_000, p99Ns: 135_000 },
  ]);
});

test('boundedLoad stops at the count, keeps the concurrency, and counts errors', async (t) => {
  let active = 0;
  let peak = 0;
  let calls = 0;
  const r = await boundedLoad(20, 3, 10_000, async () => {
    const call = ++calls;
    active++;
    peak = Math.max(peak, active);
    await new Promise((resolve) => setTimeout(resolve, 1));
    active--;
    if (call % 5 === 0) throw new Error('boom');
  });
  t.is(calls, 20);
  t.is(r.latencies.length + r.errors, 20);
  t.is(r.errors, 4);
  t.is(peak, 3);
  t.false(r.stoppedEarly);
});

test('boundedLoad stops at the time bound', async (t) => {
  let now = 0;
  const r = await boundedLoad(
    1000,
    2,
    50,
    async () => void (now += 10),
    () => now,
  );
  t.true(r.stoppedEarly);
  t.true(r.latencies.length < 1000);
});

test('scripts/bench/baseline.sh passes bash -n', async (t) => {
  const r = await execa('bash', ['-n', baseline], { reject: false });
  t.is(r.exitCode, 0, r.stderr);
});
