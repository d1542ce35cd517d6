import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { type EcsClient, ShowServerRequest } from "@huaweicloud/huaweicloud-sdk-ecs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  defaultGuestTimings,
  type EcsService,
  type SeededServer,
  startEcs,
} from "../../infra/local/ecs";
import { type Listening, listen, sendJson, sendText } from "../../infra/local/http";
import { Iam } from "../../infra/local/iam";
import { type MaasService, startMaas } from "../../infra/local/maas";
import { timeScale } from "../../infra/local/service";
import { startTelegram, type TelegramService } from "../../infra/local/telegram";
import type { Compute } from "../../shared/cloud/compute";
import { createEcsClient } from "../../shared/cloud/ecs-client";
import type { BoxConfig } from "../../shared/config";
import { defaultPolicyConfig } from "../../shared/config/policy-schema";
import { ComputeError } from "../../shared/errors";
import { explain, initialState } from "../../shared/policy";
import {
  type GatewayProbeOptions,
  type GatewayResult,
  isProbeError,
  MAAS_HINTS,
  type MaasProbeOptions,
  type MaasResult,
  type ObserveDeps,
  observe,
  type ProbeError,
  probeGateway,
  probeMaas,
  probeServer,
  probeTelegram,
  type ServerResult,
  type ServerStatus,
  type TelegramProbeOptions,
  type TelegramResult,
} from "../../shared/probes";
import { BotTransportError, createBotApi } from "../../shared/telegram";
import { eventually } from "../support/eventually";

const TIME = timeScale(0.01);
const GATEWAY_TOKEN = "gw-probe-token-5f3c9a1e77";
const BOT_TOKEN = "7012345678:AAHprobeGatewayBotToken_abcdefghijklmnop";
const SPARE_TOKEN = "7087654321:AAHspareBotTokenForFaults_qrstuvwxyz0123";
const DEGRADED_TOKEN = "7011111111:AAHdegradedBoxBotToken_zyxwvutsrqponm";
const GUEST_MAAS_KEY = "maas-guest-key-0123456789abcdef";
const PROBE_MAAS_KEY = "maas-probe-key-fedcba9876543210";
const MODEL = "deepseek-v3";
const SECRETS = [GATEWAY_TOKEN, BOT_TOKEN, SPARE_TOKEN, DEGRADED_TOKEN, PROBE_MAAS_KEY];

/** Short waits: the emulators answer in milliseconds; nothing here may take seconds. */
const QUICK = { timeoutMs: 1_500, retryDelayMs: 20 } as const;

let dataDir: string;
let deadUrl: string;
let iam: Iam;
let telegram: TelegramService;
let maas: MaasService;
let ecs: EcsService;
let ecsClient: EcsClient;
let main: SeededServer;
let victim: SeededServer;
let hung: SeededServer;
let booting: SeededServer;
let degraded: SeededServer;
/** Every detail any probe produced here, checked for secrets at the end. */
const details: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "clawwatch-probes-"));
  deadUrl = await deadLoopbackUrl();
  iam = new Iam();
  [telegram, maas] = await Promise.all([
    startTelegram({
      bots: [
        { token: BOT_TOKEN, username: "gateway_bot" },
        { token: SPARE_TOKEN, username: "spare_bot" },
        { token: DEGRADED_TOKEN, username: "degraded_bot" },
      ],
      time: TIME,
    }),
    startMaas({ keys: [GUEST_MAAS_KEY, PROBE_MAAS_KEY], models: [MODEL], time: TIME }),
  ]);
  ecs = await startEcs({
    iam,
    time: TIME,
    dataDir,
    guest: {
      telegramApiRoot: telegram.url,
      maasBaseUrl: `${maas.url}/v1`,
      maasApiKey: GUEST_MAAS_KEY,
      model: MODEL,
      gatewayToken: GATEWAY_TOKEN,
      // Only the main box talks to Telegram: two pollers on one token would steal each other's updates.
      telegramBotToken: "",
      ...defaultGuestTimings(TIME),
    },
  });
  ecsClient = createEcsClient({
    auth: { ak: iam.root.ak, sk: iam.root.sk, projectId: iam.projectId },
    endpoint: ecs.url,
    timeoutMs: 3_000,
  });
  // One at a time: the emulator hands out gateway ports as servers are created.
  main = await ecs.seedServer({
    name: "main",
    telegramBotToken: BOT_TOKEN,
    connectGraceMs: 600_000,
  });
  victim = await ecs.seedServer({ name: "victim" });
  hung = await ecs.seedServer({ name: "hung" });
  booting = await ecs.seedServer({ name: "booting", bootMs: 600_000 });
  degraded = await ecs.seedServer({
    name: "degraded",
    telegramBotToken: DEGRADED_TOKEN,
    connectGraceMs: 150,
  });
  await Promise.all(
    [main, victim, hung, degraded].map((box) =>
      eventually(async () => (await gw(box)).status === "ok", "every gateway to be ready"),
    ),
  );
});

afterAll(async () => {
  if (hung && ecs) await ecs.control("resume", { serverId: hung.id }).catch(() => undefined);
  await Promise.all([ecs?.close(), telegram?.close(), maas?.close()]);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

// ---- gateway ---------------------------------------------------------------------------------

describe("probeGateway", () => {
  it("is ok when /readyz says ready with details", async () => {
    const before = Date.now();
    const result = await gw(main);
    expect(result).toMatchObject({ status: "ok", failing: [], httpStatus: 200 });
    expect(result.unreachable).toBeUndefined();
    // The process start by the prober's clock, from the gateway's own uptime.
    expect(result.uptimeMs).toBeGreaterThan(0);
    expect(result.startedAt).toBeLessThanOrEqual(before);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("is booting while the startup sidecars come up", async () => {
    const result = await gw(booting);
    expect(result).toMatchObject({
      status: "booting",
      failing: ["startup-sidecars"],
      httpStatus: 503,
    });
  });

  it("is degraded with failing [telegram] once Telegram stays down past the connect grace", async () => {
    await telegram.control("down", {});
    try {
      let result: GatewayResult | undefined;
      await eventually(async () => {
        result = await gw(degraded);
        return result.status === "degraded";
      }, "the degraded verdict");
      expect(result).toMatchObject({ status: "degraded", failing: ["telegram"], httpStatus: 503 });
      expect(result?.detail).toContain("telegram");
    } finally {
      telegram.reset();
      // Its poller would otherwise share every later Telegram fault with the probes. A killed
      // gateway is restarted by its unit; one whose config is broken (exit 78) stays down.
      await ecs.control("exit-config", { serverId: degraded.id });
    }
  });

  it("is down and unreachable when the gateway refuses connections, after one retry", async () => {
    // exit-config: the unit restarts it once (SIGTERM → exit 0), and that start exits 78.
    await ecs.control("exit-config", { serverId: victim.id });
    const result = await gw(victim);
    expect(result).toMatchObject({ status: "down", unreachable: true, failing: [], refused: true });
    expect(result.detail).toMatch(/connection refused.*\(2 attempts\)/);
  });

  it("is down and unreachable when the gateway accepts but never answers", async () => {
    await ecs.control("hang", { serverId: hung.id });
    try {
      const result = await gw(hung, { timeoutMs: 150 });
      expect(result).toMatchObject({ status: "down", unreachable: true });
      expect(result.refused).toBeUndefined();
      expect(result.detail).toContain("no answer within 150 ms");
    } finally {
      await ecs.control("resume", { serverId: hung.id });
    }
  });

  it("is misconfigured when the gateway does not accept the token (bare verdict, no details)", async () => {
    const result = await gw(main, { token: "not-the-gateway-token" });
    expect(result).toMatchObject({ status: "misconfigured", httpStatus: 200 });
    expect(result.detail).toContain("gateway.token");
    expect(result.detail).not.toContain("not-the-gateway-token");
  });

  it("names the URL it asked, path included and without the credentials or query", async () => {
    const base = new URL(`${main.gatewayUrl}/dashboard`);
    const result = await gw(main, { url: base.toString() });
    expect(result.detail).toContain(`${base.origin}/dashboard/readyz`);
    const noPath = await gw(main, { url: `${main.gatewayUrl}/ui` });
    expect(noPath.detail).toContain(`${new URL(main.gatewayUrl).origin}/ui/readyz answered`);
  });

  it("is misconfigured when the URL hits the Control UI's HTML catch-all", async () => {
    const result = await gw(main, { url: `${main.gatewayUrl}/ui` });
    expect(result).toMatchObject({ status: "misconfigured", httpStatus: 200 });
    expect(result.detail).toMatch(/HTML.*gateway root/);
  });

  it("is misconfigured on a 404", async () => {
    const result = await gw(main, { url: `${main.gatewayUrl}/v1` });
    expect(result).toMatchObject({ status: "misconfigured", httpStatus: 404 });
  });

  describe("against a scripted gateway", () => {
    let scripted: Scripted;
    beforeAll(async () => {
      scripted = await scriptedServer();
    });
    afterAll(() => scripted.close());
    beforeEach(() => scripted.clear());

    it("is misconfigured on 401 and on the proxy 403, without a retry and without proxy headers", async () => {
      scripted.script(401, { error: { message: "Unauthorized", type: "unauthorized" } });
      const unauthorised = await probeGateway({
        ...QUICK,
        url: scripted.url,
        token: GATEWAY_TOKEN,
      });
      keep(unauthorised);
      expect(unauthorised).toMatchObject({ status: "misconfigured", httpStatus: 401 });
      expect(unauthorised.detail).toContain("gateway.token");
      expect(scripted.requests).toHaveLength(1);
      expect(scripted.requests[0]).toMatchObject({
        path: "/readyz",
        authorization: `Bearer ${GATEWAY_TOKEN}`,
        forwardedFor: undefined,
      });

      scripted.clear();
      scripted.script(403, { error: { type: "proxy_attribution_required", message: "…" } });
      const proxied = await probeGateway({ ...QUICK, url: scripted.url, token: GATEWAY_TOKEN });
      keep(proxied);
      expect(proxied).toMatchObject({ status: "misconfigured", httpStatus: 403 });
      expect(proxied.detail).toContain("X-Forwarded-For");
    });

    it("retries once: a 5xx page first, then ready", async () => {
      scripted.script(502, "<html>bad gateway</html>", "text/html");
      scripted.script(200, { ready: true, failing: [], uptimeMs: 5_000 });
      const result = await probeGateway({ ...QUICK, url: scripted.url, token: GATEWAY_TOKEN });
      keep(result);
      expect(scripted.requests).toHaveLength(2);
      expect(result.status).toBe("ok");
      expect(result.detail).toContain("first attempt: down");
    });

    it("takes the gateway's uptime (booting too) and drops one that is not a sane number", async () => {
      // Booting is asked twice (the one retry).
      scripted.script(503, { ready: false, failing: ["startup-sidecars"], uptimeMs: 2_000 });
      scripted.script(503, { ready: false, failing: ["startup-sidecars"], uptimeMs: 2_256.7 });
      const before = Date.now();
      const booting = await probeGateway({ ...QUICK, url: scripted.url, token: GATEWAY_TOKEN });
      keep(booting);
      expect(booting).toMatchObject({ status: "booting", uptimeMs: 2_257 });
      expect(booting.startedAt).toBeGreaterThanOrEqual(before - 2_257);
      expect(booting.startedAt).toBeLessThanOrEqual(Date.now() - 2_257);
      for (const uptimeMs of [-5, 10 * 365 * 86_400_000, "12", null]) {
        scripted.script(200, { ready: true, failing: [], uptimeMs });
        const odd = await probeGateway({ ...QUICK, url: scripted.url, token: GATEWAY_TOKEN });
        keep(odd);
        expect(odd).toMatchObject({ status: "ok", detail: "ready" });
        expect(odd.uptimeMs).toBeUndefined();
        expect(odd.startedAt).toBeUndefined();
      }
    });

    it("reads 5xx without JSON as down and JSON without ready as misconfigured", async () => {
      scripted.script(500, "Internal Server Error");
      scripted.script(500, "Internal Server Error");
      const broken = await probeGateway({ ...QUICK, url: scripted.url, token: GATEWAY_TOKEN });
      keep(broken);
      expect(broken).toMatchObject({ status: "down", httpStatus: 500 });
      expect(broken.unreachable).toBeUndefined();

      scripted.clear();
      scripted.script(200, { ok: true, status: "live" });
      const notReadyz = await probeGateway({ ...QUICK, url: scripted.url, token: GATEWAY_TOKEN });
      keep(notReadyz);
      expect(notReadyz.status).toBe("misconfigured");
    });
  });
});

// ---- MaaS ------------------------------------------------------------------------------------

describe("probeMaas", () => {
  const base = (): MaasProbeOptions => ({
    ...QUICK,
    baseUrl: `${maas.url}/v1`,
    apiKey: PROBE_MAAS_KEY,
    model: MODEL,
    completion: false,
  });
  const probe = async (options: Partial<MaasProbeOptions> = {}): Promise<MaasResult> =>
    keep(await probeMaas({ ...base(), ...options }));

  it("is ok from /models alone and spends no tokens", async () => {
    const before = probeKeyUsage();
    const result = await probe();
    expect(result).toMatchObject({ status: "ok", checked: "models" });
    expect(probeKeyUsage().chatCompletions).toBe(before.chatCompletions);
  });

  it("runs a tiny real completion when asked, and it uses tokens", async () => {
    const before = probeKeyUsage();
    const result = await probe({ completion: true });
    expect(result).toMatchObject({ status: "ok", checked: "completion" });
    const after = probeKeyUsage();
    expect(after.chatCompletions).toBe(before.chatCompletions + 1);
    expect(after.totalTokens).toBeGreaterThan(before.totalTokens);
  });

  it("says auth with the key hint on 401 and 403, without retrying", async () => {
    const wrongKey = await probe({ apiKey: "sk-wrong-key-000000000" });
    expect(wrongKey).toMatchObject({ status: "auth", hint: MAAS_HINTS.key, checked: "models" });
    expect(wrongKey.detail).not.toContain("sk-wrong-key-000000000");

    await maas.control("status", { status: 403 });
    try {
      const seen = maas.requests().length;
      expect(await probe()).toMatchObject({ status: "auth", hint: MAAS_HINTS.key });
      expect(maas.requests().length - seen).toBe(1);
    } finally {
      maas.reset();
    }
  });

  it("says not-found with the base-URL hint when the URL ends in /chat/completions", async () => {
    const result = await probe({ baseUrl: `${maas.url}/v1/chat/completions` });
    expect(result).toMatchObject({
      status: "not-found",
      hint: MAAS_HINTS.baseUrl,
      checked: "completion",
    });
    expect(result.detail).toContain("ends in /chat/completions");
  });

  it("says not-found with the model hint for a model MaaS does not serve", async () => {
    const result = await probe({ model: "no-such-model" });
    expect(result).toMatchObject({
      status: "not-found",
      hint: MAAS_HINTS.model,
      checked: "completion",
    });
  });

  it("says rate-limited on 429 and does not ask again", async () => {
    await maas.control("status", { status: 429, retryAfter: 7 });
    try {
      const seen = maas.requests().length;
      const result = await probe();
      expect(result).toMatchObject({ status: "rate-limited", checked: "models" });
      expect(result.detail).toContain("retry after 7 s");
      expect(maas.requests().length - seen).toBe(1);
    } finally {
      maas.reset();
    }
  });

  it("says down on 5xx after exactly one retry", async () => {
    await maas.control("status", { status: 503 });
    try {
      const seen = maas.requests().length;
      const result = await probe();
      expect(result).toMatchObject({ status: "down", checked: "models" });
      expect(result.unreachable).toBeUndefined();
      expect(maas.requests().length - seen).toBe(2);
    } finally {
      maas.reset();
    }
  });

  it("is ok when the retry succeeds after one 500", async () => {
    await maas.control("status", { status: 500, count: 1, endpoint: "models" });
    const result = await probe();
    expect(result.status).toBe("ok");
    expect(result.detail).toContain("first attempt: down");
  });

  it("says down and unreachable on a refused connection and on a timeout", async () => {
    const refused = await probe({ baseUrl: `${deadUrl}/v1` });
    expect(refused).toMatchObject({ status: "down", unreachable: true });
    expect(refused.detail).toContain("connection refused");

    await maas.control("slow", { ms: 1_500 });
    try {
      const slow = await probe({ timeoutMs: 150 });
      expect(slow).toMatchObject({ status: "down", unreachable: true });
      expect(slow.detail).toContain("within 150 ms");
    } finally {
      maas.reset();
    }
  });

  it("falls back to a completion when /models is not offered", async () => {
    await maas.control("disable-models", {});
    try {
      const before = probeKeyUsage();
      const result = await probe();
      expect(result).toMatchObject({ status: "ok", checked: "completion" });
      expect(result.detail).toContain("/models not offered");
      expect(probeKeyUsage().chatCompletions).toBe(before.chatCompletions + 1);
    } finally {
      maas.reset();
    }
  });
});

// ---- Telegram --------------------------------------------------------------------------------

describe("probeTelegram", () => {
  const probe = async (options: Partial<TelegramProbeOptions> = {}): Promise<TelegramResult> =>
    keep(await probeTelegram({ ...QUICK, apiRoot: telegram.url, botToken: BOT_TOKEN, ...options }));
  const calls = (bot: string, method: string) => telegram.calls({ bot, method }).length;

  it("is ok with the pending count and the (empty, polling) webhook URL", async () => {
    const result = await probe();
    expect(result).toMatchObject({ status: "ok", pendingUpdateCount: 0, webhookUrl: "" });
    expect(result.detail).toContain("@gateway_bot");
  });

  it("retries once: 500 on the first attempt, ok on the second", async () => {
    // Nobody else may meet the forced errors: the main guest stops polling meanwhile.
    await ecs.control("stall-polling", { serverId: main.id });
    try {
      const seen = calls("gateway_bot", "getMe");
      await telegram.control("error", { status: 500, count: 2 });
      const result = await probe();
      expect(result.status).toBe("ok");
      expect(result.detail).toContain("first attempt: down");
      expect(calls("gateway_bot", "getMe") - seen).toBe(2);
    } finally {
      telegram.reset();
      await ecs.control("resume-polling", { serverId: main.id });
    }
  });

  it("counts updates the stalled gateway does not fetch", async () => {
    await ecs.control("stall-polling", { serverId: main.id });
    try {
      // The guest aborts its held long poll; give the fake a moment to see that socket close, or
      // the update can be written into the dying poll and count as fetched.
      await new Promise((r) => setTimeout(r, 300));
      telegram.injectMessage({ bot: "gateway_bot", chatId: 4242, userId: 4242, text: "hello?" });
      const stalled = await probe();
      expect(stalled).toMatchObject({ status: "ok", pendingUpdateCount: 1 });
      expect(stalled.detail).toContain("1 update(s) pending");
    } finally {
      await ecs.control("resume-polling", { serverId: main.id });
    }
    await eventually(
      async () => (await probe()).pendingUpdateCount === 0,
      "Telegram's pending updates to drain",
    );
  });

  it("counts updates a busy gateway fetched but has not confirmed; the policy waits out the longest turn", async () => {
    // A grammY runner with every slot in a long agent turn: it fetched three DMs and sends no
    // getUpdates (whose offset would confirm them) until a slot frees.
    for (const chatId of [701, 702, 703]) {
      telegram.injectMessage({ bot: "spare_bot", chatId, userId: chatId, text: "long question" });
    }
    const runner = createBotApi({ token: SPARE_TOKEN, apiRoot: telegram.url });
    const taken = await runner.call<{ update_id: number }[]>("getUpdates", {
      limit: 4,
      timeout: 0,
    });
    expect(taken).toHaveLength(3);
    let state = initialState("busy");
    const start = Date.UTC(2026, 0, 1, 12, 0);
    const ready: GatewayResult = { status: "ok", latencyMs: 1, detail: "ready", failing: [] };
    for (let minute = 0; minute < 9; minute++) {
      const seen = await probe({ botToken: SPARE_TOKEN });
      expect(seen.pendingUpdateCount).toBe(3);
      const obs = { gateway: ready, telegram: seen, watchdogErrors: [] };
      const decision = explain(state, obs, start + minute * 60_000, defaultPolicyConfig);
      expect(decision.verdicts.gateway.kind, `minute ${minute}`).toBe("ok");
      state = decision.state;
    }
    // The turns end: the next poll's offset confirms all three, and the count drops to 0.
    await runner.call("getUpdates", { offset: (taken.at(-1)?.update_id ?? 0) + 1, timeout: 0 });
    const drained = await probe({ botToken: SPARE_TOKEN });
    expect(drained.pendingUpdateCount).toBe(0);
    const after = explain(
      state,
      { gateway: ready, telegram: drained, watchdogErrors: [] },
      start + 9 * 60_000,
      defaultPolicyConfig,
    );
    expect(after.state.ingress).toEqual({});
  });

  it("says token-revoked on 401 without retrying", async () => {
    await telegram.control("revoke-token", { bot: "spare_bot" });
    try {
      const seen = telegram.calls({ method: "getMe" }).length;
      const result = await probe({ botToken: SPARE_TOKEN });
      expect(result).toMatchObject({ status: "token-revoked" });
      expect(result.unreachable).toBeUndefined();
      expect(telegram.calls({ method: "getMe" }).length - seen).toBe(1);
    } finally {
      telegram.reset();
    }
  });

  it("says down, not unreachable, when Telegram throttles the bot, without retrying", async () => {
    await telegram.control("rate-limit", { bot: "spare_bot", retryAfter: 9 });
    try {
      const seen = calls("spare_bot", "getMe");
      const result = await probe({ botToken: SPARE_TOKEN });
      expect(result).toMatchObject({ status: "down" });
      expect(result.unreachable).toBeUndefined();
      expect(result.detail).toMatch(/429.*retry after 9 s/);
      expect(calls("spare_bot", "getMe") - seen).toBe(1);
    } finally {
      telegram.reset();
    }
  });

  it("says down and unreachable when the Bot API cannot be reached or does not answer", async () => {
    await telegram.control("down", {});
    try {
      const result = await probe({ botToken: SPARE_TOKEN });
      expect(result).toMatchObject({ status: "down", unreachable: true });
    } finally {
      telegram.reset();
    }
    const refused = await probe({ apiRoot: deadUrl, botToken: SPARE_TOKEN });
    expect(refused).toMatchObject({ status: "down", unreachable: true });
    expect(refused.detail).toContain("connection refused");

    await telegram.control("latency", { ms: 1_000 });
    try {
      const slow = await probe({ botToken: SPARE_TOKEN, timeoutMs: 150 });
      expect(slow).toMatchObject({ status: "down", unreachable: true });
      expect(slow.detail).toContain("within 150 ms");
    } finally {
      telegram.reset();
    }
  });

  it("keeps the token out of the client's error and out of detail", async () => {
    const error = await createBotApi({ token: SPARE_TOKEN, apiRoot: deadUrl })
      .getMe()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BotTransportError);
    expect(error).toMatchObject({ kind: "network", code: "ECONNREFUSED" });
    const seen = [inspect(error, { depth: 8 })];
    for (let e: unknown = error; e instanceof Error; e = e.cause) seen.push(e.message);
    for (const text of seen) {
      expect(text).not.toContain(SPARE_TOKEN);
      expect(text).not.toContain("/bot");
    }
    const result = await probe({ apiRoot: deadUrl, botToken: SPARE_TOKEN });
    expect(result.detail).not.toContain(SPARE_TOKEN);
    expect(result.detail).not.toContain("/bot");
  });

  it("says down (not unreachable) for an HTML 502 from a proxy, and retries it once", async () => {
    await ecs.control("stall-polling", { serverId: main.id });
    try {
      await telegram.control("error", { status: 502 });
      const seen = calls("gateway_bot", "getMe");
      const result = await probe();
      expect(result).toMatchObject({ status: "down" });
      expect(result.unreachable).toBeUndefined();
      expect(result.detail).toContain("HTTP 502 without JSON");
      expect(calls("gateway_bot", "getMe") - seen).toBe(2);
    } finally {
      telegram.reset();
      await ecs.control("resume-polling", { serverId: main.id });
    }
  });
});

// ---- server ----------------------------------------------------------------------------------

describe("probeServer", () => {
  const show = async (compute: Compute, serverId: string): Promise<ServerResult | ProbeError> => {
    const result = await probeServer(compute, serverId, { timeoutMs: 3_000, retryDelayMs: 20 });
    details.push(result.detail);
    return result;
  };
  const showCalls = () => ecs.calls().filter((c) => c.action === "ShowServer").length;

  it("reports ACTIVE for a running box", async () => {
    expect(await show(ecsCompute(ecsClient), main.id)).toMatchObject({
      status: "ACTIVE",
      detail: "server ACTIVE",
    });
  });

  it("reports SHUTOFF for a stopped box", async () => {
    await ecs.control("set-status", { serverId: victim.id, status: "SHUTOFF" });
    expect(await show(ecsCompute(ecsClient), victim.id)).toMatchObject({ status: "SHUTOFF" });
  });

  it("turns an ECS API error into a ProbeError after one retry", async () => {
    await ecs.control("error", { status: 503 });
    try {
      const seen = showCalls();
      const result = await show(ecsCompute(ecsClient), main.id);
      expect(isProbeError(result)).toBe(true);
      expect(result).toMatchObject({ status: "error" });
      expect((result as ProbeError).unreachable).toBeUndefined();
      expect(result.detail).toContain("HTTP 503");
      expect(showCalls() - seen).toBe(2);
    } finally {
      ecs.reset();
    }
  });

  it("is rescued by the retry after one 500", async () => {
    await ecs.control("error", { status: 500, count: 1 });
    const result = await show(ecsCompute(ecsClient), main.id);
    expect(result).toMatchObject({ status: "ACTIVE" });
    expect(result.detail).toContain("first attempt failed");
  });

  it("does not retry an unknown server and says what to check", async () => {
    const seen = showCalls();
    const result = await show(ecsCompute(ecsClient), "no-such-server");
    expect(result).toMatchObject({ status: "error" });
    expect(result.detail).toContain("check serverId");
    expect(showCalls() - seen).toBe(1);
  });

  it("marks the error unreachable when the ECS API cannot be reached", async () => {
    const nowhere = createEcsClient({
      auth: { ak: iam.root.ak, sk: iam.root.sk, projectId: iam.projectId },
      endpoint: deadUrl,
      timeoutMs: 1_000,
    });
    const result = await show(ecsCompute(nowhere), main.id);
    expect(result).toMatchObject({ status: "error", unreachable: true });
    expect(result.detail).not.toContain(iam.root.sk);
  });
});

// ---- observe ---------------------------------------------------------------------------------

describe("observe", () => {
  const boxFor = (server: SeededServer): BoxConfig => ({
    name: server.name,
    serverId: server.id,
    gateway: { url: server.gatewayUrl, token: GATEWAY_TOKEN },
    telegram: { botToken: BOT_TOKEN },
    maas: { baseUrl: `${maas.url}/v1`, apiKey: PROBE_MAAS_KEY, model: MODEL },
    bootstrapStored: false,
  });
  let computeCalls = 0;
  const deps = (): ObserveDeps => ({
    probes: {
      gatewayTimeout: 1_500,
      maasTimeout: 1_500,
      telegramTimeout: 1_500,
      serverTimeout: 3_000,
      retryDelay: 20,
    },
    telegramApiRoot: telegram.url,
    compute: async () => {
      computeCalls += 1;
      return ecsCompute(ecsClient);
    },
  });
  const showCalls = () => ecs.calls().filter((c) => c.action === "ShowServer").length;
  const run = async (
    server: SeededServer,
    plan: { serverDue: boolean; completionDue: boolean },
  ) => {
    const obs = await observe(boxFor(server), deps(), plan);
    for (const result of [obs.gateway, obs.maas, obs.telegram, obs.server]) {
      if (result) details.push(result.detail);
    }
    return obs;
  };

  it("leaves the server (and the ECS SDK) alone on a healthy cycle that is not due", async () => {
    computeCalls = 0;
    const seen = showCalls();
    const obs = await run(main, { serverDue: false, completionDue: false });
    expect(obs.gateway.status).toBe("ok");
    expect(obs.maas).toMatchObject({ status: "ok", checked: "models" });
    expect(obs.telegram).toMatchObject({ status: "ok", pendingUpdateCount: 0 });
    expect(obs.server).toBeUndefined();
    expect(obs.watchdogErrors).toEqual([]);
    expect(computeCalls).toBe(0);
    expect(showCalls() - seen).toBe(0);
  });

  it("shows the server when it is due, and runs the completion when due", async () => {
    computeCalls = 0;
    const seen = showCalls();
    const obs = await run(main, { serverDue: true, completionDue: true });
    expect(obs.gateway.status).toBe("ok");
    expect(obs.server).toMatchObject({ status: "ACTIVE" });
    expect(obs.maas).toMatchObject({ status: "ok", checked: "completion" });
    expect(computeCalls).toBe(1);
    expect(showCalls() - seen).toBe(1);
  });

  it("shows the server (once) when the gateway is not ok, due or not", async () => {
    // The victim's guest was killed and its server set to SHUTOFF by the tests above.
    for (const serverDue of [false, true]) {
      computeCalls = 0;
      const seen = showCalls();
      const obs = await run(victim, { serverDue, completionDue: false });
      expect(obs.gateway).toMatchObject({ status: "down", unreachable: true });
      expect(obs.server).toMatchObject({ status: "SHUTOFF" });
      expect(computeCalls).toBe(1);
      expect(showCalls() - seen).toBe(1);
    }
  });

  it("reports a compute that cannot be built as a ProbeError", async () => {
    const obs = await observe(
      boxFor(booting),
      {
        ...deps(),
        compute: () => Promise.reject(new Error("no agency credentials: set an agency")),
      },
      { serverDue: false, completionDue: false },
    );
    expect(obs.gateway.status).toBe("booting");
    expect(obs.server).toMatchObject({ status: "error" });
    expect(obs.server?.detail).toContain("no agency credentials");
  });
});

describe("every detail", () => {
  it("holds no token, key or Telegram URL", () => {
    if (process.env.SHOW_DETAILS) console.log(details.join("\n"));
    expect(details.length).toBeGreaterThan(30);
    for (const detail of details) {
      for (const secret of [...SECRETS, iam.root.sk]) expect(detail).not.toContain(secret);
      expect(detail).not.toMatch(/\/bot\d/);
    }
  });
});

// ---- helpers ---------------------------------------------------------------------------------

function keep<T extends { detail: string }>(result: T): T {
  details.push(result.detail);
  return result;
}

async function gw(server: SeededServer, options: Partial<GatewayProbeOptions> = {}) {
  return keep(
    await probeGateway({ ...QUICK, url: server.gatewayUrl, token: GATEWAY_TOKEN, ...options }),
  );
}

function probeKeyUsage() {
  const usage = maas.usage().keys[1];
  if (!usage) throw new Error("the MaaS fake lost the probe key");
  return usage;
}

/** A Compute over the real ECS SDK, as thin as the production adapter (only showServer here). */
function ecsCompute(client: EcsClient): Compute {
  const unused = (): never => {
    throw new Error("not used by the probes");
  };
  return {
    async showServer(serverId) {
      try {
        const res = await client.showServer(new ShowServerRequest().withServerId(serverId));
        const server = res.server as unknown as Record<string, unknown>;
        const task = server["OS-EXT-STS:task_state"];
        return {
          id: String(server.id),
          name: String(server.name),
          status: server.status as ServerStatus,
          ...(typeof task === "string" ? { taskState: task } : {}),
        };
      } catch (error) {
        const e = error as { errorMsg?: string; httpStatusCode?: number };
        throw new ComputeError(`ECS ShowServer failed: ${e.errorMsg ?? String(error)}`, {
          cause: error,
        });
      }
    },
    start: unused,
    reboot: unused,
    reinstall: unused,
    showJob: unused,
  };
}

interface Scripted {
  readonly url: string;
  readonly requests: { path: string; authorization?: string; forwardedFor?: string }[];
  script(status: number, body: unknown, contentType?: string): void;
  /** Forgets the queue and the recorded requests. */
  clear(): void;
  close(): Promise<void>;
}

/** A gateway look-alike that answers a queue of canned responses (for shapes the stand-in never gives). */
async function scriptedServer(): Promise<Scripted> {
  const queue: { status: number; body: unknown; contentType: string | undefined }[] = [];
  const requests: Scripted["requests"] = [];
  const server: Listening = await listen((req, res) => {
    const header = (name: string) => {
      const value = req.headers[name];
      return typeof value === "string" ? value : undefined;
    };
    requests.push({
      path: req.url ?? "",
      authorization: header("authorization"),
      forwardedFor: header("x-forwarded-for"),
    });
    const next = queue.shift() ?? { status: 500, body: "script exhausted", contentType: undefined };
    if (typeof next.body === "string") sendText(res, next.status, next.body, next.contentType);
    else sendJson(res, next.status, next.body);
  });
  return {
    url: server.url,
    requests,
    script(status, body, contentType) {
      queue.push({ status, body, contentType });
    },
    clear() {
      queue.length = 0;
      requests.length = 0;
    },
    close: () => server.close(),
  };
}

async function deadLoopbackUrl(): Promise<string> {
  const server = await listen((_req, res) => {
    res.end();
  });
  await server.close();
  return server.url;
}

describe("the gateway-probe function's core, end to end through the watchdog's parser", () => {
  it("a /readyz with a long failing list stays a degraded verdict the watchdog accepts", async () => {
    const gateway = await scriptedServer();
    try {
      const failing = Array.from({ length: 80 }, (_, i) => `channel-${i}-${"x".repeat(300)}`);
      gateway.script(503, { ready: false, failing });
      const { loadProbeFunctionConfig, runProbeRequest } = await import(
        "../../shared/probes/probe-function"
      );
      const { parseProbeAnswer } = await import("../../shared/probes/gateway-port");
      const vars: Record<string, string> = {
        CLAWWATCH_PROBE_CONFIG: JSON.stringify({
          boxes: [{ name: "prod", url: gateway.url }],
          timeoutMs: 1000,
          retryDelayMs: 0,
        }),
        CLAWWATCH_GATEWAY_TOKENS: JSON.stringify({ prod: "tok-0123456789abcdef" }),
      };
      const config = loadProbeFunctionConfig((name) => vars[name]);
      const result = await runProbeRequest({ box: "prod", url: gateway.url }, config);
      expect(gateway.requests[0]?.authorization).toBe("Bearer tok-0123456789abcdef");
      const seen = parseProbeAnswer("fn", JSON.stringify(result), "tok-0123456789abcdef");
      expect(seen).toMatchObject({ status: "degraded" });
      expect("failing" in seen && seen.failing).toHaveLength(50);
    } finally {
      await gateway.close();
    }
  });
});
