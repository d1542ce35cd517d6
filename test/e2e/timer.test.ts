import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type Harness, startHarness, WATCHDOG } from "./harness";

/**
 * Fire and forget: the watchdog deployed with its TIMER trigger ("Rate 1m") and never invoked by
 * hand. At time scale 0.005 a minute lasts 300 ms, so the local FunctionGraph fires it about three
 * times a second; every check, action and message below comes from those fires alone. On a busy
 * machine a cycle can outlast the period: the fires then queue (max instances 1) and the queued
 * ones back off, so the waits below are generous and bounded by attempts, not by time.
 */
let h: Harness;

beforeAll(async () => {
  h = await startHarness(2, {
    timeScale: 0.005,
    deploy: {
      timerRate: "1m",
      // The default 20 s back-off would skip every fire at this pace: a third of the period, as
      // 20 s is of a real minute.
      runtime: { minInterval: "100ms" },
    },
  });
}, 120_000);

afterAll(async () => {
  await h?.stop();
});

interface Invocation {
  triggerType: string;
  status: string;
}

/** Up to 30 s per wait: each attempt is one look at the fakes, 100 ms apart. */
const ATTEMPTS = 300;

const titles = async (box: string) =>
  (await h.alerts(box)).map((m) => m.plainText.split("\n")[0] ?? "");

async function cycleCount(box: string): Promise<number> {
  const state = (await h.stateOf(box)) as { policy?: { cycle?: number } } | undefined;
  return state?.policy?.cycle ?? 0;
}

describe("watchdog on its TIMER trigger", () => {
  it("a hung gateway is alerted, rebooted and resolved with no manual invoke", {
    timeout: 120_000,
  }, async () => {
    await eventually(
      async () => (await cycleCount("box-1")) >= 2 && (await cycleCount("box-2")) >= 2,
      "the timer's first cycles",
      ATTEMPTS,
    );
    expect(await h.alerts("box-1")).toEqual([]);

    // Hung, not killed: systemd restarts a killed gateway by itself (no alert, no action).
    await h.cloud.control("ecs", "hang", { serverId: h.serverOf("box-1") });
    await eventually(
      async () => (await titles("box-1")).some((t) => /gateway down on box-1/.test(t)),
      "the alert",
      ATTEMPTS,
    );
    await eventually(
      async () => (await h.ecsActions("box-1")).includes("reboot SOFT"),
      "the soft reboot",
      ATTEMPTS,
    );
    // The title names the incident's last cause: a gateway just booted on a busy machine may
    // report its Telegram channel as still connecting (degraded) before it is ready.
    await eventually(
      async () => (await titles("box-1")).some((t) => /resolved: gateway .* on box-1/.test(t)),
      "the resolved message",
      ATTEMPTS,
    );

    expect(await h.ecsActions("box-1")).toEqual(["reboot SOFT"]);
    const told = await titles("box-1");
    expect(told[0]).toMatch(/gateway down on box-1/);
    expect(told.filter((t) => /resolved:/.test(t))).toHaveLength(1);
    // The other box was checked all along and stayed quiet.
    expect(await h.alerts("box-2")).toEqual([]);
    expect(await h.ecsActions("box-2")).toEqual([]);
    expect(await cycleCount("box-2")).toBeGreaterThan(5);

    const runs = (await h.cloud.control("functiongraph", "invocations", {
      functionName: WATCHDOG,
      limit: 1000,
    })) as Invocation[];
    expect(runs.length).toBeGreaterThan(5);
    // Only the timer ran it, and every fire ended well (a back-off is a success too).
    expect(new Set(runs.map((r) => r.triggerType))).toEqual(new Set(["TIMER"]));
    expect(runs.filter((r) => r.status === "failed")).toEqual([]);
    const everything = JSON.stringify({ runs, messages: await h.alerts("") });
    for (const secret of h.secrets) expect(everything).not.toContain(secret);
  });
});
