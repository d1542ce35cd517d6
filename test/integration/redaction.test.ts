import { mkdtempSync, rmSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { handler as receiverFunction } from "../../functions/telegram-webhook/index";
import { handler as watchdogFunction } from "../../functions/watchdog/index";
import { type Listening, listen, parseJson, sendJson } from "../../infra/local/http";
import { Iam } from "../../infra/local/iam";
import { type ObsService, startObs } from "../../infra/local/obs";
import { timeScale } from "../../infra/local/service";
import { envRef, loadConfig } from "../../shared/config";
import { ConfigError } from "../../shared/errors";
import type { ApigEvent, FunctionContext } from "../../shared/runtime/context";
import { createObsClient } from "../../shared/state/obs-client";

/**
 * Both functions through their real entries, with agency keys and config secrets full of
 * characters that escaping changes (" \ & < >), against upstreams that echo the request headers
 * back in their errors (ECS, MaaS, the gateway). Every output is then searched for every
 * secret in every form: logs, Telegram texts and edits, every OBS object, every handler result.
 */

const AGENCY = {
  ak: 'TMPAK"q\\&<x>9Zq0123',
  sk: 'TMPSK"s\\&<y>secret-0123456789',
  securityToken: 'TOKEN"t\\&<z>-0123456789abcdefABCDEF',
};
const GATEWAY_TOKEN = 'gw"tok\\en&<b>-0123456789';
const MAAS_KEY = 'mk"ey\\&<i>-0123456789';
const ALERT_BOT = "5550003333:AAHredactionAlertBotToken_abcdefghij";
const GATEWAY_BOT = "5550004444:AAHredactionGatewayBotToken_abcdefgh";
const WEBHOOK_SECRET = "redaction_WEBHOOK-secret-0123456789";
const SECRETS = [
  AGENCY.ak,
  AGENCY.sk,
  AGENCY.securityToken,
  GATEWAY_TOKEN,
  MAAS_KEY,
  ALERT_BOT,
  GATEWAY_BOT,
  WEBHOOK_SECRET,
];
const BUCKET = "clawwatch-redaction";
const CHAT = -100555;
const ANN = { id: 4242, is_bot: false, first_name: "Ann", username: "ann" };

let dataDir: string;
let iam: Iam;
let obs: ObsService;
let upstream: Listening;
let telegram: Listening;
let dead: string;
/** Everything any part of the product wrote or returned, to search at the end. */
const outputs: { where: string; text: string }[] = [];
const telegramCalls: { method: string; body: Record<string, unknown> }[] = [];
let nextMessageId = 1;
let nextUpdateId = 5000;
const previousEnv = { ...process.env };

/** What an upstream that echoes its request says: the headers, plain, base64 and URL-encoded. */
function echo(headers: IncomingHttpHeaders): string {
  const { authorization, "x-security-token": token, ...rest } = headers;
  const plain = JSON.stringify({ "x-security-token": token, authorization, ...rest });
  return `request failed; headers ${plain}; base64 ${Buffer.from(plain).toString("base64")}; url ${encodeURIComponent(plain)}`;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "clawwatch-redaction-"));
  iam = new Iam(AGENCY);
  obs = await startObs({ iam, time: timeScale(1), buckets: [BUCKET] });
  upstream = await listen((req, res) => {
    const path = req.url ?? "";
    if (path === "/ok/v1/models")
      return sendJson(res, 200, { object: "list", data: [{ id: "m" }] });
    if (path.startsWith("/echo/v1/")) {
      return sendJson(res, 500, { error: { message: echo(req.headers), type: "server_error" } });
    }
    if (path === "/gw/readyz") {
      return sendJson(res, 503, { ready: false, failing: [echo(req.headers)] });
    }
    // ECS: the dead box is ACTIVE; every other call fails, echoing the signed headers.
    if (req.method === "GET" && path.endsWith("/cloudservers/srv-dead")) {
      return sendJson(res, 200, { server: { id: "srv-dead", name: "dead", status: "ACTIVE" } });
    }
    return sendJson(res, 500, { error_code: "Ecs.0000", error_msg: echo(req.headers) });
  });
  telegram = await listen((req, res, body) => {
    const method = (req.url ?? "").split("/").at(-1) ?? "";
    const params = (body.length > 0 ? parseJson(body) : {}) as Record<string, unknown>;
    telegramCalls.push({ method, body: params });
    outputs.push({ where: `telegram ${method}`, text: body.toString("utf8") });
    const bot = req.url?.includes(ALERT_BOT) ? "alerts_bot" : "gateway_bot";
    const results: Record<string, unknown> = {
      getMe: { id: 1, is_bot: true, first_name: bot, username: bot },
      getWebhookInfo: { url: "", pending_update_count: 0 },
      sendMessage: { message_id: nextMessageId++, date: 1, chat: { id: CHAT, type: "group" } },
      editMessageText: { message_id: params.message_id, date: 1, chat: { id: CHAT } },
    };
    return sendJson(res, 200, { ok: true, result: results[method] ?? true });
  });
  const closed = await listen(() => undefined);
  dead = closed.url;
  await closed.close();
  const box = (name: string, gatewayUrl: string, maasBase: string) => ({
    name,
    serverId: `srv-${name}`,
    gateway: { url: gatewayUrl, token: envRef("GATEWAY_TOKEN") },
    telegram: { botToken: envRef("GATEWAY_BOT") },
    maas: { baseUrl: maasBase, apiKey: envRef("MAAS_KEY"), model: "m" },
  });
  process.env.CLAWWATCH_CONFIG = JSON.stringify({
    boxes: [
      box("echo", `${upstream.url}/gw`, `${upstream.url}/echo/v1`),
      box("dead", dead, `${upstream.url}/ok/v1`),
    ],
    alerts: {
      botToken: envRef("ALERT_BOT"),
      chatId: CHAT,
      allowedUserIds: [ANN.id],
      webhookSecret: envRef("WEBHOOK_SECRET"),
      apiRoot: telegram.url,
    },
    cloud: {
      projectId: iam.projectId,
      region: iam.region,
      ecsEndpoint: upstream.url,
      obsEndpoint: obs.url,
    },
    state: { bucket: BUCKET },
    probes: { gatewayTimeout: 2_000, maasTimeout: 2_000, serverTimeout: 3_000, retryDelay: 10 },
    policy: { failureThreshold: 2 },
    runtime: { safetyMargin: 1_000 },
  });
  Object.assign(process.env, { GATEWAY_TOKEN, MAAS_KEY, ALERT_BOT, GATEWAY_BOT, WEBHOOK_SECRET });
  // The functions log to stdout, as in FunctionGraph.
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    outputs.push({ where: "log", text: String(chunk) });
    return true;
  });
});

afterAll(async () => {
  vi.restoreAllMocks();
  process.env = previousEnv;
  await Promise.all([obs?.close(), upstream?.close(), telegram?.close()]);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function context(): FunctionContext {
  return {
    getRequestID: () => `req-${nextUpdateId}`,
    getRemainingTimeInMilliSeconds: () => 60_000,
    getSecurityAccessKey: () => AGENCY.ak,
    getSecuritySecretKey: () => AGENCY.sk,
    getSecurityToken: () => AGENCY.securityToken,
    getProjectID: () => iam.projectId,
    getFunctionName: () => "clawwatch",
    // Plain local run: config comes from process.env, as loadFunctionConfig falls back to it.
    getUserData: () => undefined,
  };
}

async function watchdog(event: unknown): Promise<void> {
  const result = await watchdogFunction(event, context());
  outputs.push({ where: `watchdog result ${JSON.stringify(event)}`, text: JSON.stringify(result) });
}

async function receive(update: Record<string, unknown>): Promise<void> {
  const event: ApigEvent = {
    body: Buffer.from(JSON.stringify({ update_id: nextUpdateId++, ...update })).toString("base64"),
    isBase64Encoded: true,
    httpMethod: "POST",
    path: "/telegram",
    headers: {
      "content-type": "application/json",
      "x-telegram-bot-api-secret-token": WEBHOOK_SECRET,
    },
  };
  const result = await receiverFunction(event, context());
  outputs.push({ where: "receiver result", text: JSON.stringify(result) });
}

const say = (text: string) =>
  receive({
    message: { message_id: nextMessageId++, date: 1, chat: { id: CHAT }, from: ANN, text },
  });

/** The forms a secret takes in outputs: plain, JSON, HTML, URL-encoded and base64 (any offset). */
function formsOf(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const html = secret.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
  const base64 = [0, 1, 2].map((offset) => {
    const encoded = Buffer.concat([Buffer.alloc(offset), Buffer.from(secret)]).toString("base64");
    return encoded.slice(offset === 0 ? 0 : offset + 1, -4);
  });
  return [
    secret,
    json,
    JSON.stringify(json).slice(1, -1),
    html,
    encodeURIComponent(secret),
    ...base64,
  ];
}

function leaks(): string[] {
  const found: string[] = [];
  for (const { where, text } of outputs) {
    for (const secret of SECRETS) {
      for (const form of formsOf(secret)) {
        if (text.includes(form)) found.push(`${where}: ${form}`);
      }
    }
  }
  return found;
}

describe("an upstream that echoes the request headers", () => {
  it("gets its echo into no output of either function, in any form", async () => {
    // Watchdog: cycles until incidents open and the dead box's reboot fails, then a dry run.
    for (let i = 0; i < 4; i++) await watchdog({ command: "cycle" });
    await watchdog({ command: "diagnose" });

    // Receiver: /status (a dry run per box), then /reboot + confirm (ECS fails, echoing).
    await say("/status");
    await say("/reboot dead");
    const prompt = telegramCalls.filter((c) => c.method === "sendMessage").at(-1);
    const markup = prompt?.body.reply_markup as
      | { inline_keyboard: { callback_data: string }[][] }
      | undefined;
    const confirm = markup?.inline_keyboard[0]?.[0]?.callback_data;
    expect(confirm).toBeDefined();
    const promptId = nextMessageId - 1;
    await receive({
      callback_query: {
        id: "q-1",
        from: ANN,
        message: { message_id: promptId, date: 1, chat: { id: CHAT } },
        data: confirm,
      },
    });

    // Every object in the bucket: state, events, commands, ledger, confirmation records.
    const reader = await createObsClient({ server: obs.url, ...AGENCY });
    for (const key of await reader.list(BUCKET, "")) {
      const got = await reader.getText(BUCKET, key);
      if (got.found) outputs.push({ where: `obs ${key}`, text: got.text });
    }

    // The echo really went out and came back: without redaction these would be leaks.
    const all = outputs.map((o) => o.text).join("\n");
    expect(all).toContain("request failed; headers");
    expect(telegramCalls.some((c) => c.method === "editMessageText")).toBe(true);
    expect(outputs.some((o) => o.where.includes("/events/"))).toBe(true);
    expect(outputs.some((o) => o.where.endsWith("state.json"))).toBe(true);
    expect(leaks()).toEqual([]);
  });
});

describe("a config that is not JSON", () => {
  it("is reported without quoting it", () => {
    // V8 quotes the text around an unexpected token: "…"otToken": x5550003"… is not valid JSON".
    const text = `{"alerts": {"botToken": x${ALERT_BOT}}}`;
    let error: unknown;
    try {
      loadConfig({ CLAWWATCH_CONFIG: text });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const shown = `${String(error)} ${JSON.stringify(error)} ${String((error as Error).cause)}`;
    expect(shown).toContain("CLAWWATCH_CONFIG is not valid JSON");
    expect(shown).not.toContain("otToken");
    expect(shown).not.toContain("5550003");
  });
});
