import { Api, Bot, GrammyError, HttpError } from "grammy";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { timeScale } from "../../infra/local/service";
import {
  type SentMessageRecord,
  startTelegram,
  type TelegramService,
} from "../../infra/local/telegram";
import { type HttpsListening, listenHttps } from "../../infra/local/tls";
import { eventually } from "../support/eventually";

const GATEWAY = {
  token: "111111:gateway-SECRET_abc",
  username: "gateway_bot",
  firstName: "Gateway",
};
const OPERATOR = 424242;
/** The chats the tests' bots were added to (or started in): Telegram knows no others to them. */
const CHATS = [1001, 1002, 1003, 1004, 1005, 1006, OPERATOR, -4_711, -1_001_234_567_890];
const ALERTS = { token: "222222:alerts-SECRET_def", username: "alerts_bot", chats: CHATS };

let fake: TelegramService;

beforeAll(async () => {
  fake = await startTelegram({ bots: [GATEWAY, ALERTS], time: timeScale(0.01) });
});

afterEach(() => {
  fake.reset();
});

afterAll(async () => {
  await fake.close();
});

const api = (token: string): Api => new Api(token, { apiRoot: fake.url });

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

async function botApiError(promise: Promise<unknown>): Promise<GrammyError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(GrammyError);
  return error as GrammyError;
}

let botCounter = 0;
/** A fresh bot per test that changes webhook/polling state, so tests do not share queues. */
function freshBot(): { token: string; username: string } {
  botCounter += 1;
  const spec = {
    token: `90000${botCounter}:fresh-${botCounter}`,
    username: `fresh_${botCounter}_bot`,
    chats: CHATS,
  };
  fake.addBot(spec);
  return spec;
}

describe("Telegram Bot API fake through grammY", () => {
  it("knows only the chats a bot was added to: any other is chat not found", async () => {
    const spec = freshBot();
    const client = api(spec.token);
    const unknown = -1_009_999_999_999;
    for (const call of [
      client.sendMessage(unknown, "hello"),
      client.getChat(unknown),
      client.getChatMember(unknown, 900000 + botCounter),
      client.sendChatAction(unknown, "typing"),
    ]) {
      const error = await botApiError(call);
      expect(error.error_code).toBe(400);
      expect(error.description).toBe("Bad Request: chat not found");
    }
    await fake.control("join-chat", { bot: spec.username, chatId: unknown });
    expect(await client.getChat(unknown)).toMatchObject({ id: unknown, type: "supergroup" });
    const me = await client.getMe();
    expect((await client.getChatMember(unknown, me.id)).status).toBe("member");
    await fake.control("remove-bot", { bot: spec.username, chatId: unknown });
    expect((await client.getChatMember(unknown, me.id)).status).toBe("kicked");
  });

  it("answers getMe with the bot's identity", async () => {
    const me = await api(GATEWAY.token).getMe();
    expect(me).toMatchObject({
      id: 111111,
      is_bot: true,
      username: "gateway_bot",
      first_name: "Gateway",
    });
  });

  it("sends HTML with an inline keyboard and records it", async () => {
    const alerts = api(ALERTS.token);
    const sent = await alerts.sendMessage(
      1001,
      "<b>Gateway down</b> &amp; <i>rebooting</i> &nbsp;",
      {
        parse_mode: "HTML",
        disable_notification: true,
        reply_markup: {
          inline_keyboard: [
            [
              { text: "Ack", callback_data: "ack:inc-1" },
              { text: "Status", callback_data: "status" },
            ],
          ],
        },
      },
    );
    expect(sent.text).toBe("Gateway down & rebooting &nbsp;");
    expect(sent.entities).toEqual([
      { type: "bold", offset: 0, length: 12 },
      { type: "italic", offset: 15, length: 9 },
    ]);
    expect(sent.chat).toMatchObject({ id: 1001, type: "private" });
    expect(sent.from?.username).toBe("alerts_bot");
    expect(sent.reply_markup?.inline_keyboard[0]?.[0]).toEqual({
      text: "Ack",
      callback_data: "ack:inc-1",
    });

    const reply = await alerts.sendMessage(1001, "still down", {
      reply_parameters: { message_id: sent.message_id },
    });
    expect(reply.message_id).toBe(sent.message_id + 1);
    expect(reply.reply_to_message?.message_id).toBe(sent.message_id);

    const records = (await fake.control("messages", { chatId: 1001 })) as SentMessageRecord[];
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      bot: "alerts_bot",
      chatId: 1001,
      messageId: sent.message_id,
      text: "<b>Gateway down</b> &amp; <i>rebooting</i> &nbsp;",
      plainText: "Gateway down & rebooting &nbsp;",
      parseMode: "HTML",
      replyTo: null,
      disableNotification: true,
      edited: false,
      buttons: [
        [
          { text: "Ack", callbackData: "ack:inc-1" },
          { text: "Status", callbackData: "status" },
        ],
      ],
    });
    expect(records[1]).toMatchObject({ replyTo: sent.message_id, parseMode: null, buttons: [] });
  });

  it("rejects malformed HTML, over-long text and missing reply targets with 400", async () => {
    const alerts = api(ALERTS.token);
    const cases: [string, string][] = [
      ["<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'],
      ["<p>x</p>", 'Unsupported start tag "p" at byte offset 0'],
      ["load < 5", 'Unsupported start tag "" at byte offset 5'],
      ["<b>open", 'Can\'t find end tag corresponding to start tag "b"'],
      ['<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'],
    ];
    for (const [text, reason] of cases) {
      const error = await botApiError(alerts.sendMessage(1002, text, { parse_mode: "HTML" }));
      expect(error.error_code).toBe(400);
      expect(error.description).toBe(`Bad Request: can't parse entities: ${reason}`);
    }
    // Markup does not count towards the 4096-character limit; the text it leaves does.
    await alerts.sendMessage(1002, `<b>${"x".repeat(4096)}</b>`, { parse_mode: "HTML" });
    const long = await botApiError(alerts.sendMessage(1002, "x".repeat(4097)));
    expect(long.description).toBe("Bad Request: message is too long");
    const empty = await botApiError(alerts.sendMessage(1002, "<b> </b>", { parse_mode: "HTML" }));
    expect(empty.description).toBe("Bad Request: message text is empty");
    const orphan = await botApiError(
      alerts.sendMessage(1002, "reply", { reply_parameters: { message_id: 999 } }),
    );
    expect(orphan.description).toBe("Bad Request: message to be replied not found");
  });

  it("rejects callback_data longer than 64 bytes with BUTTON_DATA_INVALID", async () => {
    const alerts = api(ALERTS.token);
    const keyboard = (data: string) => ({
      inline_keyboard: [[{ text: "Go", callback_data: data }]],
    });
    await alerts.sendMessage(1003, "ok", { reply_markup: keyboard("x".repeat(64)) });
    const error = await botApiError(
      alerts.sendMessage(1003, "too long", { reply_markup: keyboard("x".repeat(65)) }),
    );
    expect(error.error_code).toBe(400);
    expect(error.description).toBe("Bad Request: BUTTON_DATA_INVALID");
    // Bytes, not characters: 22 three-byte characters are 66 bytes.
    await botApiError(alerts.sendMessage(1003, "wide", { reply_markup: keyboard("€".repeat(22)) }));
  });

  it("answers a wrong token with 401 and an unknown method with 404", async () => {
    const error = await botApiError(api("333333:not-a-known-token").getMe());
    expect(error.error_code).toBe(401);
    expect(error.description).toBe("Unauthorized");

    const res = await fetch(`${fake.url}/bot${GATEWAY.token}/sendTelepathy`, { method: "POST" });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ ok: false, error_code: 404, description: "Not Found" });
  });

  it("reads parameters from query strings and form bodies and never records the token", async () => {
    const query = await fetch(
      `${fake.url}/bot${ALERTS.token}/sendMessage?chat_id=1004&text=from%20query`,
    );
    expect(await query.json()).toMatchObject({
      ok: true,
      result: { text: "from query", chat: { id: 1004 } },
    });

    const form = new URLSearchParams({
      chat_id: "1004",
      text: "from form",
      reply_markup: JSON.stringify({ inline_keyboard: [[{ text: "Ack", callback_data: "ack" }]] }),
    });
    const posted = await fetch(`${fake.url}/bot${ALERTS.token}/sendMessage`, {
      method: "POST",
      body: form,
    });
    expect(posted.status).toBe(200);
    expect(fake.messages({ chatId: 1004 }).map((record) => record.buttons.length)).toEqual([0, 1]);

    const calls = fake.calls({ bot: "alerts_bot", method: "sendMessage" });
    expect(calls.at(-1)).toMatchObject({ bot: "alerts_bot", method: "sendMessage", status: 200 });
    expect(calls.at(-1)?.params).toMatchObject({ chat_id: "1004", text: "from form" });
    expect(JSON.stringify(fake.calls())).not.toContain("SECRET");
  });

  it("delivers an injected message to a long-polling grammY bot, which replies", async () => {
    const spec = freshBot();
    const injected = (await fake.control("inject-message", {
      bot: spec.username,
      chatId: OPERATOR,
      userId: OPERATOR,
      username: "operator",
      text: "/status now",
    })) as { updateId: number; messageId: number };
    expect(injected.updateId).toBeGreaterThan(0);
    // Nobody polls yet: the update waits, and getWebhookInfo says so even in polling mode.
    const info = await api(spec.token).getWebhookInfo();
    expect(info).toMatchObject({ url: "", pending_update_count: 1 });

    const bot = new Bot(spec.token, { client: { apiRoot: fake.url } });
    bot.command("status", (ctx) => ctx.reply(`status for @${ctx.from?.username}: ${ctx.match}`));
    bot.on("message:text", (ctx) =>
      ctx.reply(`echo: ${ctx.message.text}`, {
        reply_parameters: { message_id: ctx.message.message_id },
      }),
    );
    bot.catch(() => {});
    const polling = bot.start();
    try {
      await eventually(
        () => (fake.messages({ bot: spec.username }).length === 1 ? true : undefined),
        "the bot's first message",
      );
      fake.injectMessage({ bot: spec.username, chatId: OPERATOR, userId: OPERATOR, text: "hello" });
      const replies = await eventually(() => {
        const sent = fake.messages({ bot: spec.username });
        return sent.length === 2 ? sent : undefined;
      }, "the bot's reply");
      expect(replies.map((record) => record.text)).toEqual([
        "status for @operator: now",
        "echo: hello",
      ]);
      expect(replies[1]?.replyTo).toBe(injected.messageId + 2);
      // The last update stays pending until grammY's next getUpdates confirms it by offset.
      await eventually(
        async () =>
          (await api(spec.token).getWebhookInfo()).pending_update_count === 0 ? true : undefined,
        "the pending update to be confirmed",
      );
    } finally {
      await bot.stop();
      await polling;
    }
    const methods = fake.calls({ bot: spec.username }).map((call) => call.method);
    expect(methods).toEqual(
      expect.arrayContaining(["getMe", "deleteWebhook", "getUpdates", "sendMessage"]),
    );
  });

  it("answers getUpdates with 409 while a webhook is set", async () => {
    const spec = freshBot();
    const client = api(spec.token);
    await client.setWebhook("https://127.0.0.1:8443/never-called");
    const error = await botApiError(client.getUpdates());
    expect(error.error_code).toBe(409);
    expect(error.description).toBe(
      "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    );
    await client.deleteWebhook();
    expect(await client.getUpdates()).toEqual([]);
  });

  it("terminates the older of two long polls and drops a poll whose client left", async () => {
    const spec = freshBot();
    const client = api(spec.token);
    const held = () => fake.updates().find((view) => view.bot === spec.username)?.longPollHeld;
    const first = client.getUpdates({ timeout: 20 });
    await eventually(() => (held() === true ? true : undefined), "the first long poll to be held");
    const controller = new AbortController();
    // grammY types its signal with the abort-controller polyfill; Node's is compatible at runtime.
    const signal = controller.signal as Parameters<Api["getUpdates"]>[1];
    const second = client.getUpdates({ timeout: 20 }, signal);
    const error = await botApiError(first);
    expect(error.error_code).toBe(409);
    expect(error.description).toBe(
      "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    );
    await eventually(() => (held() === true ? true : undefined), "the second long poll to be held");
    controller.abort();
    await rejection(second);
    await eventually(() => (held() === false ? true : undefined), "the long poll to be released");
    // The abandoned poll took nothing: a new update stays pending until someone fetches it.
    fake.injectMessage({ bot: spec.username, chatId: 7, userId: 7, text: "ping" });
    expect((await client.getWebhookInfo()).pending_update_count).toBe(1);
    const [update] = await client.getUpdates();
    expect(update?.message?.text).toBe("ping");
    // Fetched but not yet confirmed by a later offset: still pending, as on Telegram.
    expect((await client.getWebhookInfo()).pending_update_count).toBe(1);
    await client.getUpdates({ offset: (update?.update_id ?? 0) + 1 });
    expect((await client.getWebhookInfo()).pending_update_count).toBe(0);
  });

  describe("webhook delivery", () => {
    let receiver: HttpsListening;
    let failing = true;
    const attempts: { updateId: number; secret: string | undefined; status: number }[] = [];

    beforeAll(async () => {
      receiver = await listenHttps((req, res, body) => {
        const update = JSON.parse(body.toString("utf8")) as { update_id: number };
        const status = failing ? 500 : 200;
        const secret = req.headers["x-telegram-bot-api-secret-token"];
        attempts.push({ updateId: update.update_id, secret: secret as string | undefined, status });
        res.writeHead(status).end();
      });
      fake.trustCertificate(receiver.certificate.cert);
    });

    afterAll(async () => {
      await receiver.close();
    });

    it("posts in order with the secret, retries after 500, counts pending, redelivers", async () => {
      const spec = freshBot();
      const client = api(spec.token);
      expect(
        await client.setWebhook(`${receiver.url}/telegram`, { secret_token: "s3cret_TOKEN-1" }),
      ).toBe(true);
      const first = fake.injectMessage({ bot: spec.username, chatId: 9, userId: 9, text: "one" });
      const second = fake.injectMessage({ bot: spec.username, chatId: 9, userId: 9, text: "two" });
      await eventually(() => (attempts.length >= 3 ? true : undefined), "three webhook attempts");

      const info = await client.getWebhookInfo();
      expect(info.url).toBe(`${receiver.url}/telegram`);
      expect(info.pending_update_count).toBe(2);
      expect(info.last_error_message).toBe(
        "Wrong response from the webhook: 500 Internal Server Error",
      );
      expect(info.last_error_date).toBeGreaterThan(0);
      // Strictly one at a time, in order: the second update waits behind the failing first.
      expect(new Set(attempts.map((attempt) => attempt.updateId))).toEqual(
        new Set([first.updateId]),
      );

      failing = false;
      const delivered = () =>
        attempts.filter((attempt) => attempt.status === 200).map((a) => a.updateId);
      await eventually(
        () => (delivered().length === 2 ? true : undefined),
        "both updates delivered",
      );
      expect(delivered()).toEqual([first.updateId, second.updateId]);
      expect((await client.getWebhookInfo()).pending_update_count).toBe(0);
      expect(attempts.every((attempt) => attempt.secret === "s3cret_TOKEN-1")).toBe(true);

      await fake.control("redeliver", { bot: spec.username, updateId: first.updateId });
      await eventually(
        () => (delivered().length === 3 ? true : undefined),
        "the redelivered update",
      );
      expect(delivered()).toEqual([first.updateId, second.updateId, first.updateId]);

      const bad = await botApiError(
        client.setWebhook(`${receiver.url}/x`, { secret_token: "has space" }),
      );
      expect(bad.error_code).toBe(400);
      await client.deleteWebhook();
    });
  });

  it("refuses webhook URLs Telegram refuses: plain HTTP, other ports (WebhookActor.cpp)", async () => {
    const client = api(freshBot().token);
    const http = await botApiError(client.setWebhook("http://127.0.0.1:8443/telegram"));
    expect(http.description).toBe(
      "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
    );
    for (const url of ["https://127.0.0.1:9443/telegram", "https://127.0.0.1:8080/x"]) {
      const port = await botApiError(client.setWebhook(url));
      expect(port.description).toBe(
        "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
      );
    }
    for (const url of [
      "https://example.test/t",
      "https://example.test:88/t",
      "https://a.test:80/",
    ]) {
      expect(await client.setWebhook(url)).toBe(true);
    }
    await client.deleteWebhook();
  });

  it("counts fetched but unconfirmed updates as pending until a later offset confirms them", async () => {
    const spec = freshBot();
    const client = api(spec.token);
    fake.injectMessage({ bot: spec.username, chatId: 8, userId: 8, text: "one" });
    fake.injectMessage({ bot: spec.username, chatId: 8, userId: 8, text: "two" });
    const fetched = await client.getUpdates({ limit: 1 });
    // Fetched, being worked on (a busy runner slot), not confirmed: Telegram still counts it.
    expect((await client.getWebhookInfo()).pending_update_count).toBe(2);
    const last = fetched.at(-1)?.update_id ?? 0;
    await client.getUpdates({ offset: last + 1, limit: 1 });
    expect((await client.getWebhookInfo()).pending_update_count).toBe(1);
    await client.getUpdates({ offset: last + 2, timeout: 0 });
    expect((await client.getWebhookInfo()).pending_update_count).toBe(0);
  });

  it("rejects text that is not well-formed UTF-8, a lone surrogate from a cut emoji included", async () => {
    const alerts = api(ALERTS.token);
    const cut = "rocket 🚀".slice(0, -1);
    const error = await botApiError(alerts.sendMessage(1006, cut));
    expect(error.error_code).toBe(400);
    expect(error.description).toBe("Bad Request: strings must be encoded in UTF-8");
    const raw = await fetch(`${fake.url}/bot${ALERTS.token}/sendMessage`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Buffer.concat([
        Buffer.from('{"chat_id":1006,"text":"'),
        Buffer.from([0xed, 0xa0, 0xbd]),
        Buffer.from('"}'),
      ]),
    });
    expect(await raw.json()).toMatchObject({
      ok: false,
      description: "Bad Request: strings must be encoded in UTF-8",
    });
    expect((await alerts.sendMessage(1006, "rocket 🚀")).text).toBe("rocket 🚀");
  });

  it("answers a migrated group with migrate_to_chat_id, kicked and blocked bots with 403", async () => {
    const spec = freshBot();
    const client = api(spec.token);
    const group = -4_711;
    await client.sendMessage(group, "before");
    const { newChatId } = (await fake.control("migrate-chat", {
      bot: spec.username,
      chatId: group,
    })) as { newChatId: number };
    expect(newChatId).toBe(-1_000_000_004_711);
    const moved = await botApiError(client.sendMessage(group, "after"));
    expect(moved.error_code).toBe(400);
    expect(moved.description).toBe("Bad Request: group chat was upgraded to a supergroup chat");
    expect(moved.parameters.migrate_to_chat_id).toBe(newChatId);
    expect((await client.sendMessage(newChatId, "after")).chat.type).toBe("supergroup");

    await fake.control("remove-bot", { bot: spec.username, chatId: newChatId });
    expect((await botApiError(client.sendMessage(newChatId, "x"))).description).toBe(
      "Forbidden: bot was kicked from the supergroup chat",
    );
    await fake.control("remove-bot", { bot: spec.username, chatId: OPERATOR });
    const blocked = await botApiError(client.sendMessage(OPERATOR, "x"));
    expect([blocked.error_code, blocked.description]).toEqual([
      403,
      "Forbidden: bot was blocked by the user",
    ]);
    await fake.control("forget-chat", { bot: spec.username, chatId: -99 });
    expect((await botApiError(client.sendMessage(-99, "x"))).description).toBe(
      "Bad Request: chat not found",
    );
  });

  it("answers 429 with retry_after, then recovers", async () => {
    const alerts = api(ALERTS.token);
    await fake.control("rate-limit", { retryAfter: 7, count: 1, method: "sendMessage" });
    await alerts.getMe();
    const error = await botApiError(alerts.sendMessage(1005, "throttled"));
    expect(error.error_code).toBe(429);
    expect(error.description).toBe("Too Many Requests: retry after 7");
    expect(error.parameters.retry_after).toBe(7);
    await alerts.sendMessage(1005, "accepted again");
  });

  it("drops connections while down, fails forced errors, and 401s a revoked token until reset", async () => {
    const gateway = api(GATEWAY.token);
    await fake.control("down", {});
    expect(await rejection(gateway.getMe())).toBeInstanceOf(HttpError);
    await fake.control("up", {});
    await gateway.getMe();

    await fake.control("error", { status: 500, count: 1 });
    expect((await botApiError(gateway.getMe())).error_code).toBe(500);
    await fake.control("error", { status: 502, count: 1 });
    expect(await rejection(gateway.getMe())).toBeInstanceOf(HttpError);
    await fake.control("latency", { ms: 20 });
    await gateway.getMe();

    await fake.control("revoke-token", { bot: "gateway_bot" });
    expect((await botApiError(gateway.getMe())).error_code).toBe(401);
    expect((await api(ALERTS.token).getMe()).username).toBe("alerts_bot");
    fake.reset();
    await gateway.getMe();
  });

  it("edits a message and answers its callback query once", async () => {
    const spec = freshBot();
    const client = api(spec.token);
    const chatId = -1_001_234_567_890;
    const alert = await client.sendMessage(chatId, "<b>Incident</b> open", {
      parse_mode: "HTML",
      reply_markup: { inline_keyboard: [[{ text: "Ack", callback_data: "ack:1" }]] },
    });
    expect(alert.chat).toMatchObject({ id: chatId, type: "supergroup" });
    const pressed = (await fake.control("inject-callback", {
      bot: spec.username,
      chatId,
      userId: OPERATOR,
      messageId: alert.message_id,
      data: "ack:1",
    })) as { updateId: number; callbackQueryId: string };
    const [update] = await client.getUpdates();
    expect(update?.update_id).toBe(pressed.updateId);
    const query = update?.callback_query;
    expect(query).toMatchObject({
      id: pressed.callbackQueryId,
      data: "ack:1",
      from: { id: OPERATOR },
    });
    expect(query?.message?.message_id).toBe(alert.message_id);

    expect(await client.answerCallbackQuery(pressed.callbackQueryId, { text: "Acked" })).toBe(true);
    const again = await botApiError(client.answerCallbackQuery(pressed.callbackQueryId));
    expect(again.description).toBe(
      "Bad Request: query is too old and response timeout expired or query ID is invalid",
    );
    await botApiError(client.answerCallbackQuery("12345"));

    const edited = await client.editMessageText(chatId, alert.message_id, "<b>Incident</b> acked", {
      parse_mode: "HTML",
      reply_markup: { inline_keyboard: [[{ text: "Unack", callback_data: "unack:1" }]] },
    });
    expect(edited).toMatchObject({ text: "Incident acked", message_id: alert.message_id });
    const unchanged = await botApiError(
      client.editMessageText(chatId, alert.message_id, "<b>Incident</b> acked", {
        parse_mode: "HTML",
        reply_markup: { inline_keyboard: [[{ text: "Unack", callback_data: "unack:1" }]] },
      }),
    );
    expect(unchanged.description).toMatch(/^Bad Request: message is not modified/);
    const bare = await client.editMessageReplyMarkup(chatId, alert.message_id);
    expect(bare).toMatchObject({ text: "Incident acked" });
    expect((bare as { reply_markup?: unknown }).reply_markup).toBeUndefined();
    const missing = await botApiError(client.editMessageText(chatId, 999, "nothing"));
    expect(missing.description).toBe("Bad Request: message to edit not found");

    const records = fake.messages({ bot: spec.username });
    expect(records.map((record) => [record.edited, record.buttons.length])).toEqual([
      [false, 1],
      [true, 1],
      [true, 0],
    ]);
  });

  it("keeps commands per scope and accepts chat actions", async () => {
    const spec = freshBot();
    const client = api(spec.token);
    await client.setMyCommands([{ command: "status", description: "Show status" }]);
    await client.setMyCommands([{ command: "ack", description: "Ack" }], {
      scope: { type: "all_private_chats" },
    });
    expect(await client.getMyCommands()).toEqual([
      { command: "status", description: "Show status" },
    ]);
    await client.deleteMyCommands();
    expect(await client.getMyCommands()).toEqual([]);
    expect(await client.getMyCommands({ scope: { type: "all_private_chats" } })).toHaveLength(1);
    const invalid = await botApiError(
      client.setMyCommands([{ command: "Bad-Name", description: "x" }]),
    );
    expect(invalid.description).toBe("Bad Request: BOT_COMMAND_INVALID");
    expect(await client.sendChatAction(OPERATOR, "typing")).toBe(true);
  });
});
