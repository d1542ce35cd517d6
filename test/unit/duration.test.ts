import { describe, expect, it } from "vitest";
import { formatDuration, formatElapsed, formatSpan } from "../../shared/text/duration";

describe("formatDuration: a measured length, rounded to the unit shown", () => {
  it.each([
    [0, "0 s"],
    [44_600, "45 s"],
    [90_000, "2 min"],
    [65 * 60_000, "1 h 5 min"],
    [2 * 86_400_000, "2 d"],
    [30 * 3_600_000, "1 d 6 h"],
    [-5_000, "0 s"],
    [Number.NaN, "0 s"],
  ])("%d ms reads %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("formatSpan: a configured length as written", () => {
  it.each([
    [90_000, "90 s"],
    [600_000, "10 min"],
    [3_600_000, "1 h"],
    [86_400_000, "24 h"],
    [1_500, "2 s"],
    [0, "0 s"],
  ])("%d ms reads %s", (ms, text) => {
    expect(formatSpan(ms)).toBe(text);
  });
});

describe("formatElapsed: a tool's measured time, to the tenth", () => {
  it("reads 3.2 s", () => {
    expect(formatElapsed(3_249)).toBe("3.2 s");
    expect(formatElapsed(-1)).toBe("0.0 s");
  });
});
