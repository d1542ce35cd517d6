import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFunctions } from "../../build.mjs";
import { registerWebhook } from "../../infra/cli/telegram";
import { ensureApig, upsertFunction } from "../../infra/deploy/functions";
import { LOCAL_AGENCIES, localGateway, localProductConfig } from "../../infra/local/product";
import { requestHttps } from "../../infra/local/tls";
import {
  eventually,
  FAST_POLICY,
  FAST_PROBES,
  type Harness,
  type SentMessage,
  startHarness,
} from "./harness";

/**
 * The bundled receiver behind the local APIG trigger, with the alert bot's webhook registered at
 * the Telegram fake: operator updates travel fake Telegram → APIG → function → OBS / ECS, and the
 * deployed watchdog reads the commands on its next cycle.
 */
let h: Harness;
let dir: string;
let webhookUrl: string;
let webhookSecret: string;
const RECEIVER = "clawwatch-telegram-webhook";

beforeAll(async () => {
  h = await startHarness(4);
  dir = await mkdtemp(join(tmpdir(), "clawwatch-receiver-"));
  const [built] = await buildFunctions({ outDir: dir, names: ["telegram-webhook"] });
  if (!built) throw new Error("no telegram-webhook bundle");
  const product = localProductConfig(h.cloud.endpoints, {
    policy: FAST_POLICY,
    probes: FAST_PROBES,
  });
  webhookSecret = product.webhookSecret;
  await upsertFunction(h.target, {
    name: RECEIVER,
    zipPath: built.zipPath,
    env: product.env,
    secrets: product.secrets,
    agency: LOCAL_AGENCIES.receiver,
    memoryMb: 256,
    timeoutSeconds: 30,
    maxInstances: 1,
  });
  const e = h.cloud.endpoints;
  webhookUrl = (await ensureApig(h.target, RECEIVER, "/telegram", await localGateway(e))).url;
  await registerWebhook(
    { botToken: e.telegramBots.alerts.token, apiRoot: e.telegram, webhookSecret },
    webhookUrl,
    { secretUnchanged: false },
  );
}, 120_000);

afterAll(async () => {
  await h?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const e = () => h.cloud.endpoints;
const bot = () => e().telegramBots.alerts.username;

async function say(text: string, userId = e().operatorUserId, chatId = e().alertChatId) {
  return (await h.cloud.control("telegram", "inject-message", {
    bot: bot(),
    chatId,
    userId,
    text,
  })) as {
    updateId: number;
  };
}

async function press(messageId: number, data: string, userId = e().operatorUserId) {
  return (await h.cloud.control("telegram", "inject-callback", {
    bot: bot(),
    chatId: e().alertChatId,
    userId,
    messageId,
    data,
  })) as { updateId: number; callbackQueryId: string };
}

async function chat(): Promise<SentMessage[]> {
  return (await h.cloud.control("telegram", "messages", {
    bot: bot(),
    chatId: e().alertChatId,
  })) as SentMessage[];
}

/** The first message after the first `after` messages of the chat that matches. */
async function reply(matching: RegExp, after = 0): Promise<SentMessage> {
  return eventually(
    async () => (await chat()).slice(after).find((m) => matching.test(m.plainText)),
    `a reply matching ${matching}`,
  );
}

async function pendingUpdates(): Promise<number> {
  const info = (await fetch(
    `${e().telegram}/bot${e().telegramBots.alerts.token}/getWebhookInfo`,
  ).then((r) => r.json())) as { result: { pending_update_count: number } };
  return info.result.pending_update_count;
}

const delivered = () =>
  eventually(async () => (await pendingUpdates()) === 0, "the webhook to take every update");

describe("Telegram receiver on the local cloud", () => {
  it("/status answers in the chat within the webhook's time", async () => {
    await say("/status box-1");
    const status = await reply(/box-1/);
    expect(status.plainText).toMatch(/gateway/i);
    await delivered();
  });

  it("an Ack button stops reminders and pauses remediation in the next watchdog cycle", async () => {
    // Hung: a killed gateway would be back by itself (systemd), with nothing to ack.
    await h.cloud.control("ecs", "hang", { serverId: h.serverOf("box-2") });
    for (let i = 0; i < 3; i++) await h.cycle("box-2");
    expect(await h.ecsActions("box-2")).toEqual(["reboot SOFT"]);
    const opened = (await h.alerts("box-2")).find((m) =>
      m.buttons.flat().some((b) => /Ack/.test(b.text)),
    );
    const ack = opened?.buttons.flat().find((b) => /Ack/.test(b.text));
    if (!opened || !ack?.callbackData) throw new Error("no Ack button on the incident message");
    await press(opened.messageId, ack.callbackData);
    await delivered();
    // The reboot brought the guest back; hang it again: while acked, no further rung is taken.
    await eventually(
      async () => (await h.server("box-2")).guestPid !== undefined,
      "the guest to boot",
    );
    await h.cloud.control("ecs", "hang", { serverId: h.serverOf("box-2") });
    for (let i = 0; i < 6; i++) {
      await h.cycle("box-2");
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(await h.ecsActions("box-2")).toEqual(["reboot SOFT"]);
    const state = (await h.stateOf("box-2")) as {
      policy: { incidents: { gateway?: { ackedUntil?: number; ackedBy?: string } } };
    };
    expect(state.policy.incidents.gateway?.ackedUntil).toBeGreaterThan(Date.now());
  });

  it("a resolved incident's first message has no buttons; a stale Ack and /ack are refused and the ladder still acts", async () => {
    const serverId = h.serverOf("box-4");
    await h.cloud.control("ecs", "hang", { serverId });
    for (let i = 0; i < 3; i++) await h.cycle("box-4");
    expect(await h.ecsActions("box-4")).toEqual(["reboot SOFT"]);
    const head = (await h.alerts("box-4")).find((m) =>
      m.buttons.flat().some((b) => /Ack/.test(b.text)),
    );
    const ack = head?.buttons.flat().find((b) => /Ack/.test(b.text));
    if (!head || !ack?.callbackData) throw new Error("no Ack button on the incident message");
    await eventually(async () => {
      await h.cycle("box-4");
      return (await h.edits("box-4")).some((m) => m.messageId === head.messageId);
    }, "the first message rewritten as resolved");
    const rewritten = (await h.edits("box-4")).filter((m) => m.messageId === head.messageId);
    expect(rewritten.at(-1)?.buttons).toEqual([]);
    expect(rewritten.at(-1)?.plainText).toMatch(/resolved: gateway down on box-4/);

    // The button still sits in chats that cached the message, and /ack can be typed any time.
    const seen = (await chat()).length;
    await press(head.messageId, ack.callbackData);
    await say("/ack box-4 2h");
    await delivered();
    await reply(/Nothing open on box-4: nothing acked/, seen);
    const answers = (await h.cloud.control("telegram", "calls", {
      bot: bot(),
      method: "answerCallbackQuery",
    })) as { params: { text?: string } }[];
    expect(
      answers.some((a) => /That incident is over: nothing acked/.test(a.params.text ?? "")),
    ).toBe(true);

    // Nothing was paused: the next hang is healed as the first one was.
    await eventually(async () => (await h.server("box-4")).guestPid !== undefined, "the guest");
    await h.cloud.control("ecs", "hang", { serverId });
    await eventually(async () => {
      await h.cycle("box-4");
      return (await h.ecsActions("box-4")).length > 1;
    }, "the second hang's reboot");
    expect(await h.ecsActions("box-4")).toEqual(["reboot SOFT", "reboot SOFT"]);
    const state = (await h.stateOf("box-4")) as {
      policy: { incidents: { gateway?: { ackedUntil?: number } } };
    };
    expect(state.policy.incidents.gateway?.ackedUntil).toBeUndefined();
  });

  it("/reboot + confirm reboots exactly once, even when Telegram delivers the press twice", async () => {
    const seen = (await chat()).length;
    await say("/reboot box-3");
    const prompt = await eventually(
      async () =>
        (await chat()).slice(seen).find((m) => m.buttons.flat().some((b) => /Yes/.test(b.text))),
      "the confirmation prompt",
    );
    expect(prompt.plainText).toMatch(/box-3/);
    const yes = prompt.buttons.flat().find((b) => /Yes/.test(b.text));
    if (!yes?.callbackData) throw new Error("no confirmation button");
    const { updateId } = await press(prompt.messageId, yes.callbackData);
    await delivered();
    await h.cloud.control("telegram", "redeliver", { bot: bot(), updateId });
    await press(prompt.messageId, yes.callbackData);
    await delivered();
    await eventually(async () => (await h.ecsActions("box-3")).length > 0, "the reboot");
    await new Promise((r) => setTimeout(r, 500));
    expect(await h.ecsActions("box-3")).toEqual(["reboot SOFT"]);
  });

  it("refuses forged and hostile requests at the APIG URL without acting or crashing", async () => {
    const update = {
      update_id: 9_000_001,
      message: {
        message_id: 1,
        date: 0,
        chat: { id: e().alertChatId, type: "group" },
        from: { id: e().operatorUserId, is_bot: false, first_name: "x" },
        text: "/reboot box-1",
      },
    };
    // The APIG trigger's URL is HTTPS with the local cloud's self-signed certificate.
    const post = (headers: Record<string, string>, body: string) =>
      requestHttps(webhookUrl, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
        ca: [e().apigCertificate],
      });
    expect((await post({}, JSON.stringify(update))).status).toBe(401);
    expect(
      (
        await post(
          { "x-telegram-bot-api-secret-token": "wrong-secret-wrong-secret" },
          JSON.stringify(update),
        )
      ).status,
    ).toBe(401);
    const secret = { "x-telegram-bot-api-secret-token": webhookSecret };
    expect((await post(secret, "{not json")).status).toBeGreaterThanOrEqual(400);
    const stranger = {
      ...update,
      update_id: 9_000_002,
      message: { ...update.message, from: { ...update.message.from, id: 666 } },
    };
    expect((await post(secret, JSON.stringify(stranger))).status).toBe(200);
    const before = await chat();
    const otherChat = {
      ...update,
      update_id: 9_000_003,
      message: { ...update.message, chat: { id: 777, type: "private" } },
    };
    expect((await post(secret, JSON.stringify(otherChat))).status).toBe(200);
    expect(await chat()).toHaveLength(before.length);
    expect(await h.ecsActions("box-1")).toEqual([]);
  });

  it("/mute silences a box's alerts and pauses its actions; /unmute ends it", async () => {
    const seen = (await chat()).length;
    await say("/mute box-1 1h planned maintenance");
    await reply(/mute/i, seen);
    await delivered();
    await h.cloud.control("ecs", "hang", { serverId: h.serverOf("box-1") });
    const before = (await h.alerts("box-1")).filter((m) => /down/i.test(m.plainText)).length;
    for (let i = 0; i < 4; i++) await h.cycle("box-1");
    expect((await h.alerts("box-1")).filter((m) => /down/i.test(m.plainText))).toHaveLength(before);
    expect(await h.ecsActions("box-1")).toEqual([]);
    const state = (await h.stateOf("box-1")) as { policy: { mute?: { reason: string } } };
    expect(state.policy.mute?.reason).toMatch(/maintenance/);
    await say("/unmute box-1");
    await delivered();
    await h.cycle("box-1");
    expect(
      ((await h.stateOf("box-1")) as { policy: { mute?: unknown } }).policy.mute,
    ).toBeUndefined();
  });

  it("no secret reaches a log, a reply or an HTTP answer", async () => {
    const invocations = (await h.cloud.control("functiongraph", "invocations", {
      functionName: RECEIVER,
      limit: 500,
    })) as { log: string; result?: string }[];
    // The emulator's view also holds each event (with Telegram's secret header): only what the
    // function wrote and answered is checked, as FunctionGraph's own logs hold no events.
    const written = invocations.map((i) => ({ log: i.log, result: i.result }));
    const everything = JSON.stringify({ written, chat: await chat() });
    for (const secret of [...h.secrets, webhookSecret]) expect(everything).not.toContain(secret);
  });
});
