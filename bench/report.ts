import { writeFile } from "node:fs/promises";

/**
 * One measured quantity. `target` is the upper bound the value must not exceed (every target of
 * issue 7 can be stated that way); `null` marks an informational metric, whose `ok` is null too.
 */
export interface Metric {
  value: number | null;
  unit: string;
  target: number | null;
  ok: boolean | null;
  /** How it was measured, what the floor was, what limits it: one line for the reader. */
  detail?: string;
}

export type Metrics = Record<string, Metric>;

export function metric(
  value: number | null,
  unit: string,
  target: number | null = null,
  detail?: string,
): Metric {
  const rounded = value === null ? null : round(value);
  const ok = target === null ? null : rounded !== null && rounded <= target;
  return { value: rounded, unit, target, ok, ...(detail ? { detail } : {}) };
}

/** A metric that could not be measured: it counts as a missed target when it had one. */
export function failed(unit: string, target: number | null, why: string): Metric {
  return { value: null, unit, target, ok: target === null ? null : false, detail: why };
}

function round(value: number): number {
  if (Number.isInteger(value) || !Number.isFinite(value)) return value;
  if (Math.abs(value) < 1) return Number(value.toPrecision(3));
  return Number(value.toFixed(Math.abs(value) >= 100 ? 1 : 2));
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function missed(metrics: Metrics): string[] {
  return Object.entries(metrics)
    .filter(([, m]) => m.ok === false)
    .map(([name]) => name);
}

export async function writeResults(path: string, metrics: Metrics): Promise<void> {
  await writeFile(path, `${JSON.stringify(metrics, null, 2)}\n`);
}

/** The readable table: one row per metric, the verdict first so misses stand out. */
export function table(metrics: Metrics): string {
  const rows = [["", "metric", "value", "target"]];
  for (const [name, m] of Object.entries(metrics)) {
    const verdict = m.ok === null ? " " : m.ok ? "✓" : "✗";
    const value = m.value === null ? "n/a" : `${format(m.value)} ${m.unit}`;
    const target = m.target === null ? "" : `≤ ${format(m.target)} ${m.unit}`;
    rows.push([verdict, name, value, target]);
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === 2 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** The same table as Markdown, for the README's Performance section. */
export function markdownTable(metrics: Metrics): string {
  const lines = ["| | metric | value | target |", "|---|---|---:|---:|"];
  for (const [name, m] of Object.entries(metrics)) {
    const verdict = m.ok === null ? "" : m.ok ? "✓" : "✗";
    const value = m.value === null ? "n/a" : `${format(m.value)} ${m.unit}`;
    const target = m.target === null ? "" : `≤ ${format(m.target)} ${m.unit}`;
    lines.push(`| ${verdict} | \`${name}\` | ${value} | ${target} |`);
  }
  return lines.join("\n");
}

function format(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString("en-US") : String(value);
}
