import { describe, expect, it } from "vitest";
import { webhookUrlProblem } from "../../shared/telegram";

describe("webhook URL rules (Telegram: HTTPS on 443, 80, 88 or 8443)", () => {
  it("accepts HTTPS on the four ports Telegram delivers to", () => {
    for (const url of [
      "https://hooks.example.com/clawwatch/telegram",
      "https://hooks.example.com:443/t",
      "https://hooks.example.com:80/t",
      "https://hooks.example.com:88/t",
      "https://127.1.2.3:8443/t",
    ]) {
      expect(webhookUrlProblem(url), url).toBeUndefined();
    }
  });

  it("explains plain HTTP, other ports and non-URLs", () => {
    expect(webhookUrlProblem("http://hooks.example.com/t")).toMatch(
      /HTTPS only, and this URL is HTTP/,
    );
    expect(webhookUrlProblem("https://hooks.example.com:8080/t")).toBe(
      "Telegram delivers webhooks only to ports 443, 80, 88 or 8443, not 8080",
    );
    expect(webhookUrlProblem("not a url")).toBe("it is not a valid URL");
  });
});
