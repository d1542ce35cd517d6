/** A plain text table: header, a rule, then the rows; cells padded to the widest. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** One line per step: what happened to which resource. */
export interface StepResult {
  step: string;
  resource: string;
  /** created | updated | unchanged | deleted | skipped | would create … */
  result: string;
  detail?: string;
}

export function stepsTable(steps: readonly StepResult[]): string {
  return table(
    ["step", "resource", "result", "detail"],
    steps.map((s) => [s.step, s.resource, s.result, s.detail ?? ""]),
  );
}
