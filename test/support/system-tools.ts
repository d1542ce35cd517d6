// System tools that some tests need but `npm ci` cannot install (they come from the OS's
// packages). Locally a missing tool skips its test with one visible notice; in CI, where the
// tool is mandatory, the variable named by `requiredBy` turns the skip into a failure.
import { spawnSync } from "node:child_process";

export interface SystemTool {
  command: string;
  versionArgs: readonly string[];
  /** What the lint or test checks, for the notice. */
  purpose: string;
  install: string;
  /** Set to "1" (CI does) and a missing tool fails its test instead of skipping it. */
  requiredBy: string;
}

export const SHELLCHECK: SystemTool = {
  command: "shellcheck",
  versionArgs: ["--version"],
  purpose: "the shellcheck lint of the bootstrap script",
  install: "apt-get install -y shellcheck",
  requiredBy: "CLAWWATCH_REQUIRE_SHELLCHECK",
};

export type ToolStatus =
  | { kind: "present" }
  | { kind: "skip"; notice: string }
  | { kind: "required"; error: string };

export function toolStatus(tool: SystemTool, env: NodeJS.ProcessEnv = process.env): ToolStatus {
  const probe = spawnSync(tool.command, tool.versionArgs, { encoding: "utf8", env });
  if (probe.status === 0) return { kind: "present" };
  if (env[tool.requiredBy] === "1") {
    return {
      kind: "required",
      error:
        `${tool.command} is not installed, and ${tool.requiredBy}=1 makes ${tool.purpose} ` +
        `mandatory: install it (${tool.install})`,
    };
  }
  return {
    kind: "skip",
    notice:
      `notice: ${tool.command} is not installed, so ${tool.purpose} was skipped ` +
      `(the other tests still ran). Install it: ${tool.install}`,
  };
}
