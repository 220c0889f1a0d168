// The README's examples of output, held to what the code prints: `bootstrap --version`, `verify --junit` and the XML
// it writes, and the CI log excerpt with each step's duration and the Timings summary.
import test from 'ava';
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { junitXml } from '../../src/junit.js';
import { duration, formatTimings, type StepTiming } from '../../src/timings.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const readme = () => readFile(path.join(root, 'README.md'), 'utf8');

/** Every fenced block of the README: its language (may be empty), its text, and the paragraph just before it. */
async function blocks(): Promise<{ lang: string; text: string; before: string }[]> {
  const text = await readme();
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1]!,
    text: m[2]!,
    before: text.slice(0, m.index).trimEnd().split(/\n\n/).at(-1)!,
  }));
}

/** listr2's duration (`0.4s`, `12s`, `1m4s`) back to milliseconds that print the same. */
function ms(text: string): number {
  const m = /^(?:(\d+)m)?(\d+(?:\.\d)?)s$/.exec(text);
  if (!m) throw new Error(`not a listr2 duration: ${text}`);
  return (Number(m[1] ?? 0) * 60 + Number(m[2])) * 1000;
}

test('README shows `bootstrap --version` and what it prints', async (t) => {
  const block = (await blocks()).find((b) => /^\$ npx bootstrap --version$/m.test(b.text));
  t.truthy(block, 'a block with `$ npx bootstrap --version`');
  const [, shown] = /^\$ npx bootstrap --version\n(.*)$/m.exec(block!.text)!;
  const printed = await execa(process.execPath, [path.join(root, 'bin', 'bootstrap.js'), '--version'], { cwd: root });
  t.is(shown, printed.stdout);
});

test('README shows `verify --junit FILE`, and its XML is what verify writes for that miss', async (t) => {
  const text = await readme();
  t.regex(text, /^\| `bootstrap verify` \|.*`--junit FILE`/m, 'the commands table names --junit');
  t.regex(text, /`bootstrap verify --junit [\w./-]+\.xml`/, 'a --junit usage');
  const block = (await blocks()).find((b) => b.lang === 'xml' && b.text.includes('<testsuite '));
  t.truthy(block, 'an ```xml block with a <testsuite>');
  const shown = block!.text;
  // The values the example was made with, read back from it.
  const attribute = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(shown)?.[1];
  const [, expected, actual] = /<!\[CDATA\[expected: (.*)\nactual: {3}(.*)\]\]>/.exec(shown) ?? [];
  t.truthy(expected && actual, 'the failure body has expected and actual');
  const xml = junitXml({
    checks: [{ name: /<testcase [^>]*name="([^"]*)"/.exec(shown)![1]!, expected: expected!, actual: actual!, passed: false }],
    suite: /name="suite" value="([^"]*)"/.exec(shown)![1]!,
    registryHost: /name="registryHost" value="([^"]*)"/.exec(shown)![1]!,
    startedAt: new Date(attribute('timestamp')!), // local time, as the builder writes it
    seconds: Number(attribute('time')),
  });
  // The README shows the <testsuite> element alone, one level less indented.
  const suite = /^ {2}<testsuite [\s\S]*?^ {2}<\/testsuite>\n/m.exec(xml)![0].replace(/^ {2}/gm, '');
  t.is(shown, suite);
});

test('README shows a CI log excerpt: each finished step with its duration, and the Timings summary as up prints it', async (t) => {
  const block = (await blocks()).find((b) => b.lang === '' && /^Timings:$/m.test(b.text));
  t.truthy(block, 'a plain block with a Timings: summary');
  const [log, summary] = block!.text.split(/^(?=Timings:\n)/m) as [string, string];
  // Per-step durations, as the plain renderer prints them (what a CI log shows).
  const finished = [...log.matchAll(/^✔ (.+) \[([\dms.]+)\]$/gm)].map((m) => ({ title: m[1]!, took: m[2]! }));
  t.true(finished.length >= 3, log);
  // The summary: parsed back into steps, then printed by the code that prints it.
  const rows = summary.trimEnd().split('\n').slice(1);
  t.regex(rows.at(-1)!, /^ +[\dms.]+ {2}total$/);
  const steps: StepTiming[] = rows.slice(0, -1).map((row) => {
    const [, took, indent, title] = /^ {2} *([\dms.]+) {2}((?: {2})*)(\S.*)$/.exec(row) ?? [];
    if (!took) throw new Error(`not a Timings row: ${JSON.stringify(row)}`);
    return { title: title!, depth: indent!.length / 2, state: 'completed', ms: ms(took) };
  });
  t.is(formatTimings(steps, ms(/([\dms.]+) {2}total$/.exec(rows.at(-1)!)![1]!)), summary.trimEnd());
  // One run: a step shown finishing above took, in the summary, what its line said.
  for (const step of finished) {
    const row = steps.find((s) => s.title === step.title);
    t.truthy(row, `${step.title} is in the summary`);
    t.is(duration(row!.ms), step.took, step.title);
  }
  // The sentence introducing it describes that run: a run called cold made everything anew, certificates included.
  const intro = block!.before.split(/(?<=\.)\s+(?=[A-Z])/).at(-1)!;
  t.regex(intro, /`CI=true npx bootstrap up`/);
  if (/Certificates: reused/.test(summary)) t.notRegex(intro, /\bcold\b/);
});
