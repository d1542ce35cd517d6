import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_AGENCY, repositoryAgencyPolicy } from "../../infra/local/iam";
import { STATE_VERSION } from "../../shared/policy";
import { eventually, type Harness, startHarness } from "./harness";

/**
 * The bundled watchdog (npm run build) deployed to the local FunctionGraph through the SDK,
 * checking stand-in gateways on local ECS servers, state in local OBS, alerts at the Telegram
 * fake. One box per scenario keeps them independent; cycles are stepped by manual invokes.
 */
let h: Harness;

beforeAll(async () => {
  h = await startHarness(12);
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

const ecs = (action: string, params: Record<string, unknown>) =>
  h.cloud.control("ecs", action, params);

async function cycles(box: string, count: number) {
  const reports = [];
  for (let i = 0; i < count; i++) reports.push(await h.cycle(box));
  return reports;
}

/** Cycles until `check` holds (each cycle is one watchdog invocation). */
async function cycleUntil(box: string, what: string, check: () => Promise<boolean>, max = 25) {
  for (let i = 0; i < max; i++) {
    await h.cycle(box);
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`after ${max} cycles still no ${what}`);
}

/** Cycles until the box's gateway is ready and no incident is open (a clean start for a test). */
async function untilHealthy(box: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const report = (await h.cycle(box)).boxes[0];
    if (report?.observations?.gateway.status === "ok" && report.openIncidents.length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${box} never became healthy`);
}

async function guestReady(box: string): Promise<boolean> {
  const server = (
    (await ecs("servers", {})) as { id: string; status: string; guestPid?: number }[]
  ).find((s) => s.id === h.serverOf(box));
  return server?.status === "ACTIVE" && server.guestPid !== undefined;
}

interface RestartState {
  policy: {
    incidents: Record<string, unknown>;
    selfRestarts?: { times: number[]; warning?: { count: number } };
  };
}

const titles = async (box: string) => (await h.alerts(box)).map((m) => m.plainText.split("\n")[0]);

describe("watchdog on the local cloud", () => {
  it("stays quiet and acts on nothing while everything is healthy", async () => {
    await cycles("box-1", 2);
    expect(await h.alerts("box-1")).toEqual([]);
    expect(await h.ecsActions("box-1")).toEqual([]);
    const state = await h.stateOf("box-1");
    expect(state).toMatchObject({ version: STATE_VERSION, policy: { box: "box-1", cycle: 2 } });
  });

  it("diagnose reports every probe with latency and acts on nothing", async () => {
    // exit-config keeps it down (a killed gateway would be back by itself in a moment).
    await ecs("exit-config", { serverId: h.serverOf("box-1") });
    await eventually(async () => (await h.server("box-1")).unit === "failed", "the unit to fail");
    const before = await h.stateOf("box-1");
    const report = await h.diagnose("box-1");
    const box = report.boxes[0];
    expect(report.mode).toBe("dry-run");
    expect(box?.observations?.gateway).toMatchObject({
      status: "down",
      unreachable: true,
      refused: true,
    });
    expect(box?.observations?.gateway).toHaveProperty("latencyMs");
    expect(box?.observations?.maas?.status).toBe("ok");
    expect(box?.observations?.telegram?.status).toBe("ok");
    expect(box?.observations?.server).toMatchObject({ status: "ACTIVE" });
    expect(box?.plan.join("\n")).toMatch(/gateway: fail \(down\)/);
    expect(await h.stateOf("box-1")).toEqual(before);
    expect(await h.ecsActions("box-1")).toEqual([]);
    await ecs("heal", { serverId: h.serverOf("box-1") });
  });

  it("crash loop: alerts past the restart window, soft-reboots once, resolved once it stops", async () => {
    await cycles("box-2", 1);
    // Each start is "starting" for 300 ms (slow boot), then dies: never ready, and it answers in
    // between (the sign of a loop rather than a failed unit).
    await ecs("slow-boot", { serverId: h.serverOf("box-2"), ms: 60_000 });
    await ecs("crash-loop", { serverId: h.serverOf("box-2"), ms: 300 });
    await cycleUntil("box-2", "a reboot", async () => (await h.ecsActions("box-2")).length > 0);
    const opened = await h.alerts("box-2");
    expect(opened.length).toBeGreaterThanOrEqual(1);
    expect(opened[0]?.plainText).toMatch(/gateway (down|crash-looping) on box-2/);
    expect(
      opened[0]?.buttons
        .flat()
        .map((b) => b.text)
        .join(" "),
    ).toMatch(/Ack/);
    expect(await h.ecsActions("box-2")).toEqual(["reboot SOFT"]);
    await ecs("heal", { serverId: h.serverOf("box-2") });
    await ecs("slow-boot", { serverId: h.serverOf("box-2"), ms: 80 });
    await eventually(() => guestReady("box-2"), "the guest to boot again");
    // The grace after the reboot runs on the emulator's clock: a loaded machine needs more cycles.
    await cycleUntil(
      "box-2",
      "resolved message",
      async () => (await titles("box-2")).some((t) => /resolved|back to normal/i.test(t ?? "")),
      60,
    );
    const messages = await h.alerts("box-2");
    const resolved = messages.at(-1);
    expect(resolved?.replyTo).toBe(messages[0]?.messageId);
    expect(await h.ecsActions("box-2")).toEqual(["reboot SOFT"]);
  });

  it("hung gateway (accepts, never answers) is treated as down and rebooted", async () => {
    await ecs("hang", { serverId: h.serverOf("box-3") });
    await cycleUntil("box-3", "a reboot", async () => (await h.ecsActions("box-3")).length > 0, 6);
    expect(await h.ecsActions("box-3")).toEqual(["reboot SOFT"]);
    await eventually(() => guestReady("box-3"), "the guest to boot again");
    await cycleUntil("box-3", "resolution", async () =>
      (await titles("box-3")).some((t) => /resolved|back to normal/i.test(t ?? "")),
    );
  });

  it("crash: systemd brings it back; no incident, no ECS call, one restart seen", async () => {
    await untilHealthy("box-10");
    const alertsBefore = (await h.alerts("box-10")).length;
    await ecs("crash", { serverId: h.serverOf("box-10") });
    const reports = [];
    for (let i = 0; i < 40; i++) {
      reports.push((await h.cycle("box-10")).boxes[0]);
      const restarts = ((await h.stateOf("box-10")) as unknown as RestartState).policy.selfRestarts;
      if (reports.at(-1)?.observations?.gateway.status === "ok" && restarts?.times.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await cycles("box-10", 3);
    const state = (await h.stateOf("box-10")) as unknown as RestartState;
    const server = await h.server("box-10");
    // One object, so a failure shows the whole picture.
    expect({
      alerts: (await h.alerts("box-10")).slice(alertsBefore).map((m) => m.plainText),
      ecsCalls: await h.ecsCalls("box-10"),
      incident: state.policy.incidents.gateway,
      restartsSeen: state.policy.selfRestarts?.times.length,
      unit: { nRestarts: server.nRestarts, lastExit: server.lastExit },
    }).toEqual({
      alerts: [],
      ecsCalls: [],
      incident: undefined,
      restartsSeen: 1,
      unit: { nRestarts: 1, lastExit: "killed (SIGABRT)" },
    });
  });

  it("exit-config (78): the alert names the config; one reboot (it re-runs the repair), then a human", async () => {
    await untilHealthy("box-11");
    await ecs("exit-config", { serverId: h.serverOf("box-11") });
    const needsHuman = async () =>
      (await titles("box-11")).some((t) => /needs a human/.test(t ?? ""));
    await cycleUntil("box-11", "needs a human", needsHuman, 60);
    const text = (await h.alerts("box-11")).map((m) => m.plainText).join("\n");
    expect(text).toMatch(/exit 78/);
    expect(text).toMatch(/config/);
    expect(text).toMatch(/gateway unit failed \(config\?\)/);
    for (let i = 0; i < 4; i++) await h.cycle("box-11");
    // No hard reboot, no rebootstrap: systemd (and so a reboot) cannot fix a config.
    expect(await h.ecsActions("box-11")).toEqual(["reboot SOFT"]);
    expect(await h.server("box-11")).toMatchObject({ unit: "failed", lastExit: "exit 78" });
    await ecs("heal", { serverId: h.serverOf("box-11") });
  });

  it("oom-every: one warning with the count, no action, while systemd keeps healing it", async () => {
    await untilHealthy("box-12");
    const alertsBefore = (await h.alerts("box-12")).length;
    await ecs("oom-every", { serverId: h.serverOf("box-12"), ms: 2_500 });
    const warned = async () =>
      (await h.alerts("box-12")).some((m) => /restarted itself/.test(m.plainText));
    await cycleUntil("box-12", "the warning", warned, 200);
    // One more kill and its restart: still the one warning.
    const before = (await h.server("box-12")).nRestarts;
    await eventually(
      async () => (await h.server("box-12")).nRestarts > before,
      "another kill",
      100,
    );
    await cycles("box-12", 10);
    const alerts = (await h.alerts("box-12")).slice(alertsBefore);
    expect(alerts.map((m) => m.plainText.split("\n")[0])).toEqual([
      expect.stringMatching(/gateway restarted itself 3 times in 1 h on box-12/),
    ]);
    expect(alerts[0]?.plainText).toMatch(/no action was taken/);
    expect(await h.ecsCalls("box-12")).toEqual([]);
    const state = (await h.stateOf("box-12")) as unknown as RestartState;
    expect(state.policy.incidents.gateway).toBeUndefined();
    expect(state.policy.selfRestarts?.warning?.count).toBeGreaterThanOrEqual(3);
    await ecs("heal", { serverId: h.serverOf("box-12") });
  });

  it("server SHUTOFF: alerts and starts it", async () => {
    await ecs("set-status", { serverId: h.serverOf("box-4"), status: "SHUTOFF" });
    await cycleUntil(
      "box-4",
      "a start",
      async () => (await h.ecsActions("box-4")).includes("start"),
      6,
    );
    expect(await h.ecsActions("box-4")).toEqual(["start"]);
    expect((await h.alerts("box-4")).length).toBeGreaterThan(0);
    await eventually(() => guestReady("box-4"), "the server to run again");
    await cycleUntil("box-4", "resolution", async () =>
      (await titles("box-4")).some((t) => /resolved|back to normal/i.test(t ?? "")),
    );
  });

  it("server ERROR: needs a human, no action", async () => {
    await ecs("set-status", { serverId: h.serverOf("box-5"), status: "ERROR" });
    await cycles("box-5", 4);
    const text = (await h.alerts("box-5")).map((m) => m.plainText).join("\n");
    expect(text).toMatch(/human/i);
    expect(await h.ecsActions("box-5")).toEqual([]);
    await ecs("set-status", { serverId: h.serverOf("box-5"), status: "ACTIVE" });
  });

  it("MaaS key rejected: alert with the key hint, never a reboot", async () => {
    await h.cloud.control("maas", "status", { status: 401 });
    try {
      await cycles("box-6", 2);
      const text = (await h.alerts("box-6")).map((m) => m.plainText).join("\n");
      expect(text).toMatch(/key/i);
      expect(await h.ecsActions("box-6")).toEqual([]);
    } finally {
      await h.cloud.control("maas", "reset");
    }
    await cycleUntil("box-6", "resolution", async () =>
      (await titles("box-6")).some((t) => /resolved|back to normal/i.test(t ?? "")),
    );
  });

  it("Telegram down: alerts wait in the outbox and are delivered later, nothing lost", async () => {
    await h.cloud.control("telegram", "down");
    try {
      await ecs("hang", { serverId: h.serverOf("box-7") });
      await cycles("box-7", 3);
      expect(await h.alerts("box-7")).toEqual([]);
      const state = (await h.stateOf("box-7")) as { policy: { outbox: unknown[] } };
      expect(state.policy.outbox.length).toBeGreaterThan(0);
    } finally {
      await h.cloud.control("telegram", "up");
    }
    await cycles("box-7", 1);
    expect((await h.alerts("box-7")).length).toBeGreaterThan(0);
  });

  it("OBS down: logged, no destructive action, state intact", async () => {
    await cycles("box-8", 1);
    const before = await h.stateOf("box-8");
    await ecs("hang", { serverId: h.serverOf("box-8") });
    await h.cloud.control("obs", "error", { status: 503 });
    try {
      const reports = await cycles("box-8", 4);
      expect(reports.every((r) => r.boxes[0]?.decided === false)).toBe(true);
      expect(reports[0]?.boxes[0]?.errors.join()).toMatch(/OBS/);
    } finally {
      await h.cloud.control("obs", "reset");
    }
    expect(await h.ecsActions("box-8")).toEqual([]);
    expect(await h.stateOf("box-8")).toEqual(before);
  });

  it("corrupt state: moved aside, fresh state, operators told", async () => {
    const e = h.cloud.endpoints;
    await h.cloud.control("obs", "put-object", {
      bucket: e.bucket,
      key: "clawwatch/box-9/state.json",
      body: "{not json",
    });
    const report = await h.cycle("box-9");
    expect(report.boxes[0]?.decided).toBe(true);
    const text = (await h.alerts("box-9")).map((m) => m.plainText).join("\n");
    expect(text).toMatch(/state/i);
    const kept = (await h.cloud.control("obs", "objects", {
      bucket: e.bucket,
      prefix: "clawwatch/box-9/corrupt/",
    })) as unknown[];
    expect(kept.length).toBe(1);
    expect(await h.stateOf("box-9")).toMatchObject({ version: STATE_VERSION });
  });

  it("the agency's policy decides each ECS call: a reboot it does not grant is refused", async () => {
    const e = h.cloud.endpoints;
    const granted = repositoryAgencyPolicy(e.bucket, "watchdog") as {
      Version: string;
      Statement: { Effect: string; Action: string[]; Resource?: string[] }[];
    };
    const noReboot = {
      ...granted,
      Statement: granted.Statement.map((s) => ({
        ...s,
        Action: s.Action.filter((a) => a !== "ecs:cloudServers:reboot"),
      })),
    };
    const setPolicy = (policy: unknown) =>
      h.cloud.control("iam", "set-agency", { name: LOCAL_AGENCY, policies: [policy] });
    await setPolicy(noReboot);
    try {
      await cycles("box-10", 1);
      // A hung gateway needs a reboot; a killed one is restarted by its systemd unit (issue 22)
      // and never gets to the reboot this test needs refused.
      await ecs("hang", { serverId: h.serverOf("box-10") });
      await cycleUntil("box-10", "a refused reboot", async () =>
        (await h.ecsCalls("box-10")).some((c) => c.operation.startsWith("reboot")),
      );
      expect(await h.ecsCalls("box-10")).toContainEqual({ operation: "reboot SOFT", status: 403 });
      expect(await h.ecsActions("box-10")).toEqual([]);
      const denials = (await h.cloud.control("iam", "denials")) as { action: string }[];
      expect(denials.map((d) => d.action)).toContain("ecs:cloudServers:reboot");
    } finally {
      await setPolicy(granted);
    }
    await cycleUntil("box-10", "the reboot once granted", async () =>
      (await h.ecsActions("box-10")).includes("reboot SOFT"),
    );
  });

  it("no secret appears in any function log or Telegram message", async () => {
    const invocations = (await h.cloud.control("functiongraph", "invocations", {
      limit: 1000,
    })) as { log?: string; result?: string }[];
    const messages = await h.cloud.control("telegram", "messages", {});
    const everything = JSON.stringify({ invocations, messages });
    expect(invocations.length).toBeGreaterThan(10);
    for (const secret of h.secrets) expect(everything).not.toContain(secret);
  });
});
