import { randomUUID } from "node:crypto";
import { StateStoreError } from "../errors";
import { type OperatorCommand, operatorCommandSchema } from "../policy/types";
import {
  alertChannelKey,
  bootstrapKey,
  commandKey,
  commandsPrefix,
  corruptKey,
  dayOf,
  eventKey,
  eventsPrefix,
  stateKey,
} from "./keys";
import type { LoadResult, PendingCommands, StateStore } from "./port";
import {
  alertChannelSchema,
  type StoredEvent,
  type StoredState,
  storedStateSchema,
} from "./schema";

/** The few object operations the store needs; shared/state/obs-client.ts provides them on OBS. */
export interface ObjectStore {
  getText(bucket: string, key: string): Promise<{ found: true; text: string } | { found: false }>;
  putText(bucket: string, key: string, text: string, contentType?: string): Promise<unknown>;
  list(bucket: string, prefix: string): Promise<string[]>;
  remove(bucket: string, key: string): Promise<void>;
  copy(bucket: string, from: string, to: string): Promise<unknown>;
}

export interface ObsStateStoreOptions {
  client: ObjectStore;
  bucket: string;
  prefix: string;
  /** Clock for the names of moved-aside objects. */
  now?: () => number;
}

const JSON_TYPE = "application/json";

/**
 * State, commands and audit events as JSON objects in one OBS bucket. A state object that does not
 * parse or validate is copied under `corrupt/` and reported, so a bad write can never make the
 * watchdog crash-loop and the evidence is kept.
 */
export function createObsStateStore(options: ObsStateStoreOptions): StateStore {
  const { client, bucket, prefix } = options;
  const now = options.now ?? Date.now;
  const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof StateStoreError) throw error;
      throw new StateStoreError(
        `OBS ${what} failed in bucket ${bucket}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  };

  return {
    load: (box) => guard("read of the state", () => loadState(box)),
    save: (box, stored) =>
      guard("write of the state", async () => {
        await client.putText(bucket, stateKey(prefix, box), JSON.stringify(stored), JSON_TYPE);
      }),
    pendingCommands: (box) => guard("listing of commands", () => pending(box)),
    removeCommands: (keys) =>
      guard("removal of applied commands", async () => {
        await Promise.all(keys.map((key) => client.remove(bucket, key)));
      }),
    addCommand: (box, command) =>
      guard("write of a command", async () => {
        const key = commandKey(prefix, box, command.at, command.id);
        await client.putText(bucket, key, JSON.stringify(command), JSON_TYPE);
      }),
    appendEvents: (box, events) =>
      guard("write of audit events", async () => {
        await Promise.all(
          events.map((event) =>
            client.putText(
              bucket,
              eventKey(prefix, box, event.at, `${event.type}-${randomUUID().slice(0, 8)}`),
              JSON.stringify(event),
              JSON_TYPE,
            ),
          ),
        );
      }),
    recentEvents: (box, query) => guard("reading of the audit log", () => recent(box, query)),
    loadAlertChannel: () =>
      guard("read of the alert channel", async () => {
        const got = await client.getText(bucket, alertChannelKey(prefix));
        if (!got.found || got.text.length > 4_096) return undefined;
        try {
          const parsed = alertChannelSchema.safeParse(JSON.parse(got.text));
          return parsed.success ? parsed.data : undefined;
        } catch {
          return undefined;
        }
      }),
    saveAlertChannel: (channel) =>
      guard("write of the alert channel", async () => {
        await client.putText(bucket, alertChannelKey(prefix), JSON.stringify(channel), JSON_TYPE);
      }),
    bootstrapUserData: (box) =>
      guard("read of the bootstrap user_data", async () => {
        const got = await client.getText(bucket, bootstrapKey(prefix, box));
        return got.found ? got.text.trim() : undefined;
      }),
  };

  async function loadState(box: string): Promise<LoadResult> {
    const key = stateKey(prefix, box);
    const got = await client.getText(bucket, key);
    if (!got.found) return { kind: "missing" };
    const reason = invalidReason(got.text);
    if (reason === undefined) return { kind: "found", stored: JSON.parse(got.text) as StoredState };
    const movedTo = corruptKey(prefix, box, now());
    await client.copy(bucket, key, movedTo);
    return { kind: "corrupt", reason, movedTo };
  }

  async function pending(box: string): Promise<PendingCommands> {
    const keys = (await client.list(bucket, commandsPrefix(prefix, box))).sort();
    const commands: PendingCommands["commands"] = [];
    const rejected: string[] = [];
    for (const key of keys) {
      const got = await client.getText(bucket, key);
      if (!got.found) continue;
      const command = parseCommand(got.text);
      if (command) commands.push({ key, command });
      else {
        rejected.push(key);
        await client.remove(bucket, key);
      }
    }
    return { commands, rejected };
  }

  async function recent(
    box: string,
    query: { limit: number; days: number; now: number },
  ): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    for (let day = 0; day < query.days && events.length < query.limit; day++) {
      const keys = await client.list(
        bucket,
        eventsPrefix(prefix, box, dayOf(query.now - day * 86_400_000)),
      );
      const newest = keys
        .sort()
        .reverse()
        .slice(0, query.limit - events.length);
      const texts = await Promise.all(newest.map((key) => client.getText(bucket, key)));
      for (const got of texts) {
        if (got.found) {
          const event = parseEvent(got.text);
          if (event) events.push(event);
        }
      }
    }
    return events.sort((a, b) => b.at - a.at).slice(0, query.limit);
  }
}

function invalidReason(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "the state object is not JSON";
  }
  const parsed = storedStateSchema.safeParse(value);
  if (parsed.success) return undefined;
  const first = parsed.error.issues[0];
  return `the state object does not match schema version 1 (${first?.path.join(".") || "root"}: ${first?.message})`;
}

function parseCommand(text: string): OperatorCommand | undefined {
  try {
    const parsed = operatorCommandSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function parseEvent(text: string): StoredEvent | undefined {
  try {
    const value = JSON.parse(text) as StoredEvent;
    return typeof value.at === "number" && typeof value.type === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}
