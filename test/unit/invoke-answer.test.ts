import { describe, expect, it } from "vitest";
import { invokeAnswerOf } from "../../infra/deploy/functions";

const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("invokeAnswerOf", () => {
  it("reads the log from the body, else from the X-Cff-Function-Log header", () => {
    const body = JSON.stringify({
      request_id: "r",
      result: "{}",
      log: b64("in body"),
      status: 200,
    });
    expect(invokeAnswerOf("fn", { text: body, headers: {} }).log).toBe(b64("in body"));
    const noLog = JSON.stringify({ request_id: "r", result: "{}", log: "", status: 500 });
    expect(
      invokeAnswerOf("fn", { text: noLog, headers: { "x-cff-function-log": b64("in header") } }),
    ).toMatchObject({ status: 500, log: b64("in header") });
  });

  it("refuses the v0 text format, which carries no status", () => {
    expect(() => invokeAnswerOf("fn", { text: "hello", headers: {} })).toThrow(
      /not the v1 JSON format/,
    );
    expect(() => invokeAnswerOf("fn", { text: '{"result":"x"}', headers: {} })).toThrow(
      /has no status/,
    );
  });
});
