import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Iam } from "../../infra/local/iam";
import { type ObsService, startObs } from "../../infra/local/obs";
import { timeScale } from "../../infra/local/service";
import { budgetUsed, STATE_VERSION } from "../../shared/policy";
import { createObsClient, type ObsClient } from "../../shared/state/obs-client";
import { createObsStateStore, readState } from "../../shared/state/obs-store";
import { World } from "../unit/hostile-world";

// Saved by main at 0f3cf82 (state version 1): a gateway incident open after two soft reboots
// within the 24 h budget window, a MaaS flap group (calm for longer than its window by
// the first cycle here), seven opens in the flapping log.
const V1 = readFileSync(new URL("../fixtures/state-v1.json", import.meta.url), "utf8");
const BUCKET = "clawwatch-state";

let iam: Iam;
let obs: ObsService;
let client: ObsClient;

beforeAll(async () => {
  iam = new Iam();
  obs = await startObs({ iam, time: timeScale(1), buckets: [BUCKET] });
  client = await createObsClient({ server: obs.url, ak: iam.root.ak, sk: iam.root.sk });
});

afterAll(async () => {
  client?.close();
  await obs?.close();
});

describe("a state saved by an older clawwatch", () => {
  it("loads through OBS with its incident, counters and reboot budget, and is saved as today's shape", async () => {
    const store = createObsStateStore({ client, bucket: BUCKET, prefix: "v1" });
    await client.putText(BUCKET, "v1/prod/state.json", V1);
    const w = new World(undefined, store);
    const before = JSON.parse(V1);

    const report = await w.cycle("down");
    expect(report.errors).toEqual([]);
    expect(report.decided).toBe(true);
    // The incident goes on: no new "opened", no reset notice.
    const sent = w.notifier.sent.map((m) => m.notification.type);
    expect(sent).not.toContain("opened");
    expect(sent).not.toContain("state-reset");
    expect(report.openIncidents.map((i) => i.openedAt)).toEqual([
      before.policy.incidents.gateway.openedAt,
    ]);

    const saved = await store.load("prod");
    if (saved.kind !== "found") throw new Error(`state not found: ${saved.kind}`);
    const policy = saved.stored.policy;
    expect(saved.stored.version).toBe(STATE_VERSION);
    expect(policy).not.toHaveProperty("opens");
    expect(policy.history.map((h) => h.action)).toEqual(["soft-reboot", "soft-reboot"]);
    expect(budgetUsed(policy, "reboots", w.now, w.config.policy)).toBe(2);
    expect(policy.openLog).toEqual(before.policy.openLog);
    expect(policy.counters.gateway.consecutiveFailures).toBe(
      before.policy.counters.gateway.consecutiveFailures + 1,
    );
    expect(saved.stored.probes).toEqual(before.probes);
  });
});

describe("readState", () => {
  const v1 = () => JSON.parse(V1);

  it("gives a component the state has never seen fresh counters", () => {
    const old = v1();
    delete old.policy.counters.watchdog;
    const read = readState(JSON.stringify(old));
    if (typeof read === "string") throw new Error(read);
    expect(read.policy.counters.watchdog).toEqual({
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
    });
    expect(read.policy.counters.gateway).toEqual(old.policy.counters.gateway);
  });

  it("refuses a state from a newer clawwatch and says what to do", () => {
    const newer = { ...v1(), version: STATE_VERSION + 1 };
    expect(readState(JSON.stringify(newer))).toContain(
      `saved by a newer clawwatch (state version ${STATE_VERSION + 1}; this one reads up to ${STATE_VERSION}): deploy the same version`,
    );
  });

  it("refuses a version it has no migration for, and a migrated state that is still wrong", () => {
    expect(readState(JSON.stringify({ ...v1(), version: 0 }))).toMatch(
      /version 0 has no migration/,
    );
    const broken = v1();
    broken.policy.history = "lots";
    expect(readState(JSON.stringify(broken))).toContain(
      `does not match schema version ${STATE_VERSION} (policy.history: `,
    );
  });
});
