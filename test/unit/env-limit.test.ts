import { describe, expect, it } from "vitest";
import { checkEnvLimit, checkFunctionSpec, envLimitFor } from "../../infra/deploy/functions";

const spec = (env: Record<string, string>, secrets: Record<string, string> = {}) => ({
  name: "clawwatch-watchdog",
  env,
  secrets,
});

describe("checkEnvLimit", () => {
  it("allows 2048 characters in cn-north-4 and says which values are largest", () => {
    expect(envLimitFor("cn-north-4")).toBe(2048);
    const big = spec({ CLAWWATCH_CONFIG: "c".repeat(1_900) }, { BOT_1: "b".repeat(150) });
    expect(() => checkEnvLimit(big, "cn-north-4")).toThrow(
      /total 2\d{3} characters; FunctionGraph allows 2048 in cn-north-4 \(largest: CLAWWATCH_CONFIG 1900, BOT_1 150\)/,
    );
    expect(() => checkEnvLimit(spec({ A: "a".repeat(1_900) }), "cn-north-4")).not.toThrow();
  });

  it("allows at most 20 variables, plain and encrypted together", () => {
    const env = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`E${i}`, "e"]));
    const secrets = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`S${i}`, "s"]));
    expect(() => checkEnvLimit(spec(env, secrets), "cn-north-4")).toThrow(
      /21 environment variables; FunctionGraph allows 20/,
    );
  });
});

describe("checkFunctionSpec", () => {
  it("takes only FunctionGraph's memory sizes", () => {
    const at = (memoryMb: number) => ({ ...spec({}), memoryMb });
    expect(() => checkFunctionSpec(at(300), "cn-north-4")).toThrow(
      /300 MB is not a FunctionGraph memory size; use one of 128, 256, 512, 768/,
    );
    expect(() => checkFunctionSpec(at(8192), "cn-north-4")).toThrow(/not a FunctionGraph memory/);
    expect(() => checkFunctionSpec(at(768), "cn-north-4")).not.toThrow();
  });
});
