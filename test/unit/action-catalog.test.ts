import { describe, expect, it } from "vitest";
import { act } from "../../shared/cloud/act";
import type { BoxConfig } from "../../shared/config";
import {
  LADDER_RUNGS as CONFIG_RUNGS,
  defaultPolicyConfig,
} from "../../shared/config/policy-schema";
import {
  ACTION_NAMES,
  ACTIONS,
  type ActionName,
  budgetKindOf,
  LADDER_RUNGS,
  MANUAL_ACTIONS,
  REMEDIATIONS,
} from "../../shared/policy/catalog";
import { graceFor } from "../../shared/policy/remediation";
import { MemoryStateStore } from "../../shared/state/memory";
import { MemoryCompute } from "../support/compute";

// The action catalog is the one list; these pin what stored states, configs and operators
// already rely on, so an edit that renames or reorders an action shows up here.

const USER_DATA = Buffer.from("#!/bin/sh\necho bootstrap\n").toString("base64");
const box: BoxConfig = {
  name: "main",
  serverId: "srv",
  gateway: { url: "http://10.0.0.2:18789", token: "t" },
  telegram: { botToken: "b" },
  maas: { baseUrl: "https://m/v1", apiKey: "k", model: "x" },
  bootstrapStored: false,
  bootstrapUserData: USER_DATA,
};

describe("the action catalog", () => {
  it("keeps the names stored states and the config use, in their order", () => {
    expect(REMEDIATIONS).toEqual(["start", "soft-reboot", "hard-reboot", "rebootstrap"]);
    expect(MANUAL_ACTIONS).toEqual(["reboot", "rebootstrap"]);
    expect(LADDER_RUNGS).toEqual(["soft-reboot", "hard-reboot", "rebootstrap"]);
    expect(CONFIG_RUNGS).toBe(LADDER_RUNGS);
    expect(defaultPolicyConfig.ladder).toEqual(LADDER_RUNGS);
  });

  it("counts reboots and rebootstraps in their own budgets and a start in none", () => {
    const kinds = Object.fromEntries(ACTION_NAMES.map((a) => [a, budgetKindOf(a)]));
    expect(kinds).toEqual({
      start: undefined,
      "soft-reboot": "reboots",
      "hard-reboot": "reboots",
      reboot: "reboots",
      rebootstrap: "rebootstraps",
    });
  });

  it("gives every action a grace period of the config, and the config no unused one", () => {
    const used = new Set(ACTION_NAMES.map((a) => ACTIONS[a].grace));
    expect([...used].sort()).toEqual(Object.keys(defaultPolicyConfig.grace).sort());
    const config = {
      ...defaultPolicyConfig,
      grace: { start: 1, softReboot: 2, hardReboot: 3, rebootstrap: 4 },
    };
    const graces = Object.fromEntries(ACTION_NAMES.map((a) => [a, graceFor(a, config)]));
    expect(graces).toEqual({
      start: 1,
      "soft-reboot": 2,
      reboot: 2,
      "hard-reboot": 3,
      rebootstrap: 4,
    });
  });

  it("gives each manual action its prompt and each rung a distinct place", () => {
    for (const action of MANUAL_ACTIONS) {
      const lines = ACTIONS[action].manual.confirm("srv-1", "5m");
      expect(lines.join(" "), action).toContain("srv-1");
      expect(lines.join(" "), action).toContain("5m");
    }
    const rungs = LADDER_RUNGS.map((r) => ACTIONS[r].rung);
    expect(new Set(rungs).size).toBe(rungs.length);
  });
});

describe("act: the one executor of the watchdog and the receiver", () => {
  it("makes each action's Compute call on the box's server", async () => {
    const calls: Record<string, string[]> = {};
    for (const action of ACTION_NAMES) {
      const compute = new MemoryCompute();
      const { jobId } = await act(action, box, compute, new MemoryStateStore());
      expect(jobId).toBe("job-1");
      calls[action] = compute.calls;
      if (action === "rebootstrap") expect(compute.userData).toEqual([USER_DATA]);
    }
    expect(calls).toEqual({
      start: ["start srv"],
      "soft-reboot": ["reboot SOFT srv"],
      "hard-reboot": ["reboot HARD srv"],
      reboot: ["reboot SOFT srv"],
      rebootstrap: ["reinstall srv"],
    } satisfies Record<ActionName, string[]>);
  });

  it("passes a refusal on, and makes no request without user_data for a reinstall", async () => {
    const compute = new MemoryCompute();
    compute.failWith = new Error("ECS reboot failed: 409");
    await expect(act("reboot", box, compute, new MemoryStateStore())).rejects.toThrow("409");
    const bare = { ...box, bootstrapUserData: undefined };
    await expect(act("rebootstrap", bare, compute, new MemoryStateStore())).rejects.toThrow(
      /no bootstrap user_data/,
    );
    expect(compute.calls).toEqual(["reboot SOFT srv"]);
  });
});
