import { describe, expect, it } from "vitest";
import {
  claimUpdate,
  createObsLedger,
  LedgerError,
  MemoryLedger,
  RecentIds,
} from "../../shared/receiver";

/** The two object calls the OBS ledger uses, kept in a map; `failing` throws like a dead OBS. */
function fakeObjects() {
  const objects = new Map<string, string>();
  const state = { failing: false };
  const check = () => {
    if (state.failing) throw new Error("connect ECONNREFUSED 127.0.0.1:9");
  };
  return {
    objects,
    state,
    client: {
      async getText(bucket: string, key: string) {
        check();
        const text = objects.get(`${bucket}/${key}`);
        return text === undefined ? ({ found: false } as const) : ({ found: true, text } as const);
      },
      async putText(bucket: string, key: string, text: string) {
        check();
        objects.set(`${bucket}/${key}`, text);
      },
    },
  };
}

describe("OBS ledger", () => {
  it("keeps one JSON object per key under <prefix>/_receiver/", async () => {
    const fake = fakeObjects();
    const ledger = createObsLedger({ client: fake.client, bucket: "b", prefix: "clawwatch" });
    expect(await ledger.get("confirm/-100/5")).toBeUndefined();
    await ledger.put("confirm/-100/5", { state: "pending", at: 1 });
    expect([...fake.objects.keys()]).toEqual(["b/clawwatch/_receiver/confirm/-100/5.json"]);
    expect(await ledger.get("confirm/-100/5")).toEqual({ state: "pending", at: 1 });
  });

  it("reads anything but a JSON object as missing", async () => {
    const fake = fakeObjects();
    const ledger = createObsLedger({ client: fake.client, bucket: "b", prefix: "p" });
    fake.objects.set("b/p/_receiver/updates/1.json", "[1,2]");
    expect(await ledger.get("updates/1")).toBeUndefined();
  });

  it("wraps OBS failures and refuses odd keys", async () => {
    const fake = fakeObjects();
    const ledger = createObsLedger({ client: fake.client, bucket: "b", prefix: "p" });
    fake.state.failing = true;
    await expect(ledger.get("updates/1")).rejects.toBeInstanceOf(LedgerError);
    await expect(ledger.put("updates/1", {})).rejects.toThrow(
      /OBS write of a receiver record failed in bucket b/,
    );
    fake.state.failing = false;
    for (const key of ["../state", "updates/1.json", "", "a//b", "a/ b"]) {
      await expect(ledger.put(key, {})).rejects.toBeInstanceOf(LedgerError);
    }
  });
});

describe("claimUpdate and RecentIds", () => {
  it("claims an update id once", async () => {
    const ledger = new MemoryLedger();
    expect(await claimUpdate(ledger, 5, 1_000)).toBe(true);
    expect(await claimUpdate(ledger, 5, 2_000)).toBe(false);
    expect(await claimUpdate(ledger, 6, 2_000)).toBe(true);
    expect(ledger.records.get("updates/5")).toEqual({ at: 1_000 });
  });

  it("forgets the oldest ids beyond its bound", () => {
    const recent = new RecentIds(3);
    for (const id of [1, 2, 3, 4]) recent.add(id);
    expect([1, 2, 3, 4].map((id) => recent.has(id))).toEqual([false, true, true, true]);
  });
});
