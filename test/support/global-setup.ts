// Runs once per `vitest run`, in the main process, so its notice is printed once and not buried
// in a test's captured output.
import { SHELLCHECK, toolStatus } from "./system-tools";

export default function setup(): void {
  const status = toolStatus(SHELLCHECK);
  if (status.kind === "skip") console.warn(`\n${status.notice}\n`);
}
