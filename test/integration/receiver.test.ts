import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { registerWebhook } from "../../infra/cli/telegram";
import { type EcsService, type SeededServer, startEcs } from "../../infra/local/ecs";
import { listen, sendText } from "../../infra/local/http";
import { Iam } from "../../infra/local/iam";
import { type ObsService, startObs } from "../../infra/local/obs";
import { timeScale } from "../../infra/local/service";
import { startTelegram, type TelegramService } from "../../infra/local/telegram";
import { type HttpsListening, listenHttps, requestHttps } from "../../infra/local/tls";
import type { Compute } from "../../shared/cloud/compute";
import { type Config, parseConfig, secretsOf } from "../../shared/config";
import { encodeCallback } from "../../shared/notify/callback-data";
import { createMemoryNotifier } from "../../shared/notify/memory";
import { createTelegramNotifier } from "../../shared/notify/telegram";
import { initialState, STATE_VERSION } from "../../shared/policy";
import type { OperatorCommand } from "../../shared/policy/types";
import { observe } from "../../shared/probes/observe";
import {
  createObsLedger,
  createReceiver,
  createTelegramChat,
  diagnoseOne,
  handleApigEvent,
  type Invocation,
  type Ledger,
  type Receiver,
  type ReceiverServices,
  SECRET_HEADER,
} from "../../shared/receiver";
import type { ApigEvent, ApigResult, FunctionContext } from "../../shared/runtime/context";
import { createJsonLogger, type Logger } from "../../shared/runtime/logger";
import { createRedactor } from "../../shared/runtime/redact";
import { createObsClient, type ObsClient } from "../../shared/state/obs-client";
import { createObsStateStore } from "../../shared/state/obs-store";
import type { StateStore } from "../../shared/state/port";
import type { StoredEvent } from "../../shared/state/schema";
import type { CycleDeps } from "../../shared/watchdog/ports";
import { eventually } from "../support/eventually";

/**
 * The receiver in-process behind a tiny stand-in for the APIG trigger (base64 body, lower-case
 * headers), fed by the local Telegram fake's webhook delivery, acting on the local ECS.
 */

const ALERTS = { token: "222222:ALERTS-secret-token-abcdefghijklmnop", username: "alerts_bot" };
const GATEWAY_BOT = {
  token: "111111:GATEWAY-secret-token-abcdefghijklmno",
  username: "gateway_bot",
};
const BUCKET = "clawwatch-test";
const WEBHOOK_SECRET = "receiver_WEBHOOK-secret-0123456789";
const GATEWAY_TOKEN = "gateway-auth-token-SECRET-42";
const MAAS_KEY = "maas-api-key-SECRET-43";
const CHAT = -100777;
const OTHER_CHAT = -100888;
const ANN = { userId: 4242, username: "ann" };
const STRANGER = { userId: 6666, username: "mallory" };

let dataDir: string;
let iam: Iam;
let ecs: EcsService;
let telegram: TelegramService;
let front: HttpsListening;
let server: SeededServer;
let config: Config;
let obs: ObsService;
let obsClient: ObsClient;
let store: StateStore;
let ledger: Ledger;
let receiver: Receiver;
let logs: string[];
let log: Logger;
const handled: { status: number; body: string }[] = [];
const responses: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "clawwatch-receiver-"));
  iam = new Iam();
  const time = timeScale(0.01);
  const dead = await deadLoopbackUrl();
  telegram = await startTelegram({ bots: [ALERTS, GATEWAY_BOT], time });
  ecs = await startEcs({
    iam,
    time,
    dataDir,
    guest: {
      telegramApiRoot: telegram.url,
      maasBaseUrl: `${dead}/v1`,
      maasApiKey: MAAS_KEY,
      model: "m",
      gatewayToken: GATEWAY_TOKEN,
      telegramBotToken: "",
      bootMs: 100,
      connectGraceMs: 600_000,
    },
  });
  server = await ecs.seedServer({ name: "openclaw-prod" });
  config = parseConfig({
    boxes: [
      {
        name: "prod",
        serverId: server.id,
        gateway: { url: server.gatewayUrl, token: GATEWAY_TOKEN },
        telegram: { botToken: GATEWAY_BOT.token },
        maas: { baseUrl: `${dead}/v1`, apiKey: MAAS_KEY, model: "m" },
      },
      {
        name: "lab",
        serverId: "00000000-0000-0000-0000-00000000dead",
        gateway: { url: dead, token: GATEWAY_TOKEN },
        telegram: { botToken: GATEWAY_BOT.token },
        maas: { baseUrl: `${dead}/v1`, apiKey: MAAS_KEY, model: "m" },
      },
    ],
    alerts: {
      botToken: ALERTS.token,
      chatId: CHAT,
      allowedUserIds: [ANN.userId],
      webhookSecret: WEBHOOK_SECRET,
      apiRoot: telegram.url,
    },
    cloud: { projectId: iam.projectId, ecsEndpoint: ecs.url },
    state: { bucket: BUCKET },
    probes: {
      gatewayTimeout: 2_000,
      maasTimeout: 1_000,
      telegramTimeout: 2_000,
      serverTimeout: 3_000,
      retryDelay: 50,
    },
  });
  obs = await startObs({ iam, time, buckets: [BUCKET] });
  obsClient = await createObsClient({ server: obs.url, ak: iam.root.ak, sk: iam.root.sk });
  store = createObsStateStore({ client: obsClient, bucket: BUCKET, prefix: "clawwatch" });
  ledger = createObsLedger({ client: obsClient, bucket: BUCKET, prefix: "clawwatch" });
  logs = [];
  // No redaction on purpose: a secret that reaches the logger at all shows up in the scan.
  log = createJsonLogger({ level: "debug", write: (line) => logs.push(line) });
  receiver = createReceiver({ config, settings: { claimSettleMs: 50 } });
  const services = buildServices();
  // Telegram delivers webhooks over HTTPS only, as the APIG trigger serves them.
  front = await listenHttps(async (req, res, body) => {
    const event: ApigEvent = {
      body: body.toString("base64"),
      isBase64Encoded: true,
      httpMethod: req.method ?? "POST",
      path: req.url ?? "/",
      headers: Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), String(v)]),
      ),
    };
    const result = await handleApigEvent(receiver, event, invocation(services));
    handled.push({ status: result.statusCode, body: result.body });
    responses.push(result.body);
    sendText(res, result.statusCode, result.body, result.headers["content-type"]);
  });
  telegram.trustCertificate(front.certificate.cert);
  await registerWebhook(config.alerts, `${front.url}/telegram`, { secretUnchanged: false });
});

afterAll(async () => {
  await front?.close();
  await telegram?.close();
  await ecs?.close();
  obsClient?.close();
  await obs?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function buildServices(): ReceiverServices {
  let compute: Promise<Compute> | undefined;
  const lazyCompute = () => {
    compute ??= import("../../shared/cloud/ecs.lazy").then(({ createEcsCompute }) =>
      createEcsCompute({
        auth: { ak: iam.root.ak, sk: iam.root.sk, projectId: iam.projectId },
        endpoint: ecs.url,
        retryDelayMs: 50,
      }),
    );
    return compute;
  };
  const deps: CycleDeps = {
    config,
    store,
    notifier: createMemoryNotifier(),
    compute: lazyCompute,
    observe: (box, plan) =>
      observe(
        box,
        { probes: config.probes, telegramApiRoot: config.alerts.apiRoot, compute: lazyCompute },
        plan,
      ),
    log,
    clock: Date.now,
    remainingMs: () => 30_000,
    requestId: "status",
  };
  return {
    store,
    ledger,
    chat: createTelegramChat({
      alerts: config.alerts,
      log,
      redact: createRedactor(secretsOf(config)),
    }),
    compute: lazyCompute,
    diagnose: (box) => diagnoseOne(box, deps),
  };
}

function invocation(services: ReceiverServices): Invocation {
  return {
    requestId: `req-${handled.length + 1}`,
    log,
    redact: createRedactor(secretsOf(config)),
    remainingMs: () => 30_000,
    services: async () => services,
  };
}

/** Waits until the front has answered `count` more requests than before `act`. */
async function delivered(count: number, act: () => unknown): Promise<void> {
  const before = handled.length;
  await act();
  await eventually(() => handled.length >= before + count || undefined, `${count} deliveries`);
  // The front counts a request before its answer reaches the fake, which only then marks the
  // update delivered (redeliver needs that).
  const queued = () => telegram.updates().find((view) => view.bot === ALERTS.username)?.pending;
  await eventually(() => queued()?.length === 0 || undefined, "the fake to settle the deliveries");
}

const alertsMessages = () => telegram.messages({ bot: ALERTS.username });
const alertCalls = (method: string) => telegram.calls({ bot: ALERTS.username, method });
/** Every pending command in OBS, oldest first (update ids break ties within a millisecond). */
async function commands(): Promise<OperatorCommand[]> {
  const pending = await Promise.all(config.boxes.map((box) => store.pendingCommands(box.name)));
  const all = pending.flatMap((p) => p.commands.map((c) => c.command));
  const order = (c: OperatorCommand) => Number(/\d+$/.exec(c.id)?.[0] ?? 0);
  return all.sort((a, b) => a.at - b.at || order(a) - order(b));
}

/** The audit log of prod, oldest first. */
async function events(): Promise<StoredEvent[]> {
  const recent = await store.recentEvents("prod", { limit: 100, days: 1, now: Date.now() });
  return recent.reverse();
}
const rebootCalls = () => ecs.calls().filter((c) => c.action === "BatchRebootServers");

function say(text: string, from = ANN, chatId = CHAT) {
  return telegram.injectMessage({ bot: ALERTS.username, chatId, text, ...from });
}

function press(data: string, messageId: number, from = ANN, chatId = CHAT) {
  return telegram.injectCallback({ bot: ALERTS.username, chatId, messageId, data, ...from });
}

async function postDirect(body: string | Buffer, headers: Record<string, string>, method = "POST") {
  const response = await requestHttps(`${front.url}/telegram`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    ...(method === "GET" ? {} : { body }),
    ca: [front.certificate.cert],
  });
  return { status: response.status, text: response.body };
}

let incidentMessageId: number;

describe("Telegram receiver on the local cloud", () => {
  it("refuses forged and malformed requests without acting", async () => {
    const update = JSON.stringify({
      update_id: 999_001,
      message: {
        message_id: 1,
        date: 1,
        chat: { id: CHAT, type: "supergroup" },
        from: { id: ANN.userId, is_bot: false, first_name: "Ann" },
        text: "/reboot prod",
      },
    });
    expect((await postDirect(update, {})).status).toBe(401);
    expect(
      (await postDirect(update, { [SECRET_HEADER]: "wrong-secret-wrong-secret" })).status,
    ).toBe(401);
    expect((await postDirect(update, { [SECRET_HEADER]: `${WEBHOOK_SECRET}x` })).status).toBe(401);
    const huge = JSON.stringify({ update_id: 999_002, padding: "x".repeat(400_000) });
    expect((await postDirect(huge, { [SECRET_HEADER]: WEBHOOK_SECRET })).status).toBe(413);
    expect((await postDirect('{"update_id": 3,', { [SECRET_HEADER]: WEBHOOK_SECRET })).status).toBe(
      400,
    );
    expect((await postDirect("", { [SECRET_HEADER]: WEBHOOK_SECRET }, "GET")).status).toBe(405);
    expect(
      (await postDirect('{"not":"an update"}', { [SECRET_HEADER]: WEBHOOK_SECRET })).status,
    ).toBe(200);
    expect(alertCalls("sendMessage")).toHaveLength(0);
    expect(await commands()).toHaveLength(0);
    expect(rebootCalls()).toHaveLength(0);
  });

  it("ignores a stranger in the alert chat and an operator in another chat", async () => {
    await delivered(3, () => {
      say("/reboot prod", STRANGER);
      say("/ack prod 2h", ANN, OTHER_CHAT);
      say("/mute prod 1h", STRANGER, OTHER_CHAT);
    });
    expect(handled.slice(-3).map((h) => h.status)).toEqual([200, 200, 200]);
    expect(alertCalls("sendMessage")).toHaveLength(0);
    expect(await commands()).toHaveLength(0);
    expect(logs.join("\n")).toContain("outside the allow list");
  });

  it("answers /status with each component, within the webhook's time", async () => {
    await delivered(1, () => say("/status prod"));
    const reply = await eventually(() => alertsMessages().at(-1), "status reply");
    expect(reply.plainText).toContain("prod · status");
    expect(reply.plainText).toMatch(/✅ gateway: ok · \d+ ms/);
    expect(reply.plainText).toMatch(/🔴 maas: down · \d+ ms/);
    expect(reply.plainText).toMatch(/✅ telegram: ok · \d+ ms/);
    expect(reply.plainText).toContain("24 h ▁▁▁");
    expect(reply.parseMode).toBe("HTML");
    expect(telegram.updates().find((u) => u.bot === ALERTS.username)?.lastErrorMessage).toBeNull();
  });

  it("accepts the supergroup the alert group became, and /status says the chat moved", async () => {
    const MOVED = -1_000_000_100_777;
    await delivered(1, () => say("/status prod", ANN, MOVED));
    expect(alertsMessages().filter((m) => m.chatId === MOVED)).toEqual([]);
    // What the watchdog stores when Telegram answers migrate_to_chat_id for alerts.chatId.
    await store.saveAlertChannel({
      version: 1,
      chatId: MOVED,
      migratedFrom: CHAT,
      migratedAt: Date.now(),
    });
    await delivered(1, () => say("/status prod", ANN, MOVED));
    const reply = await eventually(
      () => alertsMessages().find((m) => m.chatId === MOVED),
      "the reply",
    );
    expect(reply.plainText).toContain(`the alert chat moved to ${MOVED} (from ${CHAT})`);
    expect(reply.plainText).toContain("prod · status");
    await delivered(1, () => say("/status prod", STRANGER, MOVED));
    expect(alertsMessages().filter((m) => m.chatId === MOVED)).toHaveLength(1);
    await store.saveAlertChannel({ version: 1 });
  });

  it("acks and mutes from the incident message's buttons", async () => {
    const notifier = createTelegramNotifier({
      alerts: config.alerts,
      log,
      redact: createRedactor(secretsOf(config)),
    });
    const sent = await notifier.send({
      box: "prod",
      notification: {
        id: "n-1",
        type: "opened",
        component: "gateway",
        incidentId: "inc-1",
        severity: "critical",
        title: "Gateway down",
        lines: ["connection refused"],
        buttons: ["ack", "mute", "reboot", "status"],
      },
    });
    incidentMessageId = sent.messageId;
    const buttons = alertsMessages()
      .find((m) => m.messageId === incidentMessageId)
      ?.buttons.flat();
    const data = (label: string) =>
      buttons?.find((b) => b.text.includes(label))?.callbackData ?? "missing";
    await delivered(2, () => {
      press(data("Ack"), incidentMessageId);
      press(data("Mute"), incidentMessageId);
    });
    const [ack, mute] = await commands();
    expect(ack).toMatchObject({ kind: "ack", incidentComponent: "gateway", by: ANN });
    expect((ack?.until ?? 0) - (ack?.at ?? 0)).toBe(3_600_000);
    expect(mute).toMatchObject({ kind: "mute", by: ANN });
    expect((mute?.until ?? 0) - (mute?.at ?? 0)).toBe(4 * 3_600_000);
    expect((await events()).map((e) => [e.type, e.by?.userId])).toEqual([
      ["ack", ANN.userId],
      ["mute", ANN.userId],
    ]);
    expect(alertCalls("answerCallbackQuery").map((c) => c.status)).toEqual([200, 200]);
  });

  it("writes the right commands for /ack, /mute and /unmute, and ignores a replay", async () => {
    const before = (await commands()).length;
    let ackUpdate = 0;
    // An ack applies to an open incident (with nothing open it is refused).
    const previous = await store.load("prod");
    const open = initialState("prod");
    open.incidents.maas = {
      id: "prod.maas.1",
      component: "maas",
      cause: "auth",
      openedAt: Date.now() - 60_000,
      firstFailureAt: Date.now() - 60_000,
      detail: "401",
      reminderCount: 0,
      seq: 0,
      steps: [],
    };
    await store.save("prod", {
      version: STATE_VERSION,
      savedAt: Date.now(),
      policy: open,
      probes: {},
    });
    try {
      await delivered(3, () => {
        ackUpdate = say("/ack prod 2h").updateId;
        say("/mute@alerts_bot prod 30m deploying v2");
        say("/unmute prod");
      });
    } finally {
      const restored = previous.kind === "found" ? previous.stored : undefined;
      await store.save(
        "prod",
        restored ?? {
          version: STATE_VERSION,
          savedAt: Date.now(),
          policy: initialState("prod"),
          probes: {},
        },
      );
    }
    const added = (await commands()).slice(before);
    expect(added).toEqual([
      expect.objectContaining({ kind: "ack", id: `tg-${ackUpdate}`, until: expect.any(Number) }),
      expect.objectContaining({ kind: "mute", reason: "deploying v2" }),
      expect.objectContaining({ kind: "unmute" }),
    ]);
    expect((added[0]?.until ?? 0) - (added[0]?.at ?? 0)).toBe(2 * 3_600_000);
    const sends = alertCalls("sendMessage").length;
    await delivered(1, () =>
      telegram.control("redeliver", { bot: ALERTS.username, updateId: ackUpdate }),
    );
    expect(await commands()).toHaveLength(before + 3);
    expect(alertCalls("sendMessage")).toHaveLength(sends);
  });

  it("cuts a long /mute reason on a code point boundary, so the reply is still accepted", async () => {
    const before = (await commands()).length;
    const sends = alertCalls("sendMessage").length;
    // 199 units, then an emoji across the 200-unit limit: a UTF-16 cut leaves a lone surrogate.
    const reason = `${"x".repeat(198)} 🚀 tail`;
    await delivered(1, () => say(`/mute prod 30m ${reason}`));
    const [mute] = (await commands()).slice(before);
    expect(mute?.reason).toBe(`${"x".repeat(198)} …`);
    const calls = alertCalls("sendMessage").slice(sends);
    expect(calls.map((c) => c.status)).toEqual([200]);
    expect(alertsMessages().at(-1)?.plainText).toContain(`${"x".repeat(198)} …`);
    await delivered(1, () => say("/unmute prod"));
  });

  it("refuses to register a webhook URL Telegram would refuse, before calling setWebhook", async () => {
    const before = alertCalls("setWebhook").length;
    for (const [url, why] of [
      ["http://127.0.0.1:8443/telegram", /HTTPS only/],
      ["https://127.0.0.1:9443/telegram", /ports 443, 80, 88 or 8443, not 9443/],
    ] as const) {
      await expect(registerWebhook(config.alerts, url, { secretUnchanged: false })).rejects.toThrow(
        why,
      );
    }
    expect(alertCalls("setWebhook")).toHaveLength(before);
  });

  it("refuses unknown commands, bad arguments and a button naming another box", async () => {
    const before = (await commands()).length;
    await delivered(3, () => {
      say("/frobnicate prod");
      say("/ack 2h");
      press(encodeCallback({ action: "reboot-confirm", box: "ghost" }), incidentMessageId);
    });
    const replies = alertsMessages()
      .slice(-2)
      .map((m) => m.plainText);
    expect(replies[0]).toContain("Unknown command /frobnicate");
    expect(replies[1]).toContain("Which box?");
    const answers = alertCalls("answerCallbackQuery");
    expect(answers.at(-1)?.params.text).toContain('Unknown box "ghost"');
    expect(await commands()).toHaveLength(before);
    expect(rebootCalls()).toHaveLength(0);
  });

  it("a stranger's press on a real button does nothing", async () => {
    const buttons = alertsMessages()
      .find((m) => m.messageId === incidentMessageId)
      ?.buttons.flat();
    const reboot = buttons?.find((b) => b.text.includes("Reboot"))?.callbackData ?? "";
    const before = alertCalls("sendMessage").length;
    await delivered(1, () => press(reboot, incidentMessageId, STRANGER));
    expect(alertCalls("sendMessage")).toHaveLength(before);
    expect(alertCalls("answerCallbackQuery").at(-1)?.params.text).toBe("Not allowed.");
  });

  it("reboots the guest exactly once for /reboot + confirm, however often it arrives", async () => {
    const bootsBefore = ecs.servers().find((s) => s.id === server.id)?.boots ?? 0;
    await delivered(1, () => say("/reboot prod"));
    const prompt = await eventually(
      () => alertsMessages().find((m) => m.plainText.startsWith("⚠️ Reboot prod?")),
      "the prompt",
    );
    const confirm = prompt.buttons[0]?.[0]?.callbackData ?? "";
    expect(rebootCalls()).toHaveLength(0);

    let confirmUpdate = 0;
    await delivered(1, () => {
      confirmUpdate = press(confirm, prompt.messageId).updateId;
    });
    await delivered(2, () => {
      telegram.control("redeliver", { bot: ALERTS.username, updateId: confirmUpdate });
      press(confirm, prompt.messageId);
    });
    expect(rebootCalls()).toHaveLength(1);
    expect(rebootCalls()[0]?.status).toBe(200);

    const edited = alertsMessages().filter((m) => m.messageId === prompt.messageId && m.edited);
    expect(edited.at(-1)?.plainText).toContain("Reboot of prod requested");
    expect(edited.at(-1)?.buttons).toEqual([]);
    const manual = (await commands()).filter((c) => c.kind === "manual-action");
    expect(manual).toEqual([
      expect.objectContaining({ action: "reboot", by: ANN, jobId: expect.any(String) }),
    ]);
    expect((await events()).filter((e) => e.type === "manual-action")).toEqual([
      expect.objectContaining({ jobId: manual[0]?.jobId, by: ANN }),
    ]);
    expect(alertCalls("answerCallbackQuery").at(-1)?.params.text).toContain("Already done");
    // The server is REBOOT from the request on, then ACTIVE with one more boot.
    const view = ecs.servers().find((s) => s.id === server.id);
    expect(view?.status === "REBOOT" || (view?.boots ?? 0) > bootsBefore).toBe(true);
  });

  it("never leaks a configured secret into logs, replies or answers", () => {
    const secrets = [...secretsOf(config), WEBHOOK_SECRET, iam.root.sk, GATEWAY_TOKEN, MAAS_KEY];
    const texts = [
      ...logs,
      ...responses,
      ...alertsMessages().map((m) => `${m.text}\n${JSON.stringify(m.buttons)}`),
      ...alertCalls("answerCallbackQuery").map((c) => JSON.stringify(c.params)),
    ];
    expect(texts.length).toBeGreaterThan(20);
    for (const text of texts) for (const secret of secrets) expect(text).not.toContain(secret);
    expect(handled.every((h) => h.status < 500)).toBe(true);
  });
});

describe("the bundled telegram-webhook function", () => {
  type Handler = (event: ApigEvent, context: FunctionContext) => Promise<ApigResult>;
  let outDir: string;
  let handler: Handler;

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), "clawwatch-receiver-build-"));
    const build: {
      buildFunctions: (o: { outDir: string; names: string[] }) => Promise<{ bundlePath: string }[]>;
    } = await import(pathToFileURL(resolve("build.mjs")).href);
    const [built] = await build.buildFunctions({ outDir, names: ["telegram-webhook"] });
    handler = createRequire(import.meta.url)(built?.bundlePath ?? "").handler as Handler;
    vi.stubEnv(
      "CLAWWATCH_CONFIG",
      JSON.stringify({ ...configInput(), cloud: { ...configInput().cloud, obsEndpoint: obs.url } }),
    );
  });

  afterAll(() => {
    vi.unstubAllEnvs();
    rmSync(outDir, { recursive: true, force: true });
  });

  function configInput() {
    return {
      boxes: config.boxes.map((box) => ({ ...box, maas: { ...box.maas } })),
      alerts: { ...config.alerts },
      cloud: { projectId: iam.projectId, ecsEndpoint: ecs.url },
      state: { bucket: BUCKET },
    };
  }

  function context(): FunctionContext {
    const agency = iam.issueTemporary();
    return {
      getRequestID: () => "bundle-request",
      getRemainingTimeInMilliSeconds: () => 20_000,
      getSecurityAccessKey: () => agency.ak,
      getSecuritySecretKey: () => agency.sk,
      getSecurityToken: () => agency.securityToken,
      getProjectID: () => iam.projectId,
      getFunctionName: () => "telegram-webhook",
      // Nothing here: the config comes from process.env, as on a local run.
      getUserData: () => undefined,
    };
  }

  function apigEvent(update: unknown, headers: Record<string, string>): ApigEvent {
    return {
      body: Buffer.from(JSON.stringify(update)).toString("base64"),
      isBase64Encoded: true,
      httpMethod: "POST",
      path: "/telegram",
      headers: { "content-type": "application/json", ...headers },
    };
  }

  it("answers APIG events: 401 without the secret, a reply to /help with it", async () => {
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const help = {
        update_id: 777_001,
        message: {
          message_id: 9_001,
          date: 1,
          chat: { id: CHAT, type: "supergroup" },
          from: { id: ANN.userId, is_bot: false, first_name: "Ann", username: ANN.username },
          text: "/help",
        },
      };
      const refused = await handler(apigEvent(help, {}), context());
      expect(refused).toEqual({
        statusCode: 401,
        headers: { "content-type": "application/json" },
        body: '{"ok":false,"error":"unauthorized"}',
        isBase64Encoded: false,
      });
      const before = alertCalls("sendMessage").length;
      const answered = await handler(
        apigEvent(help, { [SECRET_HEADER]: WEBHOOK_SECRET }),
        context(),
      );
      expect(answered.statusCode).toBe(200);
      expect(alertCalls("sendMessage")).toHaveLength(before + 1);
      expect(alertsMessages().at(-1)?.plainText).toContain("clawwatch commands");
    } finally {
      write.mockRestore();
    }
    const output = lines.join("");
    expect(output).toContain('"msg":"operator command"');
    expect(output).not.toContain('"level":"error"');
    const claimed = await obsClient.getText(BUCKET, "clawwatch/_receiver/updates/777001.json");
    expect(claimed.found).toBe(true);
    for (const secret of [...secretsOf(config), WEBHOOK_SECRET])
      expect(output).not.toContain(secret);
  });

  // Last: the alert group is a supergroup afterwards.
  it("learns the alert group's new id from Telegram's service message, and says so", async () => {
    const seen = alertsMessages().length;
    let moved = 0;
    await delivered(2, async () => {
      moved = (
        (await telegram.control("migrate-chat", { bot: ALERTS.username, chatId: CHAT })) as {
          newChatId: number;
        }
      ).newChatId;
    });
    expect((await store.loadAlertChannel())?.chatId).toBe(moved);
    const notice = await eventually(
      () =>
        alertsMessages()
          .slice(seen)
          .find((m) => m.chatId === moved),
      "the notice in the new chat",
    );
    expect(notice.plainText).toContain(`Telegram moved the alert chat from ${CHAT} to ${moved}`);
    const migrated = (await events()).filter((e) => e.type === "alert-chat-migrated");
    expect(migrated).toHaveLength(1);
    await delivered(1, () => say("/help", ANN, moved));
    expect(alertsMessages().at(-1)).toMatchObject({ chatId: moved });
    expect(alertsMessages().at(-1)?.plainText).toContain("clawwatch commands");
  });
});

async function deadLoopbackUrl(): Promise<string> {
  const server = await listen(() => undefined);
  await server.close();
  return server.url;
}
