import { describe, expect, it } from "vitest";
import { MAX_PROBE_ANSWER_CHARS, parseProbeAnswer } from "../../shared/probes/gateway-port";
import {
  loadProbeFunctionConfig,
  PROBE_CONFIG_VAR,
  PROBE_TOKENS_VAR,
  runProbeRequest,
} from "../../shared/probes/probe-function";

// The two ends of the gateway-probe function's contract, with no network: what the watchdog
// believes of an answer, and which requests the function refuses before sending the token.

const TOKEN = "gw-secret-token-0123456789";
const FN = "clawwatch-gateway-probe";

describe("the watchdog's reading of a probe answer", () => {
  it("passes the gateway result through, restart fields included", () => {
    const answer = {
      status: "down",
      latencyMs: 3,
      detail: "10.0.0.5:18789: connection refused",
      failing: [],
      unreachable: true,
      refused: true,
    };
    expect(parseProbeAnswer(FN, JSON.stringify(answer), TOKEN)).toEqual(answer);
    const ok = {
      status: "ok",
      latencyMs: 9,
      detail: "ready",
      failing: [],
      httpStatus: 200,
      uptimeMs: 5000,
      startedAt: 1_700_000_000_000,
    };
    expect(parseProbeAnswer(FN, JSON.stringify(ok), TOKEN)).toEqual(ok);
  });

  it("turns anything else into a watchdog-side error, never a box verdict", () => {
    const cases = [
      "not json",
      "null",
      JSON.stringify({ status: "fine", latencyMs: 1, detail: "", failing: [] }),
      JSON.stringify({ status: "ok", latencyMs: -1, detail: "", failing: [] }),
      JSON.stringify({ status: "ok", latencyMs: 1, detail: "", failing: [], uptimeMs: "5" }),
      "x".repeat(MAX_PROBE_ANSWER_CHARS + 1),
    ];
    for (const text of cases) {
      const result = parseProbeAnswer(FN, text, TOKEN);
      expect(result.status, text.slice(0, 40)).toBe("error");
      expect(result.detail).toContain(FN);
    }
  });

  it("never repeats the gateway token an answer carries", () => {
    const answer = {
      status: "misconfigured",
      latencyMs: 1,
      detail: `token ${TOKEN} rejected`,
      failing: [],
    };
    const result = parseProbeAnswer(FN, JSON.stringify(answer), TOKEN);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });
});

describe("the gateway-probe function's requests", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const config = loadProbeFunctionConfig(
    env({
      [PROBE_CONFIG_VAR]: JSON.stringify({
        boxes: [{ name: "prod", url: "http://10.0.0.5:18789" }],
        timeoutMs: 1000,
        retryDelayMs: 0,
      }),
      [PROBE_TOKENS_VAR]: JSON.stringify({ prod: TOKEN }),
    }),
  );

  it("refuses unknown boxes, other URLs and malformed events before any request", async () => {
    const refused = [
      { box: "other", url: "http://10.0.0.5:18789" },
      { box: "prod", url: "http://203.0.113.9:18789" },
      { box: "prod" },
      { box: "prod", url: "http://10.0.0.5:18789", token: "x" },
      { box: "prod", url: "x".repeat(2000) },
      "prod",
    ];
    for (const event of refused) {
      await expect(
        runProbeRequest(event, config),
        JSON.stringify(event).slice(0, 60),
      ).rejects.toThrow(/probe request|no box|not the one|at most|check/);
    }
  });

  it("lists every config problem at once and never quotes a token", () => {
    let message = "";
    try {
      loadProbeFunctionConfig(
        env({
          [PROBE_CONFIG_VAR]: JSON.stringify({
            boxes: [{ name: "Bad Name", url: "ftp://x" }],
            timeoutMs: 1,
          }),
          [PROBE_TOKENS_VAR]: JSON.stringify({ prod: 42, leak: TOKEN.repeat(30) }),
        }),
      );
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/CLAWWATCH_PROBE_CONFIG\.boxes\.0\.name/);
    expect(message).toMatch(/CLAWWATCH_PROBE_CONFIG\.timeoutMs/);
    expect(message).toMatch(/CLAWWATCH_GATEWAY_TOKENS\.prod/);
    expect(message).not.toContain(TOKEN);
  });
});
