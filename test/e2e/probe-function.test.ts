import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteFunction, invoke, upsertFunction } from "../../infra/deploy/functions";
import { PROBE_FUNCTION } from "../../infra/deploy/probe";
import { LOCAL_AGENCIES, repositoryAgencyPolicy } from "../../infra/local/iam";
import { deployProbeLocally } from "../../infra/local/product";
import type { FleetReport } from "../../shared/watchdog/fleet";
import { type Harness, startHarness, WATCHDOG } from "./harness";

/**
 * The three-function topology on the local cloud: the watchdog (no VPC access) sees the gateway
 * only through the gateway-probe function (VPC access, nothing else reachable), and a probe
 * function that is gone or hangs is the watchdog's problem, never a reason to reboot the box.
 */
let h: Harness;
let fixtureZip: string;

beforeAll(async () => {
  h = await startHarness(4);
  const { buildFunctions } = (await import(pathToFileURL(resolve("build.mjs")).href)) as {
    buildFunctions: (o: object) => Promise<{ name: string; zipPath: string }[]>;
  };
  const [fixture] = await buildFunctions({
    srcDir: resolve("test/fixtures/functions"),
    outDir: join(h.zipOf("watchdog"), "..", "fixtures"),
    names: ["probe"],
  });
  fixtureZip = fixture?.zipPath ?? "";
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

const ecs = (action: string, params: Record<string, unknown>) =>
  h.cloud.control("ecs", action, params);

const box = async (name: string) => (await h.cycle(name)).boxes[0];

async function probeInvocations(): Promise<number> {
  const records = (await h.cloud.control("functiongraph", "invocations", {
    functionName: PROBE_FUNCTION,
    limit: 1000,
  })) as unknown[];
  return records.length;
}

function redeployProbe(overrides: { timeoutSeconds?: number; timeoutMs?: number } = {}) {
  const product = structuredClone(h.product);
  if (overrides.timeoutMs !== undefined) {
    const config = JSON.parse(product.env.CLAWWATCH_CONFIG ?? "{}");
    config.probes = { ...config.probes, gatewayTimeout: overrides.timeoutMs };
    product.env.CLAWWATCH_CONFIG = JSON.stringify(config);
  }
  return deployProbeLocally(h.target, product, h.zipOf("gateway-probe"), overrides);
}

describe("the gateway-probe function", () => {
  it("the deployed watchdog sees a healthy gateway through the deployed probe function", async () => {
    const before = await probeInvocations();
    const report = await box("box-1");
    expect(report?.observations?.gateway).toMatchObject({ status: "ok", httpStatus: 200 });
    expect(report?.observations?.gateway).toHaveProperty("uptimeMs");
    expect(await probeInvocations()).toBeGreaterThan(before);
    expect(report?.errors).toEqual([]);
  });

  it("the network: no route from public functions to the gateway, none from the probe to Telegram or MaaS", async () => {
    const e = h.cloud.endpoints;
    const gateway = `${e.boxes[0]?.gatewayUrl}/readyz`;
    const telegram = `${e.telegram}/bot${e.telegramBots.alerts.token}/getMe`;
    const maas = `${e.maasApi.baseUrl}/models`;
    const spec = { zipPath: fixtureZip, env: {}, secrets: {}, memoryMb: 128, timeoutSeconds: 10 };
    await upsertFunction(h.target, {
      ...spec,
      name: "net-public",
      agency: LOCAL_AGENCIES.watchdog,
    });
    await upsertFunction(h.target, {
      ...spec,
      name: "net-vpc",
      agency: LOCAL_AGENCIES.probe,
      vpc: { vpcId: "vpc-local", subnetId: "subnet-local" },
    });
    type Reach = { url: string; status?: number; error?: string }[];
    const from = (fn: string) =>
      invoke<Reach>(h.target, fn, { mode: "fetch", urls: [gateway, telegram, maas] });
    const [pubGateway, pubTelegram, pubMaas] = await from("net-public");
    expect(pubGateway).toMatchObject({ error: "ENETUNREACH" });
    expect(pubTelegram?.status).toBe(200);
    expect(pubMaas?.status).toBeDefined();
    const [vpcGateway, vpcTelegram, vpcMaas] = await from("net-vpc");
    expect(vpcGateway?.status).toBeDefined();
    expect(vpcTelegram).toMatchObject({ error: "ENETUNREACH" });
    expect(vpcMaas).toMatchObject({ error: "ENETUNREACH" });
  });

  it("a watchdog that probes the gateway itself (the old topology) finds no route to it", async () => {
    const config = JSON.parse(h.product.env.CLAWWATCH_CONFIG ?? "{}");
    delete config.cloud.gatewayProbeFunction;
    await upsertFunction(h.target, {
      name: "watchdog-direct",
      zipPath: h.zipOf("watchdog"),
      env: { CLAWWATCH_CONFIG: JSON.stringify(config) },
      secrets: h.product.secrets,
      agency: LOCAL_AGENCIES.watchdog,
      memoryMb: 256,
      timeoutSeconds: 60,
    });
    const report = await invoke<FleetReport>(h.target, "watchdog-direct", {
      command: "diagnose",
      box: "box-2",
    });
    const gateway = report.boxes[0]?.observations?.gateway;
    expect(gateway).toMatchObject({ status: "down", unreachable: true });
    expect(gateway?.detail).toMatch(/127\.0\.0\.1:\d+/);
    await deleteFunction(h.target, "watchdog-direct");
  });

  it("the watchdog's agency without the invoke grant: refused, reported, not counted", async () => {
    const e = h.cloud.endpoints;
    const granted = repositoryAgencyPolicy(e.bucket, "watchdog") as {
      Statement: { Action: string[] }[];
    };
    const noInvoke = {
      ...granted,
      Statement: granted.Statement.filter(
        (s) => !s.Action.includes("functiongraph:function:invoke"),
      ),
    };
    const setPolicy = (policy: unknown) =>
      h.cloud.control("iam", "set-agency", { name: LOCAL_AGENCIES.watchdog, policies: [policy] });
    await setPolicy(noInvoke);
    try {
      const report = await box("box-3");
      expect(report?.observations?.gateway).toMatchObject({ status: "error" });
      expect(report?.observations?.gateway.detail).toMatch(/403.*functiongraph:function:invoke/);
      expect(report?.plan.join("\n")).toMatch(/watchdog: fail \(probe-unavailable\)/);
      const denials = (await h.cloud.control("iam", "denials")) as { action: string }[];
      expect(denials.map((d) => d.action)).toContain("functiongraph:function:invoke");
    } finally {
      await setPolicy(granted);
    }
    expect((await box("box-3"))?.observations?.gateway.status).toBe("ok");
  });

  it("probe function deleted: a watchdog-side alert, no reboot; resolved once it is back", async () => {
    await deleteFunction(h.target, PROBE_FUNCTION);
    try {
      for (let i = 0; i < 5; i++) {
        const report = await box("box-4");
        expect(report?.observations?.gateway).toMatchObject({ status: "error" });
        expect(report?.observations?.gateway.detail).toMatch(/not found \(HTTP 404/);
      }
      const state = await h.stateOf("box-4");
      expect(state).toMatchObject({
        policy: { counters: { gateway: { consecutiveFailures: 0 } } },
      });
      const alerts = await h.alerts("box-4");
      expect(alerts.map((m) => m.plainText).join("\n")).toMatch(/cannot run its gateway probe/);
      expect(await h.ecsActions("box-4")).toEqual([]);
    } finally {
      await redeployProbe();
    }
    for (let i = 0; i < 3; i++) await box("box-4");
    const texts = (await h.alerts("box-4")).map((m) => m.plainText);
    expect(texts.at(-1)).toMatch(/resolved/i);
    expect(await h.ecsActions("box-4")).toEqual([]);
  });

  it("probe function timing out on a hung gateway: a watchdog-side alert, no reboot", async () => {
    // The function may run 3 s, its probe waits 20 s per try: every invoke ends in its timeout.
    await redeployProbe({ timeoutSeconds: 3, timeoutMs: 20_000 });
    await ecs("hang", { serverId: h.serverOf("box-1") });
    try {
      for (let i = 0; i < 4; i++) {
        const report = await box("box-1");
        expect(report?.observations?.gateway).toMatchObject({ status: "error" });
        expect(report?.observations?.gateway.detail).toMatch(/timed out/);
      }
      expect(await h.ecsActions("box-1")).toEqual([]);
      const texts = (await h.alerts("box-1")).map((m) => m.plainText).join("\n");
      expect(texts).toMatch(/cannot run its gateway probe/);
    } finally {
      await redeployProbe();
      await ecs("resume", { serverId: h.serverOf("box-1") });
    }
  });
});

describe("the watchdog function", () => {
  it("keeps running as the deployed watchdog", async () => {
    expect(
      (await invoke<FleetReport>(h.target, WATCHDOG, { command: "diagnose", box: "box-2" }))
        .boxes[0]?.observations?.gateway.status,
    ).toBe("ok");
  });
});
