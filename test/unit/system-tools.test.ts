import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SHELLCHECK, toolStatus } from "../support/system-tools";

// PATH is the only way the lookup finds the tool, so an empty folder hides it and a folder with
// a stand-in script provides it, whatever this machine has installed.
const root = mkdtempSync(join(tmpdir(), "clawwatch-tools-"));
const empty = join(root, "empty");
const stocked = join(root, "stocked");
for (const dir of [empty, stocked]) mkdirSync(dir);
writeFileSync(join(stocked, "shellcheck"), "#!/bin/sh\necho 'ShellCheck - stand-in'\n");
chmodSync(join(stocked, "shellcheck"), 0o755);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("toolStatus (shellcheck)", () => {
  it("skips with a notice that says how to install it when missing", () => {
    const status = toolStatus(SHELLCHECK, { PATH: empty });
    expect(status.kind).toBe("skip");
    if (status.kind !== "skip") return;
    expect(status.notice).toContain("shellcheck lint of the bootstrap script was skipped");
    expect(status.notice).toContain("apt-get install -y shellcheck");
  });

  it("fails with the install hint when CI requires it and it is missing", () => {
    const status = toolStatus(SHELLCHECK, { PATH: empty, CLAWWATCH_REQUIRE_SHELLCHECK: "1" });
    expect(status).toEqual({
      kind: "required",
      error: expect.stringContaining("install it (apt-get install -y shellcheck)"),
    });
  });

  it("runs the lint when the tool is on PATH, required or not", () => {
    expect(toolStatus(SHELLCHECK, { PATH: stocked }).kind).toBe("present");
    expect(toolStatus(SHELLCHECK, { PATH: stocked, CLAWWATCH_REQUIRE_SHELLCHECK: "1" }).kind).toBe(
      "present",
    );
  });

  it("treats only the value 1 as required", () => {
    expect(toolStatus(SHELLCHECK, { PATH: empty, CLAWWATCH_REQUIRE_SHELLCHECK: "0" }).kind).toBe(
      "skip",
    );
  });
});
