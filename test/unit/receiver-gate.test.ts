import { describe, expect, it } from "vitest";
import { parseConfig } from "../../shared/config";
import {
  apigResult,
  checkAccess,
  checkRequest,
  readUpdate,
  requestFromApig,
  SECRET_HEADER,
  secretMatches,
  type WebhookRequest,
} from "../../shared/receiver";

const SECRET = "webhook_secret-0123456789abcdef";
const post = (body: string | Uint8Array, headers: Record<string, string> = {}): WebhookRequest => ({
  method: "POST",
  headers,
  body: typeof body === "string" ? Buffer.from(body) : body,
});
const signed = (body: string) => post(body, { [SECRET_HEADER]: SECRET });

describe("secretMatches", () => {
  it("accepts only the exact secret", () => {
    expect(secretMatches(SECRET, SECRET)).toBe(true);
    expect(secretMatches(SECRET, `${SECRET}x`)).toBe(false);
    expect(secretMatches(SECRET, SECRET.slice(0, -1))).toBe(false);
    expect(secretMatches(SECRET, "")).toBe(false);
    expect(secretMatches(SECRET, undefined)).toBe(false);
  });

  it("never matches when no secret is configured", () => {
    expect(secretMatches(undefined, "")).toBe(false);
    expect(secretMatches("", "")).toBe(false);
  });
});

describe("checkRequest", () => {
  const options = { secret: SECRET, maxBodyBytes: 1_000 };

  it("accepts a signed JSON body", () => {
    expect(checkRequest(signed('{"update_id":1}'), options)).toEqual({
      kind: "accept",
      json: { update_id: 1 },
    });
  });

  it("answers 401 without the secret, with a wrong one, or when none is configured", () => {
    for (const request of [
      post('{"update_id":1}'),
      post('{"update_id":1}', { [SECRET_HEADER]: "wrong-secret-wrong-secret" }),
    ]) {
      const gate = checkRequest(request, options);
      expect(gate.kind === "reject" && gate.response.status).toBe(401);
    }
    const unconfigured = checkRequest(signed("{}"), { secret: undefined });
    expect(unconfigured).toMatchObject({ kind: "reject", response: { status: 401 } });
  });

  it("checks the secret before looking at the body", () => {
    const gate = checkRequest(post("x".repeat(5_000)), options);
    expect(gate).toMatchObject({ kind: "reject", response: { status: 401 } });
  });

  it("answers 405 to anything but POST", () => {
    const gate = checkRequest({ ...signed("{}"), method: "GET" }, options);
    expect(gate).toMatchObject({ kind: "reject", response: { status: 405 } });
  });

  it("answers 413 to an oversized body and 400 to malformed JSON or bytes", () => {
    expect(checkRequest(signed(`{"a":"${"x".repeat(2_000)}"}`), options)).toMatchObject({
      response: { status: 413 },
    });
    expect(checkRequest(signed('{"update_id":'), options)).toMatchObject({
      response: { status: 400, body: { ok: false } },
    });
    const notUtf8 = post(new Uint8Array([0x7b, 0xff, 0x7d]), { [SECRET_HEADER]: SECRET });
    expect(checkRequest(notUtf8, options)).toMatchObject({ response: { status: 400 } });
    expect(checkRequest(signed(""), options)).toMatchObject({ response: { status: 400 } });
  });
});

describe("APIG adapter", () => {
  it("decodes the base64 body and lower-cases header names", () => {
    const request = requestFromApig({
      body: Buffer.from('{"update_id":7}').toString("base64"),
      isBase64Encoded: true,
      httpMethod: "POST",
      headers: { "X-Telegram-Bot-Api-Secret-Token": SECRET, "content-type": "application/json" },
    });
    expect(request.method).toBe("POST");
    expect(request.headers[SECRET_HEADER]).toBe(SECRET);
    expect(Buffer.from(request.body).toString()).toBe('{"update_id":7}');
  });

  it("reads a plain body when isBase64Encoded is false", () => {
    const request = requestFromApig({ body: '{"a":1}', isBase64Encoded: false });
    expect(Buffer.from(request.body).toString()).toBe('{"a":1}');
  });

  it("turns a malformed event into an empty request instead of throwing", () => {
    expect(requestFromApig(undefined)).toMatchObject({ method: "POST", headers: {} });
    expect(requestFromApig(null).body.byteLength).toBe(0);
    const odd = requestFromApig({
      body: 42 as unknown as string,
      headers: { a: undefined, b: 5 as unknown as string },
    });
    expect(odd.body.byteLength).toBe(0);
    expect(odd.headers).toEqual({});
  });

  it("shapes the result as APIG wants it", () => {
    expect(apigResult({ status: 401, body: { ok: false, error: "unauthorized" } })).toEqual({
      statusCode: 401,
      headers: { "content-type": "application/json" },
      body: '{"ok":false,"error":"unauthorized"}',
      isBase64Encoded: false,
    });
  });
});

describe("readUpdate", () => {
  const from = { id: 7, is_bot: false, first_name: "Ann", username: "ann" };
  const chat = { id: -100, type: "supergroup", title: "ops" };

  it("reads a command", () => {
    const update = readUpdate({
      update_id: 3,
      message: { message_id: 9, date: 1, chat, from, text: " /status prod " },
    });
    expect(update).toEqual({
      kind: "command",
      updateId: 3,
      chat: { id: -100 },
      from: { userId: 7, username: "ann" },
      messageId: 9,
      text: "/status prod",
    });
  });

  it("reads a button press with its query id", () => {
    const update = readUpdate({
      update_id: 4,
      callback_query: {
        id: "q1",
        from,
        chat_instance: "x",
        data: "1:s:prod",
        message: { message_id: 12, chat, date: 1 },
      },
    });
    expect(update).toMatchObject({
      kind: "button",
      queryId: "q1",
      messageId: 12,
      data: "1:s:prod",
    });
  });

  it("ignores what is not a command, and messages from bots", () => {
    expect(
      readUpdate({ update_id: 1, message: { message_id: 1, chat, from, text: "hi" } }),
    ).toMatchObject({
      kind: "ignored",
    });
    expect(
      readUpdate({
        update_id: 1,
        message: { message_id: 1, chat, from: { ...from, is_bot: true }, text: "/ack" },
      }),
    ).toMatchObject({ kind: "ignored" });
    expect(readUpdate({ update_id: 1, edited_message: {} })).toMatchObject({ kind: "ignored" });
    expect(
      readUpdate({ update_id: 1, callback_query: { id: "q", from, data: "1:s:prod" } }),
    ).toMatchObject({ kind: "ignored", queryId: "q" });
  });

  it("gives undefined for JSON that is not an update", () => {
    for (const json of [
      null,
      [],
      "x",
      {},
      { update_id: "1" },
      { update_id: -1 },
      { update_id: 1, message: { chat } },
    ]) {
      expect(readUpdate(json)).toBeUndefined();
    }
  });
});

describe("checkAccess", () => {
  const config = parseConfig({
    boxes: [
      {
        name: "prod",
        serverId: "s",
        gateway: { url: "http://127.0.0.1:1", token: "t" },
        telegram: { botToken: "1:x" },
        maas: { baseUrl: "http://127.0.0.1:2/v1", apiKey: "k", model: "m" },
      },
    ],
    alerts: { botToken: "2:y", chatId: -100, allowedUserIds: [7] },
    cloud: { projectId: "p" },
    state: { bucket: "bucket-1" },
  });

  it("needs the alert chat and a listed user", () => {
    expect(checkAccess(config.alerts, { id: -100 }, 7)).toEqual({ allowed: true });
    expect(checkAccess(config.alerts, { id: -101 }, 7)).toMatchObject({ allowed: false });
    expect(checkAccess(config.alerts, { id: -100 }, 8)).toMatchObject({ allowed: false });
    expect(checkAccess(config.alerts, undefined, 7)).toMatchObject({ allowed: false });
    expect(checkAccess(config.alerts, { id: -100 }, undefined)).toMatchObject({ allowed: false });
  });

  it("matches a chat id given as text or as @name", () => {
    const alerts = { ...config.alerts, allowedUserIds: [7] };
    expect(checkAccess({ ...alerts, chatId: "-100" }, { id: -100 }, 7).allowed).toBe(true);
    expect(checkAccess({ ...alerts, chatId: "@Ops" }, { id: 5, username: "ops" }, 7).allowed).toBe(
      true,
    );
    expect(checkAccess({ ...alerts, chatId: "@ops" }, { id: 5 }, 7).allowed).toBe(false);
  });

  it("lets nobody act with an empty allow list", () => {
    expect(checkAccess({ ...config.alerts, allowedUserIds: [] }, { id: -100 }, 7).allowed).toBe(
      false,
    );
  });
});
