import { inspect } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { listen } from "../../infra/local/http";
import { timeScale } from "../../infra/local/service";
import { startTelegram, type TelegramService } from "../../infra/local/telegram";
import {
  type BotApi,
  BotApiError,
  type BotApiOptions,
  BotTransportError,
  createBotApi,
  type Message,
} from "../../shared/telegram";

// Shaped like a real token, so a leak would also slip past the generic redaction patterns.
const TOKEN = "7012345678:AAHq3Zr-clientTest_tokenSECRET0123456";
const SECRET_PART = TOKEN.slice(TOKEN.indexOf(":") + 1);
const BOT = "client_bot";
const CHAT = -1001234567890;

let fake: TelegramService;
let deadUrl: string;

beforeAll(async () => {
  fake = await startTelegram({
    bots: [{ token: TOKEN, username: BOT, chats: [CHAT] }],
    time: timeScale(0.01),
  });
  const dead = await listen((_req, res) => {
    res.end();
  });
  await dead.close();
  deadUrl = dead.url;
});

afterEach(async () => {
  fake.reset();
  await fake.control("clear-calls", {});
});

afterAll(async () => {
  await fake?.close();
});

const api = (options: Partial<BotApiOptions> = {}): BotApi =>
  createBotApi({ token: TOKEN, apiRoot: fake.url, timeoutMs: 3_000, ...options });

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    expectNoSecret(error);
    return error;
  }
  throw new Error("expected the call to fail");
}

async function apiError(promise: Promise<unknown>): Promise<BotApiError> {
  const error = await failure(promise);
  expect(error).toBeInstanceOf(BotApiError);
  return error as BotApiError;
}

async function transportError(promise: Promise<unknown>): Promise<BotTransportError> {
  const error = await failure(promise);
  expect(error).toBeInstanceOf(BotTransportError);
  return error as BotTransportError;
}

/** Message, stack and every cause's, util.inspect and JSON: none may hold the token or its URL. */
function expectNoSecret(value: unknown): void {
  const seen: string[] = [inspect(value, { depth: 12, showHidden: true })];
  for (let e: unknown = value; e instanceof Error; e = e.cause) {
    seen.push(e.message, String(e.stack), inspect(e));
  }
  seen.push(JSON.stringify(value));
  for (const text of seen) {
    expect(text).not.toContain(SECRET_PART);
    expect(text).not.toContain("/bot");
  }
}

describe("Bot API client against the local Bot API", () => {
  it("reads getMe and getWebhookInfo", async () => {
    const client = api();
    expect(await client.getMe()).toMatchObject({ is_bot: true, username: BOT });
    expect(await client.getWebhookInfo()).toMatchObject({ url: "", pending_update_count: 0 });
  });

  it("sends, edits and answers, POSTing JSON parameters as given", async () => {
    const client = api();
    const keyboard = { inline_keyboard: [[{ text: "Ack", callback_data: "1:a:prod" }]] };
    const sent = await client.sendMessage({
      chat_id: CHAT,
      text: "<b>gateway down</b> on prod",
      parse_mode: "HTML",
      link_preview_options: { is_disabled: true },
      reply_markup: keyboard,
    });
    expect(sent).toMatchObject({ chat: { id: CHAT }, text: "gateway down on prod" });
    const [call] = fake.calls({ bot: BOT, method: "sendMessage" });
    expect(call?.params).toMatchObject({
      chat_id: CHAT,
      parse_mode: "HTML",
      reply_markup: keyboard,
    });

    const edited = (await client.editMessageText({
      chat_id: CHAT,
      message_id: sent.message_id,
      text: "gateway down on prod (acked)",
      reply_markup: keyboard,
    })) as Message;
    expect(edited.text).toBe("gateway down on prod (acked)");
    await client.editMessageReplyMarkup({ chat_id: CHAT, message_id: sent.message_id });
    expect(fake.messages({ bot: BOT }).at(-1)).toMatchObject({ edited: true, buttons: [] });

    const { callbackQueryId } = fake.injectCallback({
      bot: BOT,
      chatId: CHAT,
      userId: 4242,
      messageId: sent.message_id,
      data: "1:a:prod",
    });
    expect(
      await client.answerCallbackQuery({ callback_query_id: callbackQueryId, text: "Acked" }),
    ).toBe(true);
  });

  it("sets and deletes a webhook, and calls any other method through call()", async () => {
    const client = api();
    expect(
      await client.setWebhook({
        url: "https://127.0.0.1:8443/telegram",
        secret_token: "s3cret_token-value",
        allowed_updates: ["message", "callback_query"],
        max_connections: 1,
      }),
    ).toBe(true);
    expect(await client.getWebhookInfo()).toMatchObject({
      url: "https://127.0.0.1:8443/telegram",
      max_connections: 1,
    });
    expect(await client.deleteWebhook()).toBe(true);
    expect(await client.call("getMyCommands")).toEqual([]);
  });
});

describe("BotApiError: Telegram said ok:false", () => {
  it("carries method, error_code and description for a bad request", async () => {
    const error = await apiError(api().sendMessage({ chat_id: "@nowhere", text: "hi" }));
    expect(error).toMatchObject({
      method: "sendMessage",
      error_code: 400,
      description: "Bad Request: chat not found",
      parameters: {},
    });
    expect(error.message).toBe("Telegram refused sendMessage (400: Bad Request: chat not found)");
  });

  it("carries retry_after on a 429", async () => {
    await fake.control("rate-limit", { retryAfter: 7, method: "getMe" });
    const error = await apiError(api().getMe());
    expect(error).toMatchObject({
      method: "getMe",
      error_code: 429,
      parameters: { retry_after: 7 },
    });
    expect(error.description).toMatch(/Too Many Requests: retry after 7/);
  });

  it("reports a revoked token as 401, and a JSON 500 as error_code 500", async () => {
    await fake.control("revoke-token", { bot: BOT });
    expect(await apiError(api().getMe())).toMatchObject({ error_code: 401 });
    fake.reset();
    await fake.control("error", { status: 500, count: 1 });
    expect(await apiError(api().getMe())).toMatchObject({ error_code: 500 });
  });
});

describe("BotTransportError: no Bot API answer", () => {
  it("is a network error with the socket's code when nothing listens", async () => {
    const error = await transportError(api({ apiRoot: deadUrl }).getMe());
    expect(error).toMatchObject({
      method: "getMe",
      kind: "network",
      code: "ECONNREFUSED",
      status: undefined,
    });
    expect(error.message).toBe("Network request for getMe failed: ECONNREFUSED");
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("is a network error when Telegram cuts the connection", async () => {
    await fake.control("down", {});
    const error = await transportError(api().sendMessage({ chat_id: CHAT, text: "hi" }));
    expect(error).toMatchObject({ kind: "network", status: undefined });
    expect(error.code).toMatch(/^(UND_ERR_SOCKET|ECONNRESET|EPIPE)$/);
  });

  it("is a timeout when no answer comes in time", async () => {
    await fake.control("latency", { ms: 1_000 });
    const error = await transportError(api({ timeoutMs: 150 }).getMe());
    expect(error).toMatchObject({ kind: "timeout" });
    expect(error.message).toBe("Telegram did not answer getMe within 150 ms");
    expect((error.cause as Error).name).toBe("TimeoutError");
  });

  it("is not-json, with the status, for a proxy's HTML 502 page", async () => {
    await fake.control("error", { status: 502, count: 1 });
    const error = await transportError(api().getMe());
    expect(error).toMatchObject({ kind: "not-json", status: 502 });
    expect(error.message).toMatch(/HTTP 502\) was not JSON/);
  });

  it("is bad-url for an apiRoot that is not http(s), and sends nothing", async () => {
    const error = await transportError(api({ apiRoot: "api.telegram.org" }).getMe());
    expect(error).toMatchObject({ kind: "bad-url" });
    expect(error.message).toContain("alerts.apiRoot");
  });

  it("keeps the token out of errors that quote the URL (a malformed host)", async () => {
    // fetch's own message here is "Failed to parse URL from <the whole URL>".
    const error = await transportError(api({ apiRoot: "http://[not-a-host" }).getMe());
    expect(error).toMatchObject({ kind: "network" });
    expect(String((error.cause as Error).message)).toContain("Failed to parse URL");
  });
});
