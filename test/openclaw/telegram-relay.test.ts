import { Api, HttpError } from "grammy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startTelegramRelay,
  type TelegramRelay,
} from "../../infra/local/guest/openclaw-telegram-relay";
import { timeScale } from "../../infra/local/service";
import { startTelegram, type TelegramService } from "../../infra/local/telegram";

/**
 * The relay the real gateway reaches Telegram through: transparent, except that it can stall
 * polling (the fault the real gateway cannot be told to have). Real grammY against the fake.
 */
const USER = 4_242_424;
// The user has started the bot, so Telegram knows their private chat (else "chat not found").
const BOT = {
  token: "333333:relay-SECRET_xyz",
  username: "relay_bot",
  firstName: "Relay",
  chats: [USER],
};

let fake: TelegramService;
let relay: TelegramRelay;
let api: Api;

beforeAll(async () => {
  fake = await startTelegram({ bots: [BOT], time: timeScale(0.01) });
  relay = await startTelegramRelay(fake.url);
  api = new Api(BOT.token, { apiRoot: relay.url });
});

afterAll(async () => {
  await relay?.close();
  await fake?.close();
});

describe("Telegram relay of a real gateway", () => {
  it("passes calls through both ways", async () => {
    expect((await api.getMe()).username).toBe("relay_bot");
    await api.sendMessage(USER, "hello through the relay");
    expect(fake.messages({ bot: "relay_bot" }).map((m) => m.plainText)).toContain(
      "hello through the relay",
    );
  });

  it("stalled: a waiting poll ends empty, new polls never reach Telegram; resume delivers", async () => {
    const waiting = api.getUpdates({ timeout: 20 });
    await new Promise((r) => setTimeout(r, 200));
    relay.stall();
    expect(await waiting).toEqual([]);
    fake.injectMessage({ bot: "relay_bot", chatId: USER, userId: USER, text: "are you there?" });
    const callsBefore = fake.calls({ method: "getUpdates" }).length;
    expect(await api.getUpdates({ timeout: 1 })).toEqual([]);
    expect(fake.calls({ method: "getUpdates" }).length).toBe(callsBefore);

    const held = api.getUpdates({ timeout: 20 });
    await new Promise((r) => setTimeout(r, 100));
    relay.resume();
    expect(await held).toEqual([]);
    const updates = await api.getUpdates({ timeout: 1 });
    expect(updates.map((u) => u.message?.text)).toEqual(["are you there?"]);
  });

  it("a Telegram that is down is a network error through the relay too", async () => {
    await fake.control("down", {});
    try {
      await expect(api.getMe()).rejects.toBeInstanceOf(HttpError);
    } finally {
      await fake.control("up", {});
    }
    expect((await api.getMe()).username).toBe("relay_bot");
  });
});
