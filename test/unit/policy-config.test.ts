import { describe, expect, it } from "vitest";
import {
  defaultPolicyConfig,
  duration,
  parseDuration,
  policySchema,
} from "../../shared/config/policy-schema";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe("duration", () => {
  it.each([
    ["30s", 30_000],
    ["5m", 5 * MINUTE],
    ["1h", HOUR],
    ["1h30m", 90 * MINUTE],
    ["250ms", 250],
    ["2d", 48 * HOUR],
    ["1.5h", 90 * MINUTE],
    ["300000", 300_000],
    [" 5m ", 5 * MINUTE],
  ])("parses %j", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(duration.parse(text)).toBe(ms);
  });

  it("takes whole milliseconds as numbers", () => {
    expect(duration.parse(1500)).toBe(1500);
    expect(duration.safeParse(1.5).success).toBe(false);
    expect(duration.safeParse(-1).success).toBe(false);
  });

  it("says how to write a duration when it cannot parse one", () => {
    const result = duration.safeParse("five minutes");
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe(
      '"five minutes" is not a duration: use milliseconds or text like "30s", "5m", "1h30m"',
    );
    expect(parseDuration("5 m")).toBeUndefined();
    expect(parseDuration("m5")).toBeUndefined();
  });
});

describe("policySchema", () => {
  it("holds every default of DESIGN.md", () => {
    expect(defaultPolicyConfig).toEqual({
      failureThreshold: 3,
      successThreshold: 2,
      deterministicFailureThreshold: 1,
      grace: {
        start: 3 * MINUTE,
        softReboot: 5 * MINUTE,
        hardReboot: 5 * MINUTE,
        rebootstrap: 15 * MINUTE,
      },
      budget: { window: 24 * HOUR, reboots: 3, rebootstraps: 1 },
      ladder: ["soft-reboot", "hard-reboot", "rebootstrap"],
      ackDefault: HOUR,
      muteDefault: HOUR,
      reminders: { first: 30 * MINUTE, backoff: 2, max: 4 * HOUR },
      flapping: { opens: 4, window: 2 * HOUR },
      selfRestart: { window: 90_000, warnAfter: 3, period: HOUR, uptimeSlack: 10_000 },
      ingressStallAfter: 2 * MINUTE,
      ingressConcurrency: 4,
      ingressLongestTurn: 10 * MINUTE,
      serverCheckEvery: 10,
    });
  });

  it("fills defaults inside partly given sections and reads durations as text", () => {
    const config = policySchema.parse({
      grace: { rebootstrap: "20m" },
      reminders: { first: "10m" },
      ladder: ["soft-reboot", "hard-reboot"],
    });
    expect(config.grace).toEqual({
      start: 3 * MINUTE,
      softReboot: 5 * MINUTE,
      hardReboot: 5 * MINUTE,
      rebootstrap: 20 * MINUTE,
    });
    expect(config.reminders).toEqual({ first: 10 * MINUTE, backoff: 2, max: 4 * HOUR });
    expect(config.ladder).toEqual(["soft-reboot", "hard-reboot"]);
  });

  it("rejects nonsense with the path of the problem", () => {
    const result = policySchema.safeParse({
      failureThreshold: 0,
      ladder: ["soft-reboot", "soft-reboot"],
      budget: { reboots: 100 },
    });
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((issue) => issue.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["failureThreshold", "ladder", "budget.reboots"]));
  });
});
