import { inspect } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type Listening, listen, parseJson, sendJson } from "../../infra/local/http";
import { timeScale } from "../../infra/local/service";
import { startTelegram, type TelegramService } from "../../infra/local/telegram";
import { parseConfig } from "../../shared/config";
import { NotifyError } from "../../shared/errors";
import { decodeCallback } from "../../shared/notify/callback-data";
import { type OutgoingMessage, TelegramSendError } from "../../shared/notify/port";
import { renderNotification } from "../../shared/notify/render";
import { createTelegramNotifier, type TelegramNotifier } from "../../shared/notify/telegram";
import { createWebhookNotifier, type WebhookBody, withFallback } from "../../shared/notify/webhook";
import type { Notification } from "../../shared/policy/state";
import { incidentRef } from "../../shared/policy/text";
import type { LogFields, Logger } from "../../shared/runtime/logger";
import { createRedactor } from "../../shared/runtime/redact";
import { MemoryStateStore } from "../../shared/state/memory";
import { createAlertChannelNotifier } from "../../shared/watchdog/alert-channel";

// A token shaped like a real one, so a leak would also show up in the redaction patterns' blind spots.
const TOKEN = "7012345678:AAHq3Zr-realLooking_tokenSECRET0123456";
const TOKEN_SECRET_PART = TOKEN.slice(TOKEN.indexOf(":") + 1);
const BOT = "alerts_bot";
const CHAT = -1001234567890;
const time = timeScale(0.01);

let fake: TelegramService;
let receiver: Listening;
const hookBodies: unknown[] = [];
let hookStatus = 200;

/** Everything logged, with errors fully expanded (cause chains and own properties). */
const logLines: string[] = [];
function recordingLogger(base: LogFields = {}): Logger {
  const emit = (level: string) => (msg: string, fields?: LogFields) => {
    logLines.push(`${level} ${msg} ${inspect({ ...base, ...fields }, { depth: 8 })}`);
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (fields) => recordingLogger({ ...base, ...fields }),
  };
}
const log = recordingLogger();

const sleeps: number[] = [];
/** Records each 429 wait and waits it out on the fake's time scale. */
const scaledSleep = (ms: number): Promise<void> => {
  sleeps.push(ms);
  return new Promise((resolve) => setTimeout(resolve, time.scale(ms)));
};

function notifier(token = TOKEN): TelegramNotifier {
  return createTelegramNotifier({
    alerts: { botToken: token, chatId: CHAT, apiRoot: fake.url },
    log,
    redact: createRedactor([token]),
    fetchTimeoutMs: 5_000,
    sleep: scaledSleep,
  });
}

function opened(overrides: Partial<Notification> = {}): Notification {
  return {
    id: "prod.gateway.1:opened",
    type: "opened",
    component: "gateway",
    incidentId: "prod.gateway.1",
    severity: "critical",
    title: "gateway down on prod",
    lines: ["GET /readyz: connection refused (a < b & c).", "Failing since 2024-05-01 12:03 UTC."],
    buttons: ["ack", "mute", "reboot", "status"],
    ...overrides,
  };
}

const message = (notification: Notification = opened()): OutgoingMessage => ({
  box: "prod",
  notification,
});

async function rejection(promise: Promise<unknown>): Promise<TelegramSendError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TelegramSendError);
    expectNoToken(error);
    return error as TelegramSendError;
  }
  throw new Error("expected the call to fail");
}

/** The message, every cause's message and every own property, as deep as they go. */
function expectNoToken(value: unknown): void {
  const seen: string[] = [inspect(value, { depth: 12, showHidden: true })];
  for (let e: unknown = value; e instanceof Error; e = e.cause)
    seen.push(e.message, String(e.stack));
  if (value instanceof Error) seen.push(JSON.stringify(value));
  for (const text of seen) {
    expect(text).not.toContain(TOKEN_SECRET_PART);
  }
}

beforeAll(async () => {
  fake = await startTelegram({
    bots: [{ token: TOKEN, username: BOT, chats: [CHAT, -4_711, -4_712] }],
    time,
  });
  receiver = await listen((req, res, body) => {
    if (req.method === "POST" && req.url === "/hooks/s3cret-path") hookBodies.push(parseJson(body));
    sendJson(res, hookStatus, { ok: hookStatus < 300 });
  });
});

afterEach(async () => {
  fake.reset();
  await fake.control("clear-messages", {});
  await fake.control("clear-calls", {});
  sleeps.length = 0;
  hookBodies.length = 0;
  hookStatus = 200;
  // No log line of any test may carry the token.
  for (const line of logLines) expect(line).not.toContain(TOKEN_SECRET_PART);
  logLines.length = 0;
});

afterAll(async () => {
  await receiver?.close();
  await fake?.close();
});

describe("Telegram notifier against the local Bot API", () => {
  it("posts HTML with buttons, and threads follow-ups as replies", async () => {
    const telegram = notifier();
    const first = await telegram.send(message());
    expect(first.via).toBe("telegram");

    const update = opened({
      id: "prod.gateway.1:update:1",
      type: "update",
      severity: "info",
      title: "gateway down on prod: soft reboot requested",
      lines: ["Job 42 started."],
      buttons: undefined,
      replyTo: "prod.gateway.1",
      replyToMessageId: first.messageId,
    });
    const second = await telegram.send(message(update));
    // A reply to a message that is gone is still delivered (allow_sending_without_reply).
    const orphan = await telegram.send({ ...message(update), replyToMessageId: 999_999 });

    const [head, reply, late] = fake.messages({ bot: BOT, chatId: CHAT });
    expect(head).toMatchObject({
      messageId: first.messageId,
      parseMode: "HTML",
      text: renderNotification("prod", opened()).html,
      replyTo: null,
    });
    expect(head?.text).toContain("<b>gateway down on prod</b>");
    expect(head?.plainText).toContain("connection refused (a < b & c).");
    expect(head?.buttons.map((row) => row.map((b) => b.text))).toEqual([
      ["✅ Ack 1 h", "🔕 Mute 4 h"],
      ["🔄 Reboot…", "📋 Status"],
    ]);
    expect(decodeCallback(head?.buttons[0]?.[0]?.callbackData)).toEqual({
      action: "ack",
      box: "prod",
      arg: "1h",
      component: "gateway",
      // The incident it was drawn for: a press after it ended acks no newer one.
      incident: incidentRef("prod.gateway.1"),
    });
    expect(reply).toMatchObject({ messageId: second.messageId, replyTo: first.messageId });
    expect(reply?.buttons).toEqual([]);
    expect(late).toMatchObject({ messageId: orphan.messageId, replyTo: null });

    const [call] = fake.calls({ bot: BOT, method: "sendMessage" });
    expect(call?.params).toMatchObject({
      parse_mode: "HTML",
      link_preview_options: { is_disabled: true },
    });
  });

  it("sends again as plain text when Telegram rejects the HTML", async () => {
    const telegram = notifier();
    const messageId = await telegram.post({
      html: "<b>gateway down <p>on prod</b>",
      text: "gateway down on prod",
      keyboard: renderNotification("prod", opened()).keyboard,
    });
    const [sent] = fake.messages({ bot: BOT });
    expect(sent).toMatchObject({ messageId, parseMode: null, text: "gateway down on prod" });
    expect(sent?.buttons.flat()).toHaveLength(4);
    expect(fake.calls({ bot: BOT, method: "sendMessage" }).map((c) => c.status)).toEqual([
      400, 200,
    ]);
    expect(logLines.some((line) => line.includes("plain text"))).toBe(true);
  });

  it("waits out a short 429 once and delivers exactly one message", async () => {
    await fake.control("rate-limit", { retryAfter: 3, count: 1, method: "sendMessage" });
    const sent = await notifier().send(message());
    expect(sleeps).toEqual([3_000]);
    expect(fake.messages({ bot: BOT }).map((m) => m.messageId)).toEqual([sent.messageId]);
    expect(fake.calls({ bot: BOT, method: "sendMessage" }).map((c) => c.status)).toEqual([
      429, 200,
    ]);
  });

  it("retries a short 429 only once, then reports it", async () => {
    await fake.control("rate-limit", { retryAfter: 1, method: "sendMessage" });
    const error = await rejection(notifier().send(message()));
    expect(error).toMatchObject({ status: 429, retryAfterSeconds: 1, permanent: false });
    expect(sleeps).toEqual([1_000]);
    expect(fake.messages({ bot: BOT })).toEqual([]);
  });

  it("leaves a long 429 to a later cycle: no wait, nothing sent", async () => {
    await fake.control("rate-limit", { retryAfter: 60 });
    const error = await rejection(notifier().send(message()));
    expect(error).toBeInstanceOf(NotifyError);
    expect(error).toMatchObject({
      method: "sendMessage",
      status: 429,
      retryAfterSeconds: 60,
      permanent: false,
    });
    expect(error.message).toMatch(/after 60 s/);
    expect(sleeps).toEqual([]);
    expect(fake.messages({ bot: BOT })).toEqual([]);
  });

  it("reports Telegram down as a transient network failure, without the token", async () => {
    await fake.control("down", {});
    const error = await rejection(notifier().send(message()));
    expect(error.permanent).toBe(false);
    expect(error.status).toBeUndefined();
    expect(error.message).toMatch(/Could not reach the Telegram Bot API for sendMessage/);
    expect(error.message).toMatch(/public network/);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("gives up on a hung Telegram after the fetch timeout, as a transient failure", async () => {
    await fake.control("latency", { ms: 2_000 });
    const hung = createTelegramNotifier({
      alerts: { botToken: TOKEN, chatId: CHAT, apiRoot: fake.url },
      log,
      redact: createRedactor([TOKEN]),
      fetchTimeoutMs: 200,
    });
    const error = await rejection(hung.send(message()));
    expect(error.permanent).toBe(false);
    expect(error.message).toMatch(/no answer within 0.2 s/);
  });

  it("treats 5xx answers (JSON or an nginx HTML page) as transient", async () => {
    await fake.control("error", { status: 500, count: 1 });
    const json = await rejection(notifier().send(message()));
    expect(json).toMatchObject({ status: 500, permanent: false });
    await fake.control("error", { status: 502, count: 1 });
    const html = await rejection(notifier().send(message()));
    expect(html.permanent).toBe(false);
    expect(html.message).toMatch(/not JSON/);
  });

  it("reports a revoked token as permanent, pointing at the config", async () => {
    await fake.control("revoke-token", { bot: BOT });
    const error = await rejection(notifier().send(message()));
    expect(error).toMatchObject({ status: 401, permanent: true });
    expect(error.message).toMatch(/alerts\.botToken/);
  });

  it("edits messages and answers button presses for the receiver", async () => {
    const telegram = notifier();
    const { messageId } = await telegram.send(message());
    const acked = { html: "<b>gateway down on prod</b>\nAcked by @ops for 1 h.", text: "x" };
    await telegram.editMessage(messageId, acked);
    // Pressing the same button twice edits to the same content: not an error.
    await telegram.editMessage(messageId, acked);
    const edits = fake.messages({ bot: BOT }).filter((m) => m.edited);
    expect(edits).toHaveLength(1);
    expect(edits[0]).toMatchObject({ messageId, parseMode: "HTML", buttons: [] });

    const { callbackQueryId } = fake.injectCallback({
      bot: BOT,
      chatId: CHAT,
      userId: 4242,
      messageId,
      data: "1:s:prod",
    });
    await telegram.answerCallback(callbackQueryId, { text: "Acked for 1 h" });
    const again = await rejection(telegram.answerCallback(callbackQueryId));
    expect(again).toMatchObject({ status: 400, permanent: true });
  });
});

describe("an incident's first message once it is over", () => {
  it("'resolved' replies and rewrites the first message: resolved, its duration, no buttons", async () => {
    const telegram = notifier();
    const head = await telegram.send(message());
    const before = fake.messages({ bot: BOT }).find((m) => m.messageId === head.messageId);
    expect(before?.buttons.flat().map((b) => b.text)).toContain("✅ Ack 1 h");
    const resolved = opened({
      id: "prod.gateway.1:resolved",
      type: "resolved",
      severity: "info",
      title: "resolved: gateway down on prod",
      lines: ["Resolved after 7 min."],
      buttons: undefined,
      replyTo: "prod.gateway.1",
      replyToMessageId: head.messageId,
      edit: {
        messageId: head.messageId,
        title: "resolved: gateway down on prod",
        lines: [
          "State: resolved after 7 min (failing since 2024-05-01 12:03 UTC, resolved 2024-05-01 12:10 UTC).",
        ],
      },
    });
    const reply = await telegram.send(message(resolved));
    const messages = fake.messages({ bot: BOT, chatId: CHAT });
    const first = messages.filter((m) => m.messageId === head.messageId).at(-1);
    expect(first).toMatchObject({ edited: true, buttons: [] });
    expect(first?.plainText).toContain("resolved: gateway down on prod");
    expect(first?.plainText).toContain("State: resolved after 7 min");
    expect(first?.plainText).not.toContain("connection refused");
    expect(messages.find((m) => m.messageId === reply.messageId)).toMatchObject({
      replyTo: head.messageId,
      disableNotification: false,
    });
  });

  it("still counts 'resolved' as delivered when the first message cannot be edited any more", async () => {
    const telegram = notifier();
    const resolved = opened({
      id: "prod.gateway.9:resolved",
      type: "resolved",
      buttons: undefined,
      edit: {
        messageId: 987_654,
        title: "resolved: gateway down on prod",
        lines: ["State: resolved."],
      },
    });
    const sent = await telegram.send(message(resolved));
    expect(sent.via).toBe("telegram");
    expect(logLines.some((l) => l.includes("was not marked resolved"))).toBe(true);
  });
});

describe("secondary webhook", () => {
  const hookUrl = (): string => `${receiver.url}/hooks/s3cret-path`;

  function fallback(): ReturnType<typeof withFallback> {
    return withFallback(
      notifier(),
      createWebhookNotifier({ url: hookUrl(), timeoutMs: 2_000, redact: createRedactor([TOKEN]) }),
      log,
    );
  }

  it("gets the plain JSON when Telegram is down, once per notification, and the failure still shows", async () => {
    await fake.control("down", {});
    const first = await rejection(fallback().send(message()));
    expect(first.permanent).toBe(false);
    expect(hookBodies).toHaveLength(1);
    const body = hookBodies[0] as WebhookBody;
    expect(body).toMatchObject({
      id: "prod.gateway.1:opened",
      box: "prod",
      type: "opened",
      component: "gateway",
      severity: "critical",
      title: "gateway down on prod",
      lines: opened().lines,
      incidentId: "prod.gateway.1",
    });
    expect(Number.isNaN(Date.parse(body.at))).toBe(false);
    expect(JSON.stringify(body)).not.toContain(TOKEN_SECRET_PART);

    // The next cycle hands the same notification out again as a resend: no second post.
    await rejection(fallback().send({ ...message(), resend: true }));
    expect(hookBodies).toHaveLength(1);
    expect(logLines.some((line) => line.includes("s3cret-path"))).toBe(false);
  });

  it("is not used for a 429, is used for a revoked alert token, and never hides the Telegram error", async () => {
    await fake.control("rate-limit", { retryAfter: 60 });
    await rejection(fallback().send(message()));
    expect(hookBodies).toEqual([]);
    fake.reset();
    // A revoked alert token loses the alert channel for good: the webhook is all that is left.
    await fake.control("revoke-token", { bot: BOT });
    expect((await rejection(fallback().send(message()))).status).toBe(401);
    expect(hookBodies).toHaveLength(1);
    hookBodies.length = 0;

    fake.reset();
    await fake.control("down", {});
    hookStatus = 500;
    const error = await rejection(fallback().send(message()));
    expect(error.permanent).toBe(false);
    expect(logLines.some((line) => line.includes("secondary webhook failed too"))).toBe(true);
  });

  it("delivers through Telegram when it is up, without touching the webhook", async () => {
    const sent = await fallback().send(message());
    expect(sent.via).toBe("telegram");
    expect(hookBodies).toEqual([]);
  });
});

describe("quiet notifications", () => {
  it("rings for the first alert, sends reminders and the resolved notice quietly, as configured", async () => {
    const quietly = (quietTypes?: Notification["type"][]) =>
      createTelegramNotifier({
        alerts: {
          botToken: TOKEN,
          chatId: CHAT,
          apiRoot: fake.url,
          ...(quietTypes ? { quietTypes } : {}),
        },
        log,
        redact: createRedactor([TOKEN]),
      });
    const defaults = parseConfig({ ...minimalConfig(), alerts: { botToken: TOKEN, chatId: CHAT } });
    const telegram = quietly(defaults.alerts.quietTypes);
    for (const type of ["opened", "reminder", "update", "resolved", "needs-human"] as const) {
      await telegram.send(message(opened({ id: `prod.gateway.1:${type}`, type })));
    }
    // A flap group's alert is quiet, the news that one stays down rings, whatever the list says.
    await telegram.send(message(opened({ id: "prod.gateway.2:opened", quiet: true })));
    await telegram.send(
      message(opened({ id: "prod.gateway.2:update:1", type: "update", quiet: false })),
    );
    expect(fake.messages({ bot: BOT }).map((m) => m.disableNotification)).toEqual([
      false,
      true,
      true,
      true,
      false,
      true,
      false,
    ]);
    await fake.control("clear-messages", {});
    await quietly(["opened"]).send(message());
    expect(fake.messages({ bot: BOT }).map((m) => m.disableNotification)).toEqual([true]);
  });
});

describe("the watchdog's alert channel against the local Bot API", () => {
  const GROUP = -4_711;
  const config = (secondary?: string) =>
    parseConfig({
      boxes: ["prod", "lab"].map((name) => ({
        name,
        serverId: `srv-${name}`,
        gateway: { url: "http://127.0.0.1:1", token: "gw-token" },
        telegram: { botToken: "7099999999:gateway-bot-token" },
        maas: { baseUrl: "http://127.0.0.1:1/v1", apiKey: "maas-key", model: "m" },
      })),
      alerts: {
        botToken: TOKEN,
        chatId: GROUP,
        apiRoot: fake.url,
        ...(secondary ? { secondaryWebhookUrl: secondary } : {}),
      },
      cloud: { projectId: "p" },
      state: { bucket: "clawwatch-test" },
    });
  const channelFor = (store: MemoryStateStore, secondary?: string) =>
    createAlertChannelNotifier({
      config: config(secondary),
      store,
      log,
      clock: () => 1_000,
      redact: createRedactor([TOKEN]),
    });

  it("follows a group that became a supergroup: resends, stores the id, tells the chat and the audit log", async () => {
    const store = new MemoryStateStore();
    const first = await channelFor(store);
    await first.notifier.send(message());
    const { newChatId } = (await fake.control("migrate-chat", { bot: BOT, chatId: GROUP })) as {
      newChatId: number;
    };
    await first.notifier.send(message(opened({ id: "prod.gateway.1:reminder-1" })));
    const moved = fake.messages({ bot: BOT, chatId: newChatId }).map((m) => m.plainText);
    expect(moved).toEqual([
      expect.stringMatching(/This chat is now the alert chat[\s\S]*from -4711 to -1000000004711/),
      expect.stringContaining("gateway down on prod"),
    ]);
    expect(store.alertChannel).toMatchObject({ chatId: newChatId, migratedFrom: GROUP });
    expect(store.events.map((e) => [e.box, e.type])).toEqual([
      ["prod", "alert-chat-migrated"],
      ["lab", "alert-chat-migrated"],
    ]);
    expect((await first.channel())?.chatId).toBe(newChatId);

    // The next invocation sends to the new id at once: no refused call first.
    await fake.control("clear-calls", {});
    const next = await channelFor(store);
    await next.notifier.send(message(opened({ id: "prod.gateway.1:reminder-2" })));
    const calls = fake.calls({ bot: BOT, method: "sendMessage" });
    expect(calls.map((c) => [c.params.chat_id, c.status])).toEqual([[newChatId, 200]]);
  });

  it("mirrors a permanent failure of the alert chat to the secondary webhook and records it", async () => {
    const store = new MemoryStateStore();
    await fake.control("remove-bot", { bot: BOT, chatId: GROUP - 1 });
    store.alertChannel = { version: 1, chatId: GROUP - 1, migratedFrom: GROUP };
    const kicked = await channelFor(store, `${receiver.url}/hooks/s3cret-path`);
    const error = await rejection(kicked.notifier.send(message()));
    expect(error.status).toBe(403);
    expect(hookBodies).toEqual([expect.objectContaining({ title: "gateway down on prod" })]);
    expect(store.alertChannel?.failure).toMatchObject({
      status: 403,
      error: expect.stringContaining("kicked"),
    });
    expect((await kicked.channel())?.failure?.status).toBe(403);
    expect(store.events.map((e) => e.type)).toEqual([
      "alert-channel-failed",
      "alert-channel-failed",
    ]);
    // A resend of the same notification is not mirrored again.
    await rejection(kicked.notifier.send({ ...message(), resend: true }));
    expect(hookBodies).toHaveLength(1);
    // Chat not found is just as permanent.
    await fake.control("forget-chat", { bot: BOT, chatId: GROUP - 2 });
    store.alertChannel = { version: 1, chatId: GROUP - 2, migratedFrom: GROUP };
    const gone = await channelFor(store, `${receiver.url}/hooks/s3cret-path`);
    expect((await rejection(gone.notifier.send(message()))).status).toBe(400);
    expect(hookBodies).toHaveLength(2);
  });

  it("reads the alert chat record only when it sends or is asked, once per invocation", async () => {
    const store = new MemoryStateStore();
    const loads = vi.spyOn(store, "loadAlertChannel");
    const idle = await channelFor(store);
    expect(loads).not.toHaveBeenCalled();
    expect(await idle.channel()).toBeUndefined();
    expect(await idle.channel()).toBeUndefined();
    expect(loads).toHaveBeenCalledTimes(1);
  });
});

function minimalConfig() {
  return {
    boxes: [
      {
        name: "prod",
        serverId: "srv-prod",
        gateway: { url: "http://127.0.0.1:1", token: "gw-token" },
        telegram: { botToken: "7099999999:gateway-bot-token" },
        maas: { baseUrl: "http://127.0.0.1:1/v1", apiKey: "maas-key", model: "m" },
      },
    ],
    cloud: { projectId: "p" },
    state: { bucket: "clawwatch-test" },
  };
}
