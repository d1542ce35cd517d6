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

describe("redaction of escaped and encoded forms", () => {
  const secret = 'tok"en\\&<x>-0123';
  const redact = createRedactor([secret]);
  const plainAround = (text: string) => expect(redact(text)).not.toMatch(/tok|en\\|0123/);

  it("finds a secret after JSON escaping, once and twice", () => {
    plainAround(JSON.stringify({ a: secret }));
    plainAround(JSON.stringify(JSON.stringify({ a: secret })));
  });

  it("finds a secret after HTML escaping, with and without quotes escaped", () => {
    plainAround(secret.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;"));
    plainAround(
      secret
        .replaceAll("&", "&amp;")
        .replaceAll("<", "&lt;")
        .replaceAll(">", "&gt;")
        .replaceAll('"', "&quot;"),
    );
  });

  it("finds a secret URL-encoded, and base64-encoded at any offset inside a longer blob", () => {
    plainAround(`x=${encodeURIComponent(secret)}`);
    for (const before of ["", "a", "ab", "Basic user:"]) {
      const blob = Buffer.from(`${before}${secret}:tail`).toString("base64");
      const fragment = Buffer.from(secret).toString("base64").slice(4, 12);
      expect(redact(blob), before).toContain("<redacted>");
      if (before === "") expect(redact(blob)).not.toContain(fragment);
    }
  });

  it("a logger given the invocation's redactor redacts with it", () => {
    const lines: string[] = [];
    createJsonLogger({ redact, write: (l) => lines.push(l) }).info("x", { value: secret });
    expect(lines[0]).not.toContain("0123");
    expect(lines[0]).toContain("<redacted>");
  });
});
