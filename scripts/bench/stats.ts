// Pure pieces of the benchmark: percentiles, summaries, ratios, goals and the table. No I/O (test/unit/bench-stats.test.ts).

/** Linear-interpolated percentile (p in 0..100) of the values, as numpy's default; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (Math.min(Math.max(p, 0), 100) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  p10: number;
  p90: number;
  p99: number;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    median: percentile(values, 50),
    min: values.length ? Math.min(...values) : Number.NaN,
    max: values.length ? Math.max(...values) : Number.NaN,
    p10: percentile(values, 10),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
  };
}

export type Unit = 'ms' | 'µs' | 'MB';

/** One line of the table (and of results.json). `spread` says which of min–max or p10–p90 is shown. */
export interface Row {
  id: string;
  label: string;
  unit: Unit;
  summary: Summary;
  spread: 'min-max' | 'p10-p90';
  /** e.g. "0.42× baseline" */
  versus?: string;
  note?: string;
  /** Goals judged on this row's figures. */
  goals?: Goal[];
}

export function row(
  id: string,
  label: string,
  values: readonly number[],
  unit: Unit,
  extra: Partial<Pick<Row, 'spread' | 'versus' | 'note' | 'goals'>> = {},
): Row {
  const summary = summarize(values);
  return { id, label, unit, summary, spread: extra.spread ?? (values.length >= 10 ? 'p10-p90' : 'min-max'), ...extra };
}

/** Ratio of medians, NaN when either is missing. */
export const ratio = (a: Summary | undefined, b: Summary | undefined) => (a && b && b.median > 0 ? a.median / b.median : Number.NaN);

export function formatNumber(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return '—';
  if (unit === 'MB') return value.toFixed(0);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toFixed(digits);
}

export function formatValue(value: number, unit: Unit): string {
  return Number.isFinite(value) ? `${formatNumber(value, unit)} ${unit}` : '—';
}

export const formatRatio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '—');

export function spreadText(r: Row): string {
  const s = r.summary;
  if (s.n === 0) return '—';
  if (s.n === 1) return '(1 run)';
  const [lo, hi] = r.spread === 'p10-p90' ? [s.p10, s.p90] : [s.min, s.max];
  return `${formatNumber(lo, r.unit)}–${formatNumber(hi, r.unit)} ${r.unit} (${r.spread === 'p10-p90' ? 'p10–p90' : 'min–max'})`;
}

export interface Goal {
  name: string;
  /** The figure the goal is judged on, as shown. */
  figure: string;
  met: boolean | undefined;
}

/** `met` is undefined when the figure is missing (e.g. no kubectl for the baseline). */
export function goal(name: string, value: number, limit: number, shown: string, inclusive = false): Goal {
  const met = Number.isFinite(value) ? (inclusive ? value <= limit : value < limit) : undefined;
  return { name, figure: shown, met };
}

export const goalMark = (g: Goal) => (g.met === undefined ? 'n/a' : g.met ? 'met' : 'MISSED');

/** A plain-text table that is also valid Markdown (pipes), so the same text goes to the terminal and the docs. */
export function markdownTable(headers: string[], lines: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [fmt(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}

export const goalsText = (goals: readonly Goal[] | undefined) => (goals ?? []).map((g) => `${g.name}: ${goalMark(g)}`).join('; ');

/** The one table: every row, its figures, and the goals judged on it. */
export function rowsTable(rows: readonly Row[]): string {
  return markdownTable(
    ['measure', 'n', 'median', 'spread', 'vs', 'goal', 'note'],
    rows.map((r) => [
      r.label,
      String(r.summary.n),
      formatValue(r.summary.median, r.unit),
      spreadText(r),
      r.versus ?? '',
      goalsText(r.goals),
      r.note ?? '',
    ]),
  );
}

/** Parses `opa bench --format json` output: one JSON document per --count, concatenated. */
export function parseOpaBench(text: string): Array<{ nsPerOp: number; medianNs?: number; p99Ns?: number }> {
  const docs: Array<{ N: number; T: number; Extra?: Record<string, number> }> = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) docs.push(JSON.parse(text.slice(start, i + 1)));
  }
  return docs.map((d) => ({
    nsPerOp: d.T / d.N,
    medianNs: d.Extra?.histogram_timer_rego_query_eval_ns_median,
    p99Ns: d.Extra?.['histogram_timer_rego_query_eval_ns_99%'],
  }));
}

/** Runs `work` up to `count` times with `concurrency` workers, stopping early after `maxMs`; latencies in ms. */
export async function boundedLoad(
  count: number,
  concurrency: number,
  maxMs: number,
  work: () => Promise<void>,
  clock: () => number = () => performance.now(),
): Promise<{ latencies: number[]; errors: number; stoppedEarly: boolean }> {
  const latencies: number[] = [];
  let errors = 0;
  let started = 0;
  const deadline = clock() + maxMs;
  let stoppedEarly = false;
  const worker = async () => {
    for (;;) {
      if (started >= count) return;
      if (clock() > deadline) {
        stoppedEarly = true;
        return;
      }
      started++;
      const t0 = clock();
      try {
        await work();
        latencies.push(clock() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return { latencies, errors, stoppedEarly };
}
