import { describe, expect, it } from "vitest";
import { createJsonLogger } from "../../shared/runtime/logger";
import { createRedactor } from "../../shared/runtime/redact";

describe("redaction", () => {
  it("removes configured secrets and Telegram tokens in URLs", () => {
    const redact = createRedactor(["s3cr3t-value"]);
    const line = redact(
      "GET https://api.telegram.org/bot123456789:AAH4sjdhfkjsdhfkjshdfkjhsdkfjhskdjfh/getMe key=s3cr3t-value Authorization: Bearer abc.def",
    );
    expect(line).not.toContain("s3cr3t-value");
    expect(line).not.toContain("AAH4sjdhf");
    expect(line).not.toContain("abc.def");
    expect(line).toContain("bot<redacted>/getMe");
  });

  it("logs JSON lines with fields, children and error causes, redacted", () => {
    const lines: string[] = [];
    const log = createJsonLogger({
      secrets: ["tok-123456"],
      write: (l) => lines.push(l),
      now: () => new Date(0),
      level: "info",
    }).child({ box: "main" });
    log.debug("hidden");
    log.error("send failed", {
      error: new Error("outer tok-123456", { cause: new Error("inner") }),
    });
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0] as string);
    expect(record).toMatchObject({ level: "error", msg: "send failed", box: "main" });
    expect(record.error.message).toBe("outer <redacted>");
    expect(record.error.cause.message).toBe("inner");
  });
});
