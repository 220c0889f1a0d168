// verify's results as JUnit XML, the format GitHub test reporters, GitLab (artifacts:reports:junit) and Jenkins (junit step) read.
// Built with junit-report-builder (escaping, counts and CDATA are its job), as a string: writing the file is the caller's.
import junitModule, { type Builder } from 'junit-report-builder';
import type { CheckResult } from './context.js';

// The package is CommonJS (`module.exports = builder`) but its types declare `export default`: under NodeNext,
// TypeScript expects `.default`, Node hands over module.exports itself. Accept either.
const junit = ((junitModule as unknown as { default?: Builder }).default ?? junitModule) as unknown as Builder;

export interface JunitRun {
  /** The checks verify ran, in order; each becomes one <testcase>. */
  checks: CheckResult[];
  /** Names the <testsuite>, e.g. `article` or `extended`. */
  suite: string;
  /** host[:port] the checks were run against; kept as a suite property. */
  registryHost?: string;
  /** When verify started, and how long it ran, in seconds (the suite's `time`). */
  startedAt: Date;
  seconds: number;
  /** verify stopped before it could judge (an unreachable cluster, say): one <testcase> "verify" with an <error>. */
  error?: string;
}

/** The JUnit XML document for one verify run: one <testsuite> in <testsuites>; a missed check is a <failure> with expected vs actual. */
export function junitXml(run: JunitRun): string {
  const builder = junit.newBuilder();
  const suite = builder
    .testSuite()
    .name(`bootstrap verify (${run.suite})`)
    .timestamp(run.startedAt)
    .time(run.seconds)
    .property('suite', run.suite);
  if (run.registryHost) suite.property('registryHost', run.registryHost);
  for (const check of run.checks) {
    const testCase = suite.testCase().className(`bootstrap.verify.${run.suite}`).name(check.name);
    if (!check.passed)
      testCase
        .failure(`expected ${check.expected}, got ${check.actual}`, 'mismatch')
        .stacktrace(`expected: ${check.expected}\nactual:   ${check.actual}`);
  }
  if (run.error !== undefined) {
    suite.testCase().className(`bootstrap.verify.${run.suite}`).name('verify').error(run.error.split('\n')[0], 'error', run.error);
  }
  return builder.build();
}
