import { beforeEach, describe, expect, it } from "vitest";
import { type Config, parseConfig, secretsOf } from "../../shared/config";
import { encodeCallback } from "../../shared/notify/callback-data";
import type { RenderedMessage } from "../../shared/notify/render";
import { initialState, STATE_VERSION } from "../../shared/policy";
import {
  type ChatPort,
  confirmKey,
  createReceiver,
  type Invocation,
  MemoryLedger,
  type Receiver,
  type ReceiverServices,
  SECRET_HEADER,
  type WebhookRequest,
} from "../../shared/receiver";
import { createJsonLogger } from "../../shared/runtime/logger";
import { createRedactor } from "../../shared/runtime/redact";
import { MemoryStateStore } from "../../shared/state/memory";
import type { CycleReport } from "../../shared/watchdog/cycle";
import { MemoryCompute } from "../support/compute";
import { gatewayResult, maasResult, observations, telegramResult } from "../support/observations";

const H = 3_600_000;
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const SECRET = "hook_secret-0123456789ABCDEF";
const ALERT_TOKEN = "222222:ALERTS-token-abcdefghijklmnopqrstuvwxyz";
const CHAT = -1001234;
const ANN = { id: 7, username: "ann" };
const STRANGER = { id: 666, username: "mallory" };

function configFor(boxes: string[], extra: Record<string, unknown> = {}): Config {
  return parseConfig({
    boxes: boxes.map((name) => ({
      name,
      serverId: `srv-${name}`,
      gateway: { url: "http://127.0.0.1:1", token: `gw-token-${name}-secret` },
      telegram: { botToken: "111111:GATEWAY-token-abcdefghijklmnopqrstuvwxyz" },
      maas: { baseUrl: "http://127.0.0.1:2/v1", apiKey: `maas-key-${name}`, model: "m" },
      ...extra,
    })),
    alerts: {
      botToken: ALERT_TOKEN,
      chatId: CHAT,
      allowedUserIds: [ANN.id],
      webhookSecret: SECRET,
    },
    cloud: { projectId: "p" },
    state: { bucket: "bucket-1" },
  });
}

interface Posted {
  message: RenderedMessage;
  chatId: number | string | undefined;
  messageId: number;
  replyTo: number | undefined;
}

class MemoryChat implements ChatPort {
  posts: Posted[] = [];
  edits: { messageId: number; message: RenderedMessage }[] = [];
  answers: { queryId: string; text: string | undefined }[] = [];
  private nextId = 500;

  async post(
    message: RenderedMessage,
    options: { chatId?: number | string; replyToMessageId?: number } = {},
  ) {
    this.nextId += 1;
    this.posts.push({
      message,
      chatId: options.chatId,
      messageId: this.nextId,
      replyTo: options.replyToMessageId,
    });
    return this.nextId;
  }
  async editMessage(messageId: number, message: RenderedMessage) {
    this.edits.push({ messageId, message });
  }
  async answerCallback(queryId: string, options: { text?: string } = {}) {
    this.answers.push({ queryId, text: options.text });
  }
  async botUsername() {
    return "alerts_bot";
  }
  texts(): string[] {
    return [...this.posts.map((p) => p.message.html), ...this.edits.map((e) => e.message.html)];
  }
}

let config: Config;
let store: MemoryStateStore;
let ledger: MemoryLedger;
let chat: MemoryChat;
let compute: MemoryCompute;
let diagnosed: string[];
let diagnose: (box: { name: string }) => Promise<CycleReport>;
let logs: string[];
let now: number;
let servicesBuilt: number;
let nextUpdateId: number;

function reportFor(box: string): CycleReport {
  return {
    box,
    mode: "dry-run",
    decided: true,
    observations: observations({
      gateway: gatewayResult("ok", { detail: "ready" }),
      maas: maasResult("ok", { latencyMs: 9, detail: "/models answered" }),
      telegram: telegramResult("ok", { latencyMs: 7, detail: "getMe ok" }),
    }),
    plan: [],
    outcomes: [],
    openIncidents: [],
    errors: [],
    durationMs: 20,
  };
}

function setUp(boxes: string[] = ["prod"], extra: Record<string, unknown> = {}) {
  config = configFor(boxes, extra);
  store = new MemoryStateStore();
  ledger = new MemoryLedger();
  chat = new MemoryChat();
  compute = new MemoryCompute();
  diagnosed = [];
  diagnose = async (box) => {
    diagnosed.push(box.name);
    return reportFor(box.name);
  };
  logs = [];
  now = NOW;
  servicesBuilt = 0;
  nextUpdateId = 1000;
}

function receiver(settings = {}): Receiver {
  // A short settle time: the claim is still written and read back, the test just waits less.
  return createReceiver({ config, clock: () => now, settings: { claimSettleMs: 5, ...settings } });
}

function invocation(): Invocation {
  const services: ReceiverServices = {
    store,
    ledger,
    chat,
    compute: async () => compute,
    diagnose: (box) => diagnose(box),
  };
  return {
    requestId: "req-1",
    log: createJsonLogger({ secrets: secretsOf(config), write: (line) => logs.push(line) }),
    redact: createRedactor(secretsOf(config)),
    remainingMs: () => 30_000,
    services: async () => {
      servicesBuilt += 1;
      return services;
    },
  };
}

function request(update: unknown, secret: string | null = SECRET): WebhookRequest {
  return {
    method: "POST",
    headers: secret === null ? {} : { [SECRET_HEADER]: secret },
    body: Buffer.from(JSON.stringify(update)),
  };
}

function commandUpdate(text: string, from = ANN, chatId = CHAT, updateId = nextUpdateId++) {
  return {
    update_id: updateId,
    message: {
      message_id: updateId + 1,
      date: 1,
      chat: { id: chatId, type: "supergroup" },
      from: { ...from, is_bot: false, first_name: "x" },
      text,
    },
  };
}

function buttonUpdate(
  data: string,
  messageId: number,
  from = ANN,
  chatId = CHAT,
  updateId = nextUpdateId++,
) {
  return {
    update_id: updateId,
    callback_query: {
      id: `q-${updateId}`,
      from: { ...from, is_bot: false, first_name: "x" },
      chat_instance: "1",
      data,
      message: { message_id: messageId, date: 1, chat: { id: chatId, type: "supergroup" } },
    },
  };
}

async function send(app: Receiver, update: unknown, secret: string | null = SECRET) {
  return app.handle(request(update, secret), invocation());
}

function commands() {
  return [...store.commands.values()];
}

function expectNoSecretsIn(texts: readonly string[]) {
  const secrets = [...secretsOf(config), SECRET];
  for (const text of texts) for (const secret of secrets) expect(text).not.toContain(secret);
}

beforeEach(() => setUp());

/** The stored state shows an open incident: what an ack needs to apply to. */
async function openIncident(box = "prod", component: "gateway" | "maas" = "gateway") {
  const state = initialState(box);
  state.incidents[component] = {
    id: `${box}.${component}.${NOW - H}`,
    component,
    cause: component === "gateway" ? "down" : "auth",
    openedAt: NOW - H,
    firstFailureAt: NOW - H,
    detail: "failing",
    reminderCount: 0,
    seq: 0,
    steps: [],
  };
  await store.save(box, { version: STATE_VERSION, savedAt: NOW, policy: state, probes: {} });
}

describe("receiver: hostile and foreign input", () => {
  it("answers 401 without or with a wrong secret, before building any adapter", async () => {
    const app = receiver();
    expect((await send(app, commandUpdate("/reboot"), null)).status).toBe(401);
    expect((await send(app, commandUpdate("/reboot"), "nope-nope-nope-nope")).status).toBe(401);
    expect(servicesBuilt).toBe(0);
    expect(chat.posts).toHaveLength(0);
    expectNoSecretsIn(logs);
  });

  it("answers 4xx to oversized and malformed bodies, 200 to JSON that is no update", async () => {
    const app = receiver({ maxBodyBytes: 2_000 });
    const big = commandUpdate(`/mute 1h ${"x".repeat(3_000)}`);
    expect((await send(app, big)).status).toBe(413);
    const broken = {
      method: "POST",
      headers: { [SECRET_HEADER]: SECRET },
      body: Buffer.from("{nope"),
    };
    expect((await app.handle(broken, invocation())).status).toBe(400);
    expect((await send(app, { hello: "world" })).status).toBe(200);
    expect(servicesBuilt).toBe(0);
  });

  it("ignores a stranger in the alert chat and anyone in another chat", async () => {
    const app = receiver();
    expect((await send(app, commandUpdate("/ack 2h", STRANGER))).status).toBe(200);
    expect((await send(app, commandUpdate("/ack 2h", ANN, -999))).status).toBe(200);
    const press = buttonUpdate(
      encodeCallback({ action: "reboot-confirm", box: "prod" }),
      5,
      STRANGER,
    );
    expect((await send(app, press)).status).toBe(200);
    expect(commands()).toHaveLength(0);
    expect(chat.posts).toHaveLength(0);
    expect(compute.calls).toEqual([]);
    expect(ledger.records.size).toBe(0);
    expect(chat.answers).toEqual([{ queryId: press.callback_query.id, text: "Not allowed." }]);
    expect(logs.join("\n")).toContain("outside the allow list");
    expectNoSecretsIn(logs);
  });

  it("refuses buttons naming an unknown box and data it does not understand", async () => {
    const app = receiver();
    await send(app, buttonUpdate(encodeCallback({ action: "ack", box: "ghost", arg: "1h" }), 5));
    await send(app, buttonUpdate("1:R:prod:x:y:z", 5));
    await send(app, buttonUpdate("ack:inc-1", 5));
    expect(commands()).toHaveLength(0);
    expect(chat.answers.map((a) => a.text)).toEqual([
      expect.stringContaining('Unknown box "ghost"'),
      expect.stringContaining("not understood"),
      expect.stringContaining("not understood"),
    ]);
  });

  it("tells an unknown command apart and ignores commands for another bot", async () => {
    const app = receiver();
    await send(app, commandUpdate("/frobnicate now"));
    await send(app, commandUpdate("/status@gateway_bot"));
    expect(chat.posts.map((p) => p.message.text)).toEqual([
      expect.stringContaining("Unknown command /frobnicate"),
    ]);
    expect(diagnosed).toEqual([]);
    await send(app, commandUpdate("/status@Alerts_Bot"));
    expect(diagnosed).toEqual(["prod"]);
  });

  it("answers 500 when its adapters cannot be built, so Telegram retries", async () => {
    const app = receiver();
    const failing: Invocation = {
      ...invocation(),
      services: async () => {
        throw new Error("the function has no agency credentials");
      },
    };
    expect((await app.handle(request(commandUpdate("/status")), failing)).status).toBe(500);
  });
});

describe("receiver: de-duplication", () => {
  it("handles a redelivered update once, also after a cold start", async () => {
    await openIncident();
    const update = commandUpdate("/ack 2h");
    await send(receiver(), update);
    await send(receiver(), update);
    const warm = receiver();
    await send(warm, update);
    await send(warm, update);
    expect(commands()).toHaveLength(1);
    expect(chat.posts).toHaveLength(1);
    expect(ledger.records.has(`updates/${update.update_id}`)).toBe(true);
  });

  it("still acts when the ledger is down, with a command id the watchdog applies once", async () => {
    await openIncident();
    ledger.failing = true;
    const update = commandUpdate("/ack");
    await send(receiver(), update);
    now += 1_000;
    await send(receiver(), update);
    const ids = commands().map((c) => c.id);
    expect(ids).toEqual([`tg-${update.update_id}`, `tg-${update.update_id}`]);
  });
});

describe("receiver: ack, mute, unmute", () => {
  it("writes an ack command with the default or given duration and audits who did it", async () => {
    await openIncident();
    const app = receiver();
    const first = commandUpdate("/ack");
    await send(app, first);
    await send(app, commandUpdate("/ack 2h"));
    expect(commands()).toEqual([
      {
        id: `tg-${first.update_id}`,
        kind: "ack",
        at: NOW,
        by: { userId: 7, username: "ann" },
        until: NOW + H,
      },
      expect.objectContaining({ kind: "ack", until: NOW + 2 * H }),
    ]);
    expect(store.events).toEqual([
      expect.objectContaining({
        type: "ack",
        box: "prod",
        by: { userId: 7, username: "ann" },
        at: NOW,
      }),
      expect.objectContaining({ type: "ack" }),
    ]);
    expect(chat.posts[0]?.message.text).toContain("prod acked for 1 h");
    expect(chat.posts[0]?.replyTo).toBe(first.message.message_id);
    expect(chat.posts[0]?.chatId).toBe(CHAT);
  });

  it("writes mute with its reason and unmute", async () => {
    const app = receiver();
    await send(app, commandUpdate("/mute 4h deploying <v2>"));
    await send(app, commandUpdate("/unmute"));
    expect(commands()).toEqual([
      expect.objectContaining({ kind: "mute", until: NOW + 4 * H, reason: "deploying <v2>" }),
      expect.objectContaining({ kind: "unmute" }),
    ]);
    expect(chat.posts[0]?.message.html).toContain("deploying &lt;v2&gt;");
    expect(store.events.map((e) => e.type)).toEqual(["mute", "unmute"]);
  });

  it("acks one incident from its button and mutes for 4 h from the other", async () => {
    await openIncident("prod", "maas");
    const app = receiver();
    await send(
      app,
      buttonUpdate(
        encodeCallback({ action: "ack", box: "prod", arg: "1h", component: "maas" }),
        42,
      ),
    );
    await send(app, buttonUpdate(encodeCallback({ action: "mute", box: "prod", arg: "4h" }), 42));
    expect(commands()).toEqual([
      expect.objectContaining({ kind: "ack", until: NOW + H, incidentComponent: "maas" }),
      expect.objectContaining({ kind: "mute", until: NOW + 4 * H }),
    ]);
    expect(chat.answers.map((a) => a.text)).toEqual([
      "Acked prod maas for 1 h.",
      "Muted prod for 4 h.",
    ]);
    expect(chat.posts.every((p) => p.replyTo === 42)).toBe(true);
  });

  it("refuses /ack and a component's Ack with nothing open: no command, no pause", async () => {
    const app = receiver();
    await send(app, commandUpdate("/ack 2h"));
    await openIncident("prod", "maas");
    await send(
      app,
      buttonUpdate(
        encodeCallback({ action: "ack", box: "prod", arg: "1h", component: "gateway" }),
        42,
      ),
    );
    expect(commands()).toEqual([]);
    expect(store.events).toEqual([]);
    expect(chat.posts.map((p) => p.message.text)).toEqual([
      expect.stringContaining("Nothing open on prod: nothing acked"),
      expect.stringContaining("Nothing open on prod gateway: nothing acked"),
    ]);
    expect(chat.answers.map((a) => a.text)).toEqual([
      "Nothing open on prod gateway: nothing acked.",
    ]);
  });

  it("tells the operator when the command could not be stored", async () => {
    store.failing = true;
    await send(
      receiver(),
      buttonUpdate(encodeCallback({ action: "ack", box: "prod", arg: "1h" }), 42),
    );
    expect(chat.answers[0]?.text).toContain("Could not record");
    expect(chat.posts[0]?.message.text).toContain("not recorded");
  });

  it("needs the box name when several boxes are watched", async () => {
    setUp(["prod", "lab"]);
    await openIncident("lab");
    const app = receiver();
    await send(app, commandUpdate("/ack 2h"));
    await send(app, commandUpdate("/ack lab 2h"));
    expect(chat.posts[0]?.message.text).toContain("Which box?");
    expect([...store.commands.keys()]).toEqual([expect.stringContaining("mem/lab/commands/")]);
  });
});

describe("receiver: reboot and rebootstrap", () => {
  async function prompt(app: Receiver, text = "/reboot") {
    await send(app, commandUpdate(text));
    const posted = chat.posts.at(-1);
    if (!posted) throw new Error("no prompt");
    const button = posted.message.keyboard?.inline_keyboard[0]?.[0];
    return {
      messageId: posted.messageId,
      data: button?.callback_data ?? "",
      message: posted.message,
    };
  }

  it("asks first, then reboots exactly once however often confirm arrives", async () => {
    const app = receiver();
    const { messageId, data, message } = await prompt(app);
    expect(message.text).toContain("Reboot prod?");
    expect(compute.calls).toEqual([]);
    const press = buttonUpdate(data, messageId);
    await Promise.all([send(app, press), send(app, buttonUpdate(data, messageId))]);
    await send(app, press);
    await send(receiver(), buttonUpdate(data, messageId));
    expect(compute.done()).toEqual(["reboot SOFT srv-prod"]);
    expect(commands()).toEqual([
      {
        id: `tg-confirm-${CHAT}-${messageId}`,
        kind: "manual-action",
        at: NOW,
        by: { userId: 7, username: "ann" },
        action: "reboot",
        jobId: "job-1",
      },
    ]);
    expect(store.events).toEqual([
      expect.objectContaining({
        type: "manual-action",
        jobId: "job-1",
        by: { userId: 7, username: "ann" },
      }),
    ]);
    expect(chat.edits[0]?.message.text).toContain("Reboot of prod requested");
    expect(chat.edits[0]?.message.keyboard).toBeUndefined();
    expect(chat.answers.map((a) => a.text)).toEqual([
      "Reboot of prod requested.",
      expect.stringContaining("Already done"),
      expect.stringContaining("Already done"),
    ]);
  });

  it("goes through the alert's Reboot button to the same prompt", async () => {
    const app = receiver();
    await send(app, buttonUpdate(encodeCallback({ action: "reboot", box: "prod" }), 42));
    expect(chat.answers[0]?.text).toBe("Confirm below.");
    const posted = chat.posts[0];
    expect(posted?.replyTo).toBe(42);
    expect(ledger.records.get(confirmKey(CHAT, posted?.messageId ?? 0))).toMatchObject({
      state: "pending",
      box: "prod",
    });
  });

  it("refuses a confirm without a prompt, after expiry, after cancel, or for another box", async () => {
    setUp(["prod", "lab"]);
    const app = receiver();
    await send(app, buttonUpdate(encodeCallback({ action: "reboot-confirm", box: "prod" }), 77));
    const first = await prompt(app, "/reboot prod");
    await send(
      app,
      buttonUpdate(encodeCallback({ action: "reboot-confirm", box: "lab" }), first.messageId),
    );
    now += 11 * 60_000;
    await send(app, buttonUpdate(first.data, first.messageId));
    const second = await prompt(app, "/reboot prod");
    await send(
      app,
      buttonUpdate(encodeCallback({ action: "cancel", box: "prod" }), second.messageId),
    );
    await send(app, buttonUpdate(second.data, second.messageId));
    expect(compute.calls).toEqual([]);
    expect(commands()).toEqual([]);
    expect(chat.answers.map((a) => a.text)).toEqual([
      expect.stringContaining("unknown or expired"),
      expect.stringContaining("does not match"),
      expect.stringContaining("expired"),
      "Cancelled.",
      expect.stringContaining("cancelled"),
    ]);
  });

  it("does not act when it cannot record the confirmation", async () => {
    const app = receiver();
    const { messageId, data } = await prompt(app);
    ledger.failing = true;
    await send(app, buttonUpdate(data, messageId));
    expect(compute.calls).toEqual([]);
    expect(chat.answers[0]?.text).toContain("nothing done");
  });

  it("reports a failed ECS call, audits it, and lets a new prompt try again", async () => {
    const app = receiver();
    const { messageId, data } = await prompt(app);
    compute.failWith = new Error(
      "ECS soft reboot failed: HTTP 409 Ecs.0023; it will be retried next cycle",
    );
    await send(app, buttonUpdate(data, messageId));
    await send(app, buttonUpdate(data, messageId));
    expect(chat.edits[0]?.message.text).toContain("Reboot of prod failed");
    expect(store.events).toEqual([expect.objectContaining({ type: "remediation-failed" })]);
    expect(chat.answers[1]?.text).toContain("failed");
    compute.failWith = undefined;
    const again = await prompt(app);
    await send(app, buttonUpdate(again.data, again.messageId));
    expect(compute.done()).toEqual(["reboot SOFT srv-prod"]);
  });

  it("says plainly what a rebootstrap does, and does it once", async () => {
    const bootstrapUserData = Buffer.from("#!/bin/sh\necho hi\n").toString("base64");
    setUp(["prod"], { bootstrapUserData });
    const app = receiver();
    const { messageId, data, message } = await prompt(app, "/rebootstrap");
    expect(message.text).toContain("SYSTEM DISK");
    expect(message.text).toContain("DATA DISK (the gateway's workspace) is kept");
    await send(app, buttonUpdate(data, messageId));
    await send(app, buttonUpdate(data, messageId));
    expect(compute.done()).toEqual(["reinstall srv-prod"]);
    expect(compute.userData).toEqual([bootstrapUserData]);
    expect(commands()).toEqual([
      expect.objectContaining({ kind: "manual-action", action: "rebootstrap" }),
    ]);
  });

  it("does not offer a rebootstrap without bootstrap user_data", async () => {
    const app = receiver();
    await send(app, commandUpdate("/rebootstrap"));
    expect(chat.posts[0]?.message.text).toContain("not available");
    expect(chat.posts[0]?.message.keyboard).toBeUndefined();
    expect(ledger.records.size).toBe(1); // the update id only
  });

  it("shows the budget in the prompt when the state is readable", async () => {
    const state = initialState("prod");
    state.history = [{ action: "soft-reboot", at: NOW - H, key: "k" }];
    await store.save("prod", { version: STATE_VERSION, savedAt: NOW, policy: state, probes: {} });
    const { message } = await prompt(receiver());
    expect(message.text).toContain("1 of 3");
  });
});

describe("receiver: status, history, help", () => {
  it("runs the dry-run diagnose and replies with a summary", async () => {
    await send(receiver(), commandUpdate("/status"));
    expect(diagnosed).toEqual(["prod"]);
    expect(chat.posts[0]?.message.text).toContain("✅ gateway: ok · 5 ms · ready");
  });

  it("checks every box at once and answers even when a probe hangs", async () => {
    setUp(["prod", "lab"]);
    diagnose = (box) =>
      box.name === "lab"
        ? new Promise<CycleReport>(() => {})
        : Promise.resolve(reportFor(box.name));
    await send(receiver({ statusTimeoutMs: 50 }), commandUpdate("/status"));
    const text = chat.posts[0]?.message.text ?? "";
    expect(text).toContain("▸ prod");
    expect(text).toContain("✅ gateway: ok");
    expect(text).toMatch(/▸ lab\n⚠️ no fresh check: the probes did not finish/);
  });

  it("still replies when diagnose throws at once", async () => {
    diagnose = () => {
      throw new Error("cannot build the watchdog's deps");
    };
    await send(receiver(), commandUpdate("/status"));
    expect(chat.posts[0]?.message.text).toContain(
      "no fresh check: cannot build the watchdog's deps",
    );
  });

  it("answers the Status button at once, then posts the summary under the alert", async () => {
    await send(receiver(), buttonUpdate(encodeCallback({ action: "status", box: "prod" }), 42));
    expect(chat.answers[0]?.text).toBe("Checking prod…");
    expect(chat.posts[0]?.replyTo).toBe(42);
  });

  it("lists history and help", async () => {
    await store.appendEvents("prod", [
      {
        at: NOW - H,
        box: "prod",
        type: "incident-opened",
        component: "gateway",
        detail: "gateway down",
      },
    ]);
    const app = receiver();
    await send(app, commandUpdate("/history"));
    await send(app, commandUpdate("/help"));
    expect(chat.posts[0]?.message.text).toContain(
      "11:00 UTC incident-opened gateway: gateway down",
    );
    expect(chat.posts[1]?.message.text).toContain("/rebootstrap");
  });

  it("never puts a configured secret in a reply or a log line", async () => {
    diagnose = async (box) => {
      const report = reportFor(box.name);
      if (report.observations)
        report.observations.gateway.detail = `token ${box.name === "prod" ? "gw-token-prod-secret" : ""}`;
      return report;
    };
    const app = receiver();
    await send(app, commandUpdate("/status"));
    await send(app, commandUpdate(`/mute 1h ${SECRET} ${ALERT_TOKEN}`));
    expectNoSecretsIn([...chat.texts(), ...logs, ...chat.answers.map((a) => a.text ?? "")]);
    expect(chat.texts().join("\n")).toContain("&lt;redacted&gt;");
    expect(chat.texts().join("\n")).not.toContain("<redacted>");
  });
});
