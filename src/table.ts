// Tables for people (verify's and up's checks, status): each cell is wrapped at spaces within its own column, so that a
// row fits the terminal and a long cell (an expected message of `verify --suite extended`) stays readable instead of
// being broken mid-word by the terminal. Nothing is cut off: --json carries the same text in full, unwrapped.

/**
 * The width tables fit when stdout is not a terminal (a pipe, a file, a CI log), where Node reports no columns: 120,
 * wide enough that the article's table (the README's example) stays one line per check, as it always was.
 */
export const DEFAULT_COLUMNS = 120;

/** The width to fit: the terminal's columns when there is a terminal, else DEFAULT_COLUMNS. */
export function tableWidth(columns: number | undefined): number {
  return columns && columns > 0 ? columns : DEFAULT_COLUMNS;
}

/**
 * `text` as lines of at most `width` characters, broken at spaces. A word longer than `width` is the only thing ever
 * cut, in pieces of `width`. A line that fits is returned as it is; in one that is wrapped, the spaces between words
 * become one. A newline is kept as a break. Never returns no line: '' is [''].
 */
export function wrapWords(text: string, width: number): string[] {
  const max = Math.max(1, Math.floor(width));
  return text.split('\n').flatMap((paragraph) => {
    if (paragraph.length <= max) return [paragraph];
    const lines: string[] = [];
    let line = '';
    for (const word of paragraph.split(' ').filter(Boolean)) {
      if (line && line.length + 1 + word.length <= max) {
        line += ` ${word}`;
        continue;
      }
      if (line) lines.push(line);
      line = word;
      while (line.length > max) {
        lines.push(line.slice(0, max));
        line = line.slice(max);
      }
    }
    lines.push(line);
    return lines;
  });
}

/**
 * Column widths that fit `total` characters, given each column's widest cell (`natural`), its longest word (`words`)
 * and the gaps between columns. One character at a time is taken from the widest column (the rightmost of equals):
 * first only down to the column's longest word, so that no word is cut while that is enough; then down to `min` (or
 * a narrower column's own width). When even that does not fit, the lines are longer than `total`.
 */
export function fitColumns(natural: readonly number[], words: readonly number[], total: number, gaps: number, min = 10): number[] {
  const widths = [...natural];
  let excess = widths.reduce((a, b) => a + b, gaps) - total;
  const least = natural.map((n) => Math.min(n, min));
  for (const floor of [least.map((l, i) => Math.max(l, words[i] ?? 0)), least]) {
    while (excess > 0) {
      let widest = -1;
      widths.forEach((w, i) => {
        if (w > floor[i]! && (widest < 0 || w >= widths[widest]!)) widest = i;
      });
      if (widest < 0) break;
      widths[widest]!--;
      excess--;
    }
  }
  return widths;
}

export interface TableOptions {
  /** The width to fit (see tableWidth). */
  columns: number;
  /** What separates the columns: one string for every gap, or one per gap (default two spaces). */
  gap?: string | readonly string[];
}

/**
 * The rows as lines: each cell wrapped (wrapWords) within its column, a row's continuation lines blank in its other
 * columns so that they stand under the column they continue; no padding after the last column, no trailing spaces.
 */
export function formatTable(rows: readonly (readonly string[])[], options: TableOptions): string[] {
  const count = Math.max(0, ...rows.map((r) => r.length));
  const gaps = Array.from({ length: Math.max(0, count - 1) }, (_, i) =>
    typeof options.gap === 'object' ? (options.gap[i] ?? '  ') : (options.gap ?? '  '),
  );
  const widest = (length: (cell: string) => number) =>
    Array.from({ length: count }, (_, i) => Math.max(0, ...rows.map((r) => length(r[i] ?? ''))));
  const widths = fitColumns(
    widest((cell) => cell.length),
    widest((cell) => Math.max(0, ...cell.split(/[ \n]/).map((word) => word.length))),
    options.columns,
    gaps.reduce((sum, g) => sum + g.length, 0),
  );
  return rows.flatMap((row) => {
    const cells = widths.map((w, i) => wrapWords(row[i] ?? '', w));
    const height = Math.max(...cells.map((c) => c.length));
    return Array.from({ length: height }, (_, l) =>
      cells
        .map((c, i) => (i === count - 1 ? (c[l] ?? '') : (c[l] ?? '').padEnd(widths[i]!) + gaps[i]))
        .join('')
        .trimEnd(),
    );
  });
}
