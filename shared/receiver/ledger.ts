import type { ObjectStore } from "../state/obs-store";
import { LedgerError } from "./errors";

/**
 * The receiver's own small records: which update ids it has seen and where each reboot
 * confirmation stands. Written only by the receiver (the watchdog never touches them), one object
 * per key, so OBS's missing conditional PUT loses nothing. Values are plain JSON objects.
 */
export interface Ledger {
  get(key: string): Promise<Record<string, unknown> | undefined>;
  put(key: string, value: Record<string, unknown>): Promise<void>;
}

const KEY = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/;

function checkKey(key: string): void {
  if (!KEY.test(key)) throw new LedgerError(`invalid ledger key "${key.slice(0, 80)}" (a bug)`);
}

/** For tests and local runs; `failing` makes every call throw, like an OBS outage. */
export class MemoryLedger implements Ledger {
  readonly records = new Map<string, Record<string, unknown>>();
  failing = false;

  async get(key: string): Promise<Record<string, unknown> | undefined> {
    this.check(key);
    const value = this.records.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }

  async put(key: string, value: Record<string, unknown>): Promise<void> {
    this.check(key);
    this.records.set(key, structuredClone(value));
  }

  private check(key: string): void {
    checkKey(key);
    if (this.failing) throw new LedgerError("OBS unavailable (in-memory ledger set to fail)");
  }
}

export interface ObsLedgerOptions {
  client: Pick<ObjectStore, "getText" | "putText">;
  bucket: string;
  /** The state prefix (config.state.prefix); records go under `<prefix>/_receiver/`. */
  prefix: string;
}

/**
 * `<prefix>/_receiver/<key>.json`. Box names cannot start with "_", so this never collides with
 * a box's folder. Seen-update records are never read after a day: an OBS lifecycle rule on
 * `<prefix>/_receiver/updates/` (expire after 2 days) keeps the folder small.
 */
export function createObsLedger(options: ObsLedgerOptions): Ledger {
  const { client, bucket, prefix } = options;
  const objectKey = (key: string) => `${prefix}/_receiver/${key}.json`;
  const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof LedgerError) throw error;
      throw new LedgerError(
        `OBS ${what} of a receiver record failed in bucket ${bucket}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  };
  return {
    get: (key) =>
      guard("read", async () => {
        checkKey(key);
        const got = await client.getText(bucket, objectKey(key));
        if (!got.found) return undefined;
        const value: unknown = JSON.parse(got.text);
        return value !== null && typeof value === "object" && !Array.isArray(value)
          ? (value as Record<string, unknown>)
          : undefined;
      }),
    put: (key, value) =>
      guard("write", async () => {
        checkKey(key);
        await client.putText(bucket, objectKey(key), JSON.stringify(value), "application/json");
      }),
  };
}

/**
 * The first delivery of an update claims its id; a retry by Telegram finds the claim. Claiming
 * before acting means a crash mid-way drops that update rather than doing it twice.
 */
export async function claimUpdate(ledger: Ledger, updateId: number, now: number): Promise<boolean> {
  const key = `updates/${updateId}`;
  if ((await ledger.get(key)) !== undefined) return false;
  await ledger.put(key, { at: now });
  return true;
}

/** A bounded set of recent ids: a warm instance skips a quick retry without asking OBS. */
export class RecentIds {
  private readonly ids = new Set<number>();

  constructor(private readonly max = 500) {}

  has(id: number): boolean {
    return this.ids.has(id);
  }

  add(id: number): void {
    this.ids.add(id);
    if (this.ids.size > this.max) {
      const oldest = this.ids.values().next();
      if (oldest.done !== true) this.ids.delete(oldest.value);
    }
  }
}
