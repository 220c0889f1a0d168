// verify's steps (and up's last one): the article's three pods, the bypass matrix, the ok pod; and the table after.
import type { CheckResult } from '../context.js';
import type { Task } from '../listr.js';
import { connect, registryHostFor } from '../cluster-access.js';
import { ARTICLE_CASES, createOkPod, runArticleSuite, runExtendedSuite } from '../admission-checks.js';
import { DEFAULT_COLUMNS, formatTable } from '../table.js';

export function verifyTasks(): Task[] {
  return [
    {
      title: "The article's three pods",
      skip: (ctx) =>
        ctx.options.dryRun ? `dry run: would send ${ARTICLE_CASES.map((c) => c.file).join(', ')} as server-side dry runs` : false,
      task: async (ctx, task) => {
        ctx.registryHost ??= registryHostFor(ctx);
        const kube = await connect(ctx);
        const results = await runArticleSuite(ctx, kube);
        ctx.checks.push(...results);
        task.title = `The article's three pods: ${results.filter((r) => r.passed).length}/${results.length} as expected`;
      },
    },
    {
      title: 'Bypass matrix (--suite extended)',
      enabled: (ctx) => ctx.options.suite === 'extended',
      skip: (ctx) => (ctx.options.dryRun ? 'dry run: would send templates/verify/extended.yaml' : false),
      task: async (ctx, task) => {
        const results = await runExtendedSuite(ctx, await connect(ctx));
        ctx.checks.push(...results);
        task.title = `Bypass matrix: ${results.filter((r) => r.passed).length}/${results.length} as expected`;
      },
    },
    {
      title: 'Create the ok pod and wait until it runs',
      enabled: (ctx) => ctx.options.create,
      skip: (ctx) => (ctx.options.dryRun ? 'dry run: would create pods/pod-ok.yaml' : false),
      task: async (ctx, task) => {
        const result = await createOkPod(ctx, await connect(ctx));
        ctx.checks.push(result);
        task.title = `The ok pod: ${result.actual}`;
      },
    },
  ];
}

/**
 * The table printed after verify: one row per check; a failed check also shows what was expected. Fits `columns`
 * characters (the terminal's width, see tableWidth): a long cell wraps at spaces within its column.
 */
export function formatChecks(checks: CheckResult[], columns = DEFAULT_COLUMNS): string {
  const rows = [['', 'check', 'outcome']];
  for (const c of checks) {
    rows.push([c.passed ? 'PASS' : 'FAIL', c.name, c.actual]);
    if (!c.passed) rows.push(['', '', `expected ${c.expected}`]);
  }
  const lines = formatTable(rows, { columns });
  lines.push(`${checks.filter((c) => c.passed).length}/${checks.length} checks as expected`);
  return lines.join('\n');
}
