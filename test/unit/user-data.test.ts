import { describe, expect, it } from "vitest";
import { bootstrapUserData, hasBootstrap } from "../../shared/cloud/user-data";
import type { BoxConfig } from "../../shared/config";
import { ComputeError } from "../../shared/errors";
import { MemoryStateStore } from "../../shared/state/memory";

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

  it("reads the stored object when the deploy put one there", async () => {
    const store = new MemoryStateStore();
    store.bootstraps.set("main", "c3RvcmVk");
    expect(hasBootstrap(box({ bootstrapStored: true }))).toBe(true);
    expect(await bootstrapUserData(box({ bootstrapStored: true }), store)).toBe("c3RvcmVk");
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
