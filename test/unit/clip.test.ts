import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { clipEscaped } from "../../shared/notify/render";
import { truncate } from "../../shared/policy/text";
import { clip, prefixWithin, wellFormed } from "../../shared/text/clip";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const pieces = fc.constantFrom("a", " ", "é", "🚀", "👩‍💻", "🇩🇪", "&amp;", "e\u0301", "中");
const text = fc.array(pieces, { maxLength: 60 }).map((parts) => parts.join(""));

describe("clip", () => {
  it("keeps text that fits and cuts the rest to max units on a grapheme boundary", () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 120 }), (input, max) => {
        const out = clip(input, max);
        expect(out.length).toBeLessThanOrEqual(Math.max(max, 0));
        expect(LONE_SURROGATE.test(out)).toBe(false);
        if (input.length <= max) expect(out).toBe(input);
        else if (max >= 1) expect(input.startsWith(out.slice(0, -1))).toBe(true);
      }),
    );
  });

  it("never leaves half of an emoji, a ZWJ sequence or a flag", () => {
    expect(clip("ab🚀", 3)).toBe("ab…");
    expect(prefixWithin("x👩‍💻", 4)).toBe("x");
    expect(prefixWithin("🇩🇪🇫🇷", 6)).toBe("🇩🇪");
    expect(truncate(`${"x".repeat(9)}🚀`, 10)).toBe(`${"x".repeat(9)}…`);
    expect(clipEscaped(`${"y".repeat(8)}🚀&amp;`, 10)).toBe(`${"y".repeat(8)}…`);
    expect(clipEscaped("ab&amp;cdef", 6)).toBe("ab…");
  });

  it("replaces lone surrogates so a string can be sent", () => {
    expect(wellFormed("a\uD83D b")).toBe("a\uFFFD b");
    expect(wellFormed("🚀")).toBe("🚀");
  });
});
