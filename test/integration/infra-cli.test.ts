import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Api } from "grammy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIo } from "../../infra/cli/io";
import { run } from "../../infra/cli/main";
import { localCloud } from "../../infra/cli/target";
import { alertChatState } from "../../infra/cli/telegram";
import { invoke, listTriggers, showFunction } from "../../infra/deploy/functions";
import { type LocalCloud, startLocalCloud } from "../../infra/local/cloud";
import { Iam } from "../../infra/local/iam";
import {
  LOCAL_SERVER_NAME,
  localDeploymentConfig,
  localSecretsEnv,
} from "../../infra/local/product";
import { startVpc, type VpcService } from "../../infra/local/vpc";
import { envRef } from "../../shared/config";
import type { FleetReport } from "../../shared/watchdog/fleet";
import { FAST_POLICY, FAST_PROBES } from "../e2e/harness";
import { eventually } from "../support/eventually";

/**
 * The infra CLI end to end against a local cloud (plus the VPC emulator), in-process through
 * `run(argv, io)`: every command, its idempotency, and the cloud state it leaves behind.
 */

const FUNCTIONS = ["clawwatch-watchdog", "clawwatch-telegram-webhook", "clawwatch-gateway-probe"];

let dir: string;
let cloud: LocalCloud;
let vpc: VpcService;
let endpointsFile: string;
let serverId: string;

interface Captured extends CliIo {
  lines: string[];
  errors: string[];
  text(): string;
}

function captureIo(options: { isTTY?: boolean; answer?: boolean } = {}): Captured {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    text: () => [...lines, ...errors].join("\n"),
    out: (t) => lines.push(t),
    err: (t) => errors.push(t),
    status: () => {},
    isTTY: options.isTTY ?? false,
    confirm: async () => options.answer ?? false,
    env: {},
  };
}

async function cli(argv: string[], io = captureIo()): Promise<{ code: number; io: Captured }> {
  const code = await run([...argv, "--endpoints", endpointsFile], io);
  return { code, io };
}

const outDir = () => join(dir, "dist");

async function ecsServers() {
  return (await cloud.control("ecs", "servers")) as { id: string; name: string; status: string }[];
}

async function ecsCalls() {
  return (await cloud.control("ecs", "calls")) as { action: string; status: number }[];
}

function fg() {
  return localCloud(cloud.endpoints).functions;
}

function alertApi() {
  return new Api(cloud.endpoints.telegramBots.alerts.token, { apiRoot: cloud.endpoints.telegram });
}

/** What deploy leaves in the cloud, to compare before and after a second run. */
async function deployedState() {
  const functions = [];
  for (const name of FUNCTIONS) {
    functions.push({
      config: await showFunction(fg(), name),
      triggers: await listTriggers(fg(), name),
    });
  }
  return { functions, webhook: await alertApi().getWebhookInfo() };
}

/** Writes the local deployment file with `change` applied; returns its path. */
async function localFile(name: string, change: (file: LocalFile) => void = () => {}) {
  const { file } = localDeploymentConfig(cloud.endpoints);
  const copy = structuredClone(file) as LocalFile;
  change(copy);
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(copy));
  return path;
}
type LocalFile = ReturnType<typeof localDeploymentConfig>["file"] & {
  product: { alerts: Record<string, unknown> };
};

/** FunctionGraph calls that create or change something, and the alert bot's setWebhook calls. */
async function writes() {
  const fgCalls = (await cloud.control("functiongraph", "calls")) as { method: string }[];
  const hooks = (await cloud.control("telegram", "calls", {
    bot: cloud.endpoints.telegramBots.alerts.username,
    method: "setWebhook",
  })) as unknown[];
  return { functionGraph: fgCalls.filter((c) => c.method !== "GET").length, hooks: hooks.length };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "clawwatch-infra-cli-"));
  cloud = await startLocalCloud({ dir: join(dir, "cloud"), timeScale: 0.01, boxes: 1 });
  // The VPC emulator checks signatures against the same root key as the rest of the cloud.
  vpc = await startVpc({ iam: new Iam(cloud.endpoints.credentials) });
  endpointsFile = join(dir, "endpoints.json");
  await writeFile(endpointsFile, JSON.stringify({ ...cloud.endpoints, vpc: vpc.url }));
}, 30_000);

afterAll(async () => {
  await vpc?.close();
  await cloud?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("infra CLI", () => {
  it("prints its help when spawned for real", () => {
    const res = spawnSync("npx", ["tsx", "infra/cli/main.ts", "--help"], {
      cwd: resolve(__dirname, "../.."),
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(res.status).toBe(0);
    for (const command of ["create-server", "deploy", "diagnose", "status", "destroy"]) {
      expect(res.stdout).toContain(command);
    }
  });

  it("lists every problem of a bad deployment file and calls nothing", async () => {
    const file = join(dir, "bad.json");
    await writeFile(
      file,
      JSON.stringify({
        agency: "clawwatch-agency",
        server: {
          name: "box",
          image: "img",
          vpcId: "v",
          subnetId: "s",
          adminCidr: "0.0.0.0/0",
          functionSubnetCidr: "10.0.0.0/33",
        },
        product: {
          boxes: [{ name: "Bad Name", telegram: { botToken: envRef("NOT_SET_ANYWHERE") } }],
          state: { bucket: "b" },
        },
      }),
    );
    const before = (await ecsCalls()).length;
    const { code, io } = await cli(["create-server", "--config", file]);
    expect(code).toBe(1);
    const text = io.text();
    expect(text).toContain("server.flavor");
    expect(text).toContain("server.adminCidr: SSH must not be open to the world");
    expect(text).toContain("server.functionSubnetCidr");
    expect(text).toContain("environment variable NOT_SET_ANYWHERE is not set");
    expect(text).toContain("product.alerts");
    expect(text).toContain("agency: one agency per function now");
    expect((await ecsCalls()).length).toBe(before);
  });

  it("deploy refuses an environment over FunctionGraph's 4 KB before building or calling", async () => {
    const e = cloud.endpoints;
    const file = join(dir, "big.json");
    const boxes = Array.from({ length: 40 }, (_, i) => ({
      name: `box-${i}`,
      serverId: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`,
      gateway: { url: `http://10.0.${i}.10:18789` },
      telegram: { botToken: envRef("GATEWAY_BOT_TOKEN") },
    }));
    await writeFile(
      file,
      JSON.stringify({
        server: {
          name: "big",
          flavor: "s6.large.2",
          image: "img",
          vpcId: "v",
          subnetId: "s",
          adminCidr: "127.0.0.1/32",
          functionSubnetCidr: "127.0.0.0/8",
        },
        product: {
          boxDefaults: {
            gateway: { token: envRef("GATEWAY_TOKEN") },
            maas: { baseUrl: e.maasApi.baseUrl, apiKey: envRef("MAAS_API_KEY"), model: "m" },
          },
          boxes,
          alerts: { botToken: envRef("ALERT_BOT_TOKEN"), chatId: e.alertChatId },
          state: { bucket: e.bucket },
        },
      }),
    );
    const { code, io } = await cli(["deploy", "--config", file, "--out-dir", join(dir, "big")]);
    expect(code).toBe(1);
    expect(io.text()).toContain("FunctionGraph allows 4096");
    expect(io.text()).toContain("CLAWWATCH_CONFIG");
    expect(existsSync(join(dir, "big"))).toBe(false);
    expect(await showFunction(fg(), "clawwatch-watchdog")).toBeUndefined();
  });

  it("--target huawei asks for what is missing before calling anything", async () => {
    const noConfig = captureIo();
    expect(await run(["status", "--target", "huawei"], noConfig)).toBe(1);
    expect(noConfig.text()).toContain("--config <file> is required");

    const file = join(dir, "huawei.json");
    await writeFile(
      file,
      JSON.stringify({
        projectId: "0123456789abcdef0123456789abcdef",
        server: {
          name: "openclaw-1",
          flavor: "s6.large.2",
          image: "img",
          vpcId: "vpc-1",
          subnetId: "subnet-1",
          adminCidr: "203.0.113.7/32",
          functionSubnetCidr: "192.168.1.0/24",
        },
        product: {
          boxDefaults: {
            gateway: { token: envRef("GATEWAY_TOKEN") },
            maas: {
              baseUrl: "https://maas.example/v1",
              apiKey: envRef("MAAS_API_KEY"),
              model: "m",
            },
          },
          boxes: [{ name: "openclaw-1", telegram: { botToken: envRef("GATEWAY_BOT_TOKEN") } }],
          alerts: { botToken: envRef("ALERT_BOT_TOKEN"), chatId: -100123 },
          state: { bucket: "my-state" },
        },
      }),
    );
    const env = {
      GATEWAY_TOKEN: "gateway-token-0123456789",
      MAAS_API_KEY: "maas-key",
      GATEWAY_BOT_TOKEN: "123:abc",
      ALERT_BOT_TOKEN: "456:def",
    };
    const noApig = { ...captureIo(), env };
    const lines: string[] = [];
    noApig.err = (t) => lines.push(t);
    expect(await run(["status", "--target", "huawei", "--config", file], noApig)).toBe(1);
    expect(lines.join("\n")).toContain(
      "functions.apig: the receiver needs a dedicated API Gateway",
    );

    const raw = JSON.parse(await readFile(file, "utf8"));
    // Telegram delivers webhooks over HTTPS only: a plain-HTTP trigger is refused up front.
    raw.functions = { apig: { groupId: "group-1", protocol: "HTTP" } };
    await writeFile(file, JSON.stringify(raw));
    const http: string[] = [];
    const httpIo = { ...captureIo(), env, err: (t: string) => http.push(t) };
    expect(await run(["status", "--target", "huawei", "--config", file], httpIo)).toBe(1);
    expect(http.join("\n")).toContain("functions.apig.protocol");

    raw.functions = { apig: { groupId: "group-1" } };
    await writeFile(file, JSON.stringify(raw));
    const noInstance: string[] = [];
    const withGroupOnly = { ...captureIo(), env, err: (t: string) => noInstance.push(t) };
    expect(await run(["status", "--target", "huawei", "--config", file], withGroupOnly)).toBe(1);
    expect(noInstance.join("\n")).toContain("functions.apig.instanceId");
    raw.functions = { apig: { instanceId: "apig-instance-1", groupId: "group-1" } };
    await writeFile(file, JSON.stringify(raw));
    const noKeys: string[] = [];
    const io = { ...captureIo(), env, err: (t: string) => noKeys.push(t) };
    expect(await run(["status", "--target", "huawei", "--config", file], io)).toBe(1);
    expect(noKeys.join("\n")).toContain("HUAWEICLOUD_SDK_AK");
    expect(noKeys.join("\n")).toContain("HUAWEICLOUD_SDK_SK");
  });

  it("create-server --dry-run validates with ECS and creates nothing", async () => {
    const before = await ecsServers();
    const { code, io } = await cli(["create-server", "--dry-run"]);
    expect(code, io.text()).toBe(0);
    expect(io.text()).toContain("would create");
    expect(await ecsServers()).toEqual(before);
    expect(vpc.securityGroups()).toEqual([]);
    const create = (await ecsCalls()).filter((c) => c.action === "CreatePostPaidServers");
    expect(create.map((c) => c.status)).toEqual([202]);
  });

  it("create-server creates the box with its security group, then adopts it", async () => {
    const first = await cli(["create-server"]);
    expect(first.code, first.io.text()).toBe(0);
    const created = (await ecsServers()).filter((s) => s.name === LOCAL_SERVER_NAME);
    expect(created).toHaveLength(1);
    expect(created[0]?.status).toBe("ACTIVE");
    serverId = created[0]?.id ?? "";
    expect(first.io.text()).toMatch(/server\s+clawwatch-gateway\s+created/);
    // The rendered bootstrap reached the box as its user_data.
    const script = await readFile(
      join(dir, "cloud", "ecs", "servers", serverId, "system", "user-data.sh"),
      "utf8",
    );
    expect(script.startsWith("#!")).toBe(true);
    expect(script).toContain("openclaw");

    const [group] = vpc.securityGroups();
    expect(group?.name).toBe(`${LOCAL_SERVER_NAME}-sg`);
    const ingress = (group?.security_group_rules ?? [])
      .filter((r) => r.direction === "ingress" && r.remote_ip_prefix)
      .map((r) => `${r.protocol} ${r.port_range_min}-${r.port_range_max} ${r.remote_ip_prefix}`)
      .sort();
    expect(ingress).toEqual(["tcp 18789-18789 127.0.0.0/8", "tcp 22-22 127.0.0.1/32"]);

    const creates = (await ecsCalls()).filter((c) => c.action === "CreatePostPaidServers").length;
    const second = await cli(["create-server"]);
    expect(second.code, second.io.text()).toBe(0);
    expect(second.io.text()).toMatch(/server\s+clawwatch-gateway\s+adopted/);
    expect(second.io.text()).toMatch(
      /gateway ingress\s+\S+\s+ok\s+\S+ admits TCP 18789 from 127\.0\.0\.0\/8/,
    );
    expect((await ecsServers()).filter((s) => s.name === LOCAL_SERVER_NAME)).toHaveLength(1);
    expect((await ecsCalls()).filter((c) => c.action === "CreatePostPaidServers")).toHaveLength(
      creates,
    );
    expect(vpc.securityGroups()).toHaveLength(1);
    expect(vpc.securityGroups()[0]?.security_group_rules).toHaveLength(4);
  }, 30_000);

  it("create-server adopting a server it did not build makes no security group and names the rule to add", async () => {
    const seeded = (await ecsServers()).find((s) => s.id === cloud.endpoints.boxes[0]?.serverId);
    if (!seeded) throw new Error("the local cloud has no seeded box");
    const file = await localFile("adopt-seeded.json", (f) => {
      f.server.name = seeded.name;
    });
    const groups = vpc.securityGroups().length;
    const creates = (await ecsCalls()).filter((c) => c.action === "CreatePostPaidServers").length;
    const { code, io } = await cli(["create-server", "--config", file]);
    expect(code, io.text()).toBe(0);
    expect(io.text()).toMatch(new RegExp(`server\\s+${seeded.name}\\s+adopted`));
    expect(io.errors).toContain(
      "WARNING: no security group of the server admits the gateway from the watchdog's subnet: add to default the inbound rule TCP 18789 from 127.0.0.0/8 (console → Security Groups → default → Inbound Rules → Add Rule: protocol TCP, port 18789, source 127.0.0.0/8)",
    );
    expect(vpc.securityGroups()).toHaveLength(groups);
    expect((await ecsCalls()).filter((c) => c.action === "CreatePostPaidServers")).toHaveLength(
      creates,
    );
  });

  it("deploy checks keys, bots and the alert chat first: a wrong one creates nothing and names the fix", async () => {
    const before = await writes();
    const cases: { name: string; env?: Record<string, string>; chatId?: number; fix: string }[] = [
      {
        name: "wrong MaaS key",
        env: { MAAS_API_KEY: "maas-not-the-key" },
        fix: "the MaaS key in MAAS_API_KEY is refused: export the API key from the MaaS console (API Keys), then deploy again",
      },
      {
        name: "wrong alert-bot token",
        env: { ALERT_BOT_TOKEN: "999999:not-a-real-token" },
        fix: "Telegram refuses the alert bot's token (401 Unauthorized): export ALERT_BOT_TOKEN to the token @BotFather gave (/mybots → API Token)",
      },
      {
        name: "wrong chat id",
        chatId: -1_009_999_999_999,
        fix: 'alerts.chatId -1009999999999: Telegram says "chat not found": add the alert bot to the alert group first, then use the group\'s id (a supergroup\'s starts with -100; DEPLOY.md, "Finding the chat and user ids")',
      },
    ];
    for (const c of cases) {
      const file = await localFile(`refused-${c.name.replace(/ /g, "-")}.json`, (f) => {
        if (c.chatId !== undefined) f.product.alerts.chatId = c.chatId;
      });
      const io = { ...captureIo(), env: c.env ?? {} };
      const { code } = await cli(["deploy", "--config", file, "--out-dir", outDir()], io);
      expect(code, c.name).toBe(1);
      const said = io.errors.join("\n");
      expect(said, c.name).toContain(`error: deploy changed nothing: ${c.fix}`);
      expect(said.split("deploy changed nothing")).toHaveLength(2);
      for (const value of Object.values(c.env ?? {})) expect(io.text()).not.toContain(value);
    }
    for (const name of FUNCTIONS) expect(await showFunction(fg(), name)).toBeUndefined();
    expect(await writes()).toEqual(before);
  }, 60_000);

  it("the local target fills in its own Bot API for a missing alerts.apiRoot, and says so", async () => {
    const file = await localFile("no-api-root.json", (f) => {
      const alerts: Record<string, unknown> = f.product.alerts;
      delete alerts.apiRoot;
    });
    const before = await writes();
    const { code, io } = await cli([
      "deploy",
      "--dry-run",
      "--config",
      file,
      "--out-dir",
      outDir(),
    ]);
    expect(code, io.text()).toBe(0);
    expect(io.errors).toContain(
      `local target: alerts.apiRoot: unset → the local Telegram ${cloud.endpoints.telegram}`,
    );
    expect(io.text()).toMatch(/check alert chat\s+-1001234567890\s+ok/);
    expect(await writes()).toEqual(before);
  }, 30_000);

  it("a deploy that fails part-way deletes the functions it created and says what is left", async () => {
    const alerts = cloud.endpoints.telegramBots.alerts.username;
    await cloud.control("telegram", "rate-limit", {
      retryAfter: 30,
      count: 1,
      method: "setWebhook",
      bot: alerts,
    });
    const { code, io } = await cli(["deploy", "--out-dir", outDir()]);
    expect(code).toBe(1);
    const said = io.errors.join("\n");
    expect(said).toContain("error: deploy stopped: Telegram setWebhook: 429");
    expect(said).toContain(
      "rolled back: deleted clawwatch-gateway-probe, clawwatch-watchdog, clawwatch-telegram-webhook (created by this run, with their triggers)",
    );
    expect(said).toMatch(
      /left changed: bootstrap user_data \S+ \(created\); fix the problem and run deploy again to finish/,
    );
    for (const name of FUNCTIONS) expect(await showFunction(fg(), name)).toBeUndefined();
    expect((await alertApi().getWebhookInfo()).url).toBe("");
  }, 60_000);

  it("deploy --dry-run plans every step and changes nothing", async () => {
    const { code, io } = await cli(["deploy", "--dry-run", "--out-dir", outDir()]);
    expect(code, io.text()).toBe(0);
    expect(io.text()).toMatch(/function\s+clawwatch-watchdog\s+would create/);
    expect(io.text()).toMatch(/Telegram webhook\s+alert bot\s+would set/);
    for (const name of FUNCTIONS) expect(await showFunction(fg(), name)).toBeUndefined();
    expect((await alertApi().getWebhookInfo()).url).toBe("");
  }, 30_000);

  it("deploy creates the three functions, the triggers and the webhook; a rerun changes nothing", async () => {
    const hooksBefore = (await writes()).hooks;
    const first = await cli(["deploy", "--out-dir", outDir()]);
    expect(first.code, first.io.text()).toBe(0);
    for (const name of FUNCTIONS) expect(await showFunction(fg(), name)).toBeDefined();
    // Only the probe function is in the VPC; nothing checks for (or needs) a NAT gateway.
    expect(first.io.text()).not.toMatch(/NAT|egress/);
    const probe = await showFunction(fg(), "clawwatch-gateway-probe");
    expect(probe?.func_vpc).toMatchObject({ vpc_id: "vpc-local", subnet_id: "subnet-local" });
    expect(probe?.xrole).toBe("clawwatch-gateway-probe");
    for (const name of ["clawwatch-watchdog", "clawwatch-telegram-webhook"]) {
      expect((await showFunction(fg(), name))?.func_vpc ?? undefined, name).toBeUndefined();
    }
    // The probe holds the gateway token and nothing else of the secrets.
    const allSecrets = localSecretsEnv(cloud.endpoints);
    const probeEnv = `${probe?.user_data ?? ""}${probe?.encrypted_user_data ?? ""}`;
    expect(probeEnv).toContain(allSecrets.GATEWAY_TOKEN);
    for (const [name, value] of Object.entries(allSecrets)) {
      if (name !== "GATEWAY_TOKEN") expect(probeEnv, name).not.toContain(value);
    }
    const watchdog = await showFunction(fg(), "clawwatch-watchdog");
    expect(watchdog?.strategy_config?.concurrency).toBe(1);
    // The receiver too: one confirmation, one instance, one action.
    const webhook = await showFunction(fg(), "clawwatch-telegram-webhook");
    expect(webhook?.strategy_config?.concurrency).toBe(1);
    expect(watchdog?.runtime).toBe("Node.js20.15");
    // Secrets only in the encrypted env; the plain env carries references.
    const secrets = localSecretsEnv(cloud.endpoints);
    for (const value of Object.values(secrets)) expect(watchdog?.user_data).not.toContain(value);
    expect(watchdog?.encrypted_user_data).toContain(secrets.ALERT_BOT_TOKEN);
    const config = JSON.parse(JSON.parse(watchdog?.user_data ?? "{}").CLAWWATCH_CONFIG);
    expect(config.boxes[0].serverId).toBe(serverId);
    // Each function its own agency; the user_data's hash in the configuration only deploy sets.
    expect(watchdog?.xrole).toBe("clawwatch-watchdog");
    expect((await showFunction(fg(), "clawwatch-telegram-webhook"))?.xrole).toBe(
      "clawwatch-receiver",
    );
    const stored = (await cloud.control("obs", "get-object", {
      bucket: cloud.endpoints.bucket,
      key: `clawwatch/${config.boxes[0].name}/bootstrap/user-data.b64`,
    })) as { body: string };
    expect(config.boxes[0].bootstrapSha256).toBe(
      createHash("sha256").update(stored.body.trim()).digest("hex"),
    );

    const timers = await listTriggers(fg(), "clawwatch-watchdog");
    expect(timers.map((t) => [t.trigger_type_code, t.event_data?.schedule])).toEqual([
      ["TIMER", "1m"],
    ]);
    const [apig] = await listTriggers(fg(), "clawwatch-telegram-webhook");
    const url = apig?.event_data?.invoke_url;
    expect(url).toMatch(/\/clawwatch\/telegram$/);
    // A dedicated gateway's trigger, with what the env and group lookups found.
    expect(apig).toMatchObject({
      trigger_type_code: "DEDICATEDGATEWAY",
      event_data: {
        instance_id: cloud.endpoints.apigInstanceId,
        group_id: cloud.endpoints.apigGroupId,
        env_id: "DEFAULT_ENVIRONMENT_RELEASE_ID",
        backend_type: "FUNCTION",
        func_info: { timeout: 30_000 },
      },
    });
    // No domain is bound to the local group: the webhook goes to the debug domain, with a warning.
    expect(first.io.errors.join("\n")).toMatch(/WARNING: the webhook URL .* debug domain/);

    const info = await alertApi().getWebhookInfo();
    expect(info.url).toBe(url);
    expect([...(info.allowed_updates ?? [])].sort()).toEqual(["callback_query", "message"]);
    const setCalls = (await cloud.control("telegram", "calls", {
      bot: cloud.endpoints.telegramBots.alerts.username,
      method: "setWebhook",
    })) as { params: Record<string, string> }[];
    expect(setCalls).toHaveLength(hooksBefore + 1);
    expect(setCalls.at(-1)?.params.secret_token).toBe(secrets.WEBHOOK_SECRET);
    // Telegram's delivery to the receiver is accepted: the secret token matches its config.
    const e = cloud.endpoints;
    await cloud.control("telegram", "inject-message", {
      bot: e.telegramBots.alerts.username,
      chatId: e.alertChatId,
      userId: e.operatorUserId,
      text: "/help",
    });
    const delivered = await eventually(
      async () => {
        const views = (await cloud.control("telegram", "updates")) as {
          bot: string;
          pending: unknown[];
          lastErrorMessage?: string | null;
        }[];
        const alerts = views.find((v) => v.bot === e.telegramBots.alerts.username);
        return alerts && alerts.pending.length === 0 ? alerts : undefined;
      },
      "the /help reply delivered",
      15_000,
      100,
    );
    expect(delivered.lastErrorMessage ?? null).toBeNull();
    // No secret in anything the CLI printed.
    for (const value of [...Object.values(secrets), cloud.endpoints.credentials.sk]) {
      expect(first.io.text()).not.toContain(value);
    }

    const before = await deployedState();
    const second = await cli(["deploy", "--out-dir", outDir()]);
    expect(second.code, second.io.text()).toBe(0);
    expect(second.io.text()).toContain("nothing changed");
    expect(second.io.text()).not.toMatch(/\b(created|updated)\b/);
    expect(await deployedState()).toEqual(before);
    const setAgain = (await cloud.control("telegram", "calls", {
      bot: cloud.endpoints.telegramBots.alerts.username,
      method: "setWebhook",
    })) as unknown[];
    expect(setAgain).toHaveLength(hooksBefore + 1);
  }, 60_000);

  it("diagnose prints the watchdog's dry run as a table and as JSON", async () => {
    const table = await cli(["diagnose"]);
    expect(table.code, table.io.text()).toBe(0);
    const text = table.io.text();
    expect(text).toMatch(/component\s+status\s+latency\s+detail/);
    expect(text).toMatch(/gateway\s+\S+\s+\d+ ms/);
    expect(text).toContain("open incidents:");
    expect(text).toContain("policy now:");

    const json = await cli(["diagnose", "--json"]);
    expect(json.code, json.io.text()).toBe(0);
    const report = JSON.parse(json.io.lines.join("\n")) as FleetReport;
    expect(report.mode).toBe("dry-run");
    expect(report.boxes.map((b) => b.box)).toEqual(["openclaw-box"]);
    expect(report.boxes[0]?.observations?.gateway.status).toBeDefined();
  }, 30_000);

  it("an exported secret wins over the local cloud's built-in and reaches the deployed function", async () => {
    const own = "users-own-webhook-secret-0123456789";
    const io = { ...captureIo(), env: { WEBHOOK_SECRET: own } };
    const { code } = await cli(["deploy", "--out-dir", outDir()], io);
    expect(code, io.text()).toBe(0);
    expect(io.errors).toContain(
      "using the local cloud's built-in ALERT_BOT_TOKEN, GATEWAY_BOT_TOKEN, GATEWAY_TOKEN, MAAS_API_KEY (not set in your environment)",
    );
    expect(io.text()).not.toContain(own);
    const setCalls = (await cloud.control("telegram", "calls", {
      bot: cloud.endpoints.telegramBots.alerts.username,
      method: "setWebhook",
    })) as { params: Record<string, string> }[];
    expect(setCalls.at(-1)?.params.secret_token).toBe(own);
    // The receiver accepts Telegram's delivery: its encrypted env holds the exported secret.
    const e = cloud.endpoints;
    expect((await showFunction(fg(), "clawwatch-telegram-webhook"))?.encrypted_user_data).toContain(
      own,
    );
    await cloud.control("telegram", "inject-message", {
      bot: e.telegramBots.alerts.username,
      chatId: e.alertChatId,
      userId: e.operatorUserId,
      text: "/help",
    });
    const delivered = await eventually(
      async () => {
        const views = (await cloud.control("telegram", "updates")) as {
          bot: string;
          pending: unknown[];
          lastErrorMessage?: string | null;
        }[];
        const alerts = views.find((v) => v.bot === e.telegramBots.alerts.username);
        return alerts && alerts.pending.length === 0 ? alerts : undefined;
      },
      "the /help reply delivered",
      15_000,
      100,
    );
    expect(delivered.lastErrorMessage ?? null).toBeNull();
    // Back to the built-in secret for the tests after this one.
    const restore = await cli(["deploy", "--out-dir", outDir()]);
    expect(restore.code, restore.io.text()).toBe(0);
  }, 60_000);

  it("status shows the server, the functions, their triggers and the webhook", async () => {
    const { code, io } = await cli(["status"]);
    expect(code, io.text()).toBe(0);
    const text = io.text();
    expect(text).toMatch(/server\s+clawwatch-gateway\s+ACTIVE/);
    expect(text).toMatch(/function\s+clawwatch-watchdog\s+deployed.*public network/);
    expect(text).toMatch(
      /function\s+clawwatch-gateway-probe\s+deployed.*VPC access \(subnet subnet-local\)/,
    );
    expect(text).toMatch(/TIMER trigger\s+clawwatch-timer\s+ACTIVE/);
    expect(text).toMatch(/DEDICATEDGATEWAY trigger/);
    expect(text).toMatch(/webhook\s+alert bot\s+set/);
    expect(text).toMatch(/alert chat\s+-?\d+\s+ok\s+the alert bot can write there/);
  });

  it("status names what stops alerts: a kicked bot, a group that became a supergroup", async () => {
    const e = cloud.endpoints;
    const bot = e.telegramBots.alerts;
    const alerts = { botToken: bot.token, apiRoot: e.telegram };
    for (const chatId of [-9_001, -9_002]) {
      await cloud.control("telegram", "join-chat", { bot: bot.username, chatId });
    }
    await cloud.control("telegram", "remove-bot", { bot: bot.username, chatId: -9_001 });
    expect(await alertChatState({ ...alerts, chatId: -9_001 })).toEqual({
      state: "FAILING",
      detail: "403 Forbidden: bot was kicked from the group chat",
    });
    await cloud.control("telegram", "migrate-chat", { bot: bot.username, chatId: -9_002 });
    expect(await alertChatState({ ...alerts, chatId: -9_002 })).toEqual({
      state: "moved",
      detail: "the group became supergroup -1000000009002: set alerts.chatId to -1000000009002",
    });
  });

  it("test-alert delivers through the notifier; a wrong chat id fails with the fix", async () => {
    const e = cloud.endpoints;
    const before = (await cloud.control("telegram", "messages", {
      chatId: e.alertChatId,
    })) as unknown[];
    const ok = await cli(["test-alert"]);
    expect(ok.code, ok.io.text()).toBe(0);
    expect(ok.io.text()).toMatch(/Telegram\s+-1001234567890\s+sent\s+message \d+/);
    const after = (await cloud.control("telegram", "messages", { chatId: e.alertChatId })) as {
      plainText: string;
    }[];
    expect(after).toHaveLength(before.length + 1);
    expect(after.at(-1)?.plainText).toContain("clawwatch test alert");

    const file = await localFile("wrong-chat.json", (f) => {
      f.product.alerts.chatId = -1_005_555_555_555;
    });
    const wrong = await cli(["test-alert", "--config", file]);
    expect(wrong.code).toBe(1);
    expect(wrong.io.errors.at(-1)).toBe(
      'error: the test alert did not arrive: Telegram: alerts.chatId -1005555555555: Telegram says "chat not found": add the alert bot to the alert group first, then use the group\'s id (a supergroup\'s starts with -100; DEPLOY.md, "Finding the chat and user ids")',
    );
    const diagnose = await cli(["diagnose", "--config", file]);
    expect(diagnose.io.errors.join("\n")).toContain(
      'WARNING: alerts.chatId -1005555555555: Telegram says "chat not found"',
    );
  }, 60_000);

  it("validate checks a file offline; --version and <command> --help answer without a cloud", async () => {
    const file = join(dir, "validate.json");
    await writeFile(
      file,
      JSON.stringify({
        projectId: "0123456789abcdef0123456789abcdef",
        functions: {
          vpcId: "vpc-1",
          subnetId: "subnet-1",
          apig: { instanceId: "i", groupId: "g" },
        },
        product: {
          boxes: [
            {
              name: "openclaw-1",
              serverId: "4f1c2a7e-0000-4000-8000-000000000001",
              gateway: { url: "http://192.168.0.10:18789", token: envRef("GATEWAY_TOKEN") },
              telegram: { botToken: envRef("GATEWAY_BOT_TOKEN") },
              maas: {
                baseUrl: "https://api.modelarts-maas.com/v1",
                apiKey: envRef("MAAS_API_KEY"),
                model: "m",
              },
            },
          ],
          alerts: { botToken: envRef("ALERT_BOT_TOKEN"), chatId: -1001234567890 },
          state: { bucket: "my-state" },
        },
      }),
    );
    const env = {
      GATEWAY_TOKEN: "gw-0123456789",
      MAAS_API_KEY: "k",
      GATEWAY_BOT_TOKEN: "1:a",
      ALERT_BOT_TOKEN: "2:b",
    };
    // No --endpoints: validate reads nothing but the file and the environment.
    const io = { ...captureIo(), env };
    expect(await run(["validate", "--config", file], io)).toBe(0);
    expect(io.lines.join("\n")).toBe(
      `${file}: valid for huawei (1 box: openclaw-1; 4 secrets from the environment)`,
    );
    const missing = { ...captureIo(), env: { ...env, MAAS_API_KEY: "" } };
    expect(await run(["validate", "--config", file], missing)).toBe(1);
    expect(missing.errors.join("\n")).toContain(
      "product.boxes.0.maas.apiKey: environment variable MAAS_API_KEY is not set",
    );

    const version = captureIo();
    expect(await run(["--version"], version)).toBe(0);
    expect(version.lines).toEqual(["clawwatch 0.1.0"]);
    for (const command of [
      "create-server",
      "deploy",
      "diagnose",
      "status",
      "destroy",
      "test-alert",
      "validate",
    ]) {
      const help = captureIo();
      expect(await run([command, "--help"], help), command).toBe(0);
      expect(help.lines.join("\n"), command).toMatch(
        new RegExp(`^Usage: npm run infra -- ${command}`),
      );
    }
  });

  it("destroy asks first and, without a terminal, refuses without --yes", async () => {
    const refused = await cli(["destroy"]);
    expect(refused.code).toBe(1);
    expect(refused.io.text()).toContain("pass --yes");
    const declined = await cli(["destroy"], captureIo({ isTTY: true, answer: false }));
    expect(declined.code).toBe(0);
    expect(declined.io.text()).toContain("nothing deleted");
    for (const name of FUNCTIONS) expect(await showFunction(fg(), name)).toBeDefined();
  });

  it("destroy --yes deletes functions, triggers and webhook but keeps the server", async () => {
    const { code, io } = await cli(["destroy", "--yes"]);
    expect(code, io.text()).toBe(0);
    for (const name of FUNCTIONS) expect(await showFunction(fg(), name)).toBeUndefined();
    expect((await alertApi().getWebhookInfo()).url).toBe("");
    expect((await ecsServers()).find((s) => s.id === serverId)?.status).toBe("ACTIVE");
  });

  it("watch only: a server you already run, named by serverId with no server block, is watched, healed by reboot and never reinstalled", async () => {
    const e = cloud.endpoints;
    const box = e.boxes[0];
    if (!box) throw new Error("the local cloud has no seeded box");
    const { file: built } = localDeploymentConfig(e);
    const { server: _none, bootstrap: _noBootstrap, ...rest } = built;
    const file = join(dir, "watch-only.json");
    await writeFile(
      file,
      JSON.stringify({
        ...rest,
        // At time scale 0.01 a 24h TIMER never fires during the test: cycles are invoked.
        // Without a server block the gateway-probe function's VPC is named here.
        functions: { timerRate: "24h", vpcId: "vpc-local", subnetId: "subnet-local" },
        product: {
          ...built.product,
          boxes: [
            {
              name: "watched",
              serverId: box.serverId,
              gateway: { url: box.gatewayUrl, token: envRef("OWN_GATEWAY_TOKEN") },
              telegram: { botToken: envRef("OWN_BOT_TOKEN") },
            },
          ],
          policy: FAST_POLICY,
          probes: FAST_PROBES,
        },
      }),
    );
    const env = { OWN_GATEWAY_TOKEN: box.gatewayToken, OWN_BOT_TOKEN: box.telegramBot.token };
    const noServer = { ...captureIo(), env };
    expect(
      await run(["create-server", "--config", file, "--endpoints", endpointsFile], noServer),
    ).toBe(1);
    expect(noServer.errors.join("\n")).toContain("the deployment has no server block");

    const io = { ...captureIo(), env };
    expect(
      await run(
        ["deploy", "--config", file, "--out-dir", outDir(), "--endpoints", endpointsFile],
        io,
      ),
    ).toBe(0);
    expect(io.text()).toMatch(/bootstrap user_data\s+-\s+skipped\s+watch only/);
    const watchdog = await showFunction(fg(), "clawwatch-watchdog");
    const config = JSON.parse(JSON.parse(watchdog?.user_data ?? "{}").CLAWWATCH_CONFIG);
    expect(config.boxes[0].serverId).toBe(box.serverId);
    expect(config.boxes[0].bootstrapStored).toBeUndefined();

    const actions = async () =>
      ((await ecsCalls()) as { operation?: string; serverIds?: string[]; status: number }[])
        .filter(
          (c) =>
            c.operation && c.status > 0 && c.status < 300 && c.serverIds?.includes(box.serverId),
        )
        .map((c) => c.operation);
    const before = (await actions()).length;
    const cycle = () =>
      invoke<FleetReport>(fg(), "clawwatch-watchdog", { command: "cycle", box: "watched" });
    const guest = async () =>
      (
        (await cloud.control("ecs", "servers")) as {
          id: string;
          status: string;
          guestPid?: number;
          bootMs: number;
        }[]
      ).find((s) => s.id === box.serverId);
    const fault = async (action: "hang" | "crash-loop") => {
      const g = await guest();
      if (g?.status !== "ACTIVE" || g.guestPid === undefined) return;
      await cloud.control("ecs", action, { serverId: box.serverId }).catch(() => {});
    };

    // A hang is healed by a soft reboot (a plain crash its systemd unit heals by itself).
    await cycle();
    await fault("hang");
    for (let i = 0; i < 25 && (await actions()).length === before; i++) await cycle();
    expect((await actions()).slice(before)).toEqual(["reboot SOFT"]);
    await eventually(
      async () => {
        const g = await guest();
        return g?.status === "ACTIVE" && g.guestPid !== undefined ? true : undefined;
      },
      "the rebooted guest to run",
      15_000,
      100,
    );
    let healthy = false;
    for (let i = 0; i < 25 && !healthy; i++) {
      healthy = (await cycle()).boxes[0]?.openIncidents.length === 0;
      if (!healthy) await new Promise((r) => setTimeout(r, 150));
    }
    expect(healthy).toBe(true);

    // A gateway that never comes back (a crash loop survives reboots): reboots, then a human;
    // the system disk is never reinstalled. Every start answers "starting" for 400 ms, then
    // dies: never ready, and seen alive between crashes (so a crash loop, not a failed unit).
    const bootMs = (await guest())?.bootMs ?? 0;
    await cloud.control("ecs", "slow-boot", { serverId: box.serverId, ms: 600_000 });
    await cloud.control("ecs", "crash-loop", { serverId: box.serverId, ms: 400 });
    const needsHuman = async () =>
      (
        (await cloud.control("telegram", "messages", { bot: e.telegramBots.alerts.username })) as {
          plainText: string;
        }[]
      ).some((m) => m.plainText.includes("watched") && /needs a human/.test(m.plainText));
    for (let i = 0; i < 150 && !(await needsHuman()); i++) await cycle();
    expect(await needsHuman()).toBe(true);
    const all = (await actions()).slice(before);
    expect(all).toEqual(["reboot SOFT", "reboot SOFT", "reboot HARD"]);
    expect(all).not.toContain("reinstall");
    await cloud.control("ecs", "slow-boot", { serverId: box.serverId, ms: bootMs });
    await cloud.control("ecs", "heal", { serverId: box.serverId });
    const gone = await cli(["destroy", "--yes", "--config", file], { ...captureIo(), env });
    expect(gone.code, gone.io.text()).toBe(0);
  }, 120_000);

  it("a server adopted by name keeps its system disk unless rebootstrapWipesSystemDisk opts in", async () => {
    const e = cloud.endpoints;
    const box = e.boxes[0];
    const seeded = (await ecsServers()).find((s) => s.id === box?.serverId);
    if (!box || !seeded) throw new Error("the local cloud has no seeded box");
    const env = { OWN_GATEWAY_TOKEN: box.gatewayToken, OWN_BOT_TOKEN: box.telegramBot.token };
    const deployWith = async (optIn: boolean) => {
      const { file: built } = localDeploymentConfig(e, { serverName: seeded.name });
      const path = join(dir, `adopted-${optIn}.json`);
      await writeFile(
        path,
        JSON.stringify({
          ...built,
          ...(optIn ? { rebootstrapWipesSystemDisk: true } : {}),
          functions: { timerRate: "24h" },
          product: {
            ...built.product,
            boxes: [
              {
                name: "adopted",
                gateway: { url: box.gatewayUrl, token: envRef("OWN_GATEWAY_TOKEN") },
                telegram: { botToken: envRef("OWN_BOT_TOKEN") },
              },
            ],
          },
        }),
      );
      const io = { ...captureIo(), env };
      const code = await run(
        ["deploy", "--config", path, "--out-dir", outDir(), "--endpoints", endpointsFile],
        io,
      );
      expect(code, io.text()).toBe(0);
      const watchdog = await showFunction(fg(), "clawwatch-watchdog");
      const config = JSON.parse(JSON.parse(watchdog?.user_data ?? "{}").CLAWWATCH_CONFIG);
      return { text: io.text(), box: config.boxes[0] };
    };
    const off = await deployWith(false);
    expect(off.text).toContain(
      `server ${box.serverId} was not built by clawwatch: the reinstall rung is off (rebootstrapWipesSystemDisk: true turns it on, and wipes the system disk)`,
    );
    expect(off.box.bootstrapStored).toBeUndefined();
    const on = await deployWith(true);
    expect(on.text).toMatch(/bootstrap user_data\s+\S+\s+(created|updated|unchanged)/);
    expect(on.box.bootstrapStored).toBe(true);
    expect(on.box.bootstrapSha256).toMatch(/^[0-9a-f]{64}$/);
    const gone = await cli(["destroy", "--yes"]);
    expect(gone.code, gone.io.text()).toBe(0);
  }, 60_000);

  it("destroy --server deletes the server but keeps its data disk unless told", async () => {
    const dataDir = (id: string) => join(dir, "cloud", "ecs", "servers", id, "data");
    const kept = await cli(["destroy", "--yes", "--server"]);
    expect(kept.code, kept.io.text()).toBe(0);
    expect((await ecsServers()).find((s) => s.id === serverId)?.status).toBe("DELETED");
    expect(existsSync(dataDir(serverId))).toBe(true);
    expect(vpc.securityGroups()).toEqual([]);

    const again = await cli(["create-server"]);
    expect(again.code, again.io.text()).toBe(0);
    const second = (await ecsServers()).find(
      (s) => s.name === LOCAL_SERVER_NAME && s.status === "ACTIVE",
    );
    expect(second).toBeDefined();
    const gone = await cli(["destroy", "--yes", "--server", "--delete-data-disk"]);
    expect(gone.code, gone.io.text()).toBe(0);
    expect(gone.io.text()).toContain("data disk deleted too");
    expect(existsSync(dataDir(second?.id ?? ""))).toBe(false);
  }, 30_000);
});
