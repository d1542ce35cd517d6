import { randomUUID } from "node:crypto";
import { StateStoreError } from "../errors";
import { STATE_VERSION } from "../policy/state";
import { type OperatorCommand, operatorCommandSchema } from "../policy/types";
import {
  alertChannelKey,
  bootstrapKey,
  commandKey,
  commandsPrefix,
  corruptKey,
  dayOf,
  type EventsWriter,
  eventKey,
  eventsPrefix,
  stateKey,
} from "./keys";
import { migrateStored, unknownVersion } from "./migrate";
import type { LoadResult, PendingCommands, RecentEventsQuery, StateStore } from "./port";
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
  /** Whose audit folder appendEvents writes (default the watchdog's); both are read. */
  writer?: EventsWriter;
}

const JSON_TYPE = "application/json";
/** The receiver writes a few hundred bytes per command; anything much larger is not one. */
export const COMMAND_MAX_BYTES = 4096;
/** Audit lines are a few hundred bytes; a larger object under events/ is not read. */
const EVENT_MAX_BYTES = 16_384;
/** Command objects read per cycle, oldest first; the rest wait for the next cycles. */
export const COMMANDS_PER_CYCLE = 50;

/**
 * State, commands and audit events as JSON objects in one OBS bucket. A state object that does not
 * parse or validate is copied under `corrupt/` and reported, so a bad write can never make the
 * watchdog crash-loop and the evidence is kept.
 */
export function createObsStateStore(options: ObsStateStoreOptions): StateStore {
  const { client, bucket, prefix } = options;
  const now = options.now ?? Date.now;
  const writer = options.writer ?? "watchdog";
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
              eventKey(prefix, box, event.at, `${event.type}-${randomUUID().slice(0, 8)}`, writer),
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

  /** An object past the client's size cap is data to refuse, not an OBS outage. */
  async function readCapped(key: string) {
    try {
      return await client.getText(bucket, key);
    } catch (error) {
      if ((error as { kind?: unknown }).kind === "too-large") return "too-large" as const;
      throw error;
    }
  }

  async function loadState(box: string): Promise<LoadResult> {
    const key = stateKey(prefix, box);
    const got = await readCapped(key);
    if (got === "too-large") {
      const movedTo = corruptKey(prefix, box, now());
      await client.copy(bucket, key, movedTo);
      return { kind: "corrupt", reason: "the state object is larger than any state", movedTo };
    }
    if (!got.found) return { kind: "missing" };
    const read = readState(got.text);
    if (typeof read !== "string") return { kind: "found", stored: read };
    const reason = read;
    const movedTo = corruptKey(prefix, box, now());
    await client.copy(bucket, key, movedTo);
    return { kind: "corrupt", reason, movedTo };
  }

  async function pending(box: string): Promise<PendingCommands> {
    // Oldest first, and a bounded number per cycle: a flood of objects waits, it cannot stall.
    const keys = (await client.list(bucket, commandsPrefix(prefix, box)))
      .sort()
      .slice(0, COMMANDS_PER_CYCLE);
    const commands: PendingCommands["commands"] = [];
    const rejected: PendingCommands["rejected"] = [];
    for (const key of keys) {
      const got = await readCapped(key);
      if (got !== "too-large" && !got.found) continue;
      const command =
        got === "too-large" ? "larger than the OBS client reads" : parseCommand(got.text);
      if (typeof command === "string") {
        rejected.push({ key, reason: command });
        await client.remove(bucket, key);
      } else commands.push({ key, command });
    }
    return { commands, rejected };
  }

  async function recent(box: string, query: RecentEventsQuery): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    for (let day = 0; day < query.days && events.length < query.limit; day++) {
      const date = dayOf(query.now - day * 86_400_000);
      const folders = await Promise.all(
        (["watchdog", "receiver"] as const).map((by) =>
          client.list(bucket, eventsPrefix(prefix, box, date, by)),
        ),
      );
      // Newest first across both folders: the file name starts with the time.
      const name = (key: string) => key.slice(key.lastIndexOf("/") + 1);
      const keys = folders
        .flat()
        .filter((key) => query.types === undefined || query.types.includes(eventTypeOf(key)))
        .sort((a, b) => name(a).localeCompare(name(b)));
      const newest = keys.reverse().slice(0, query.limit - events.length);
      const texts = await Promise.all(newest.map((key) => readCapped(key)));
      for (const got of texts) {
        if (got !== "too-large" && got.found) {
          const event = parseEvent(got.text);
          if (event) events.push(event);
        }
      }
    }
    return events.sort((a, b) => b.at - a.at).slice(0, query.limit);
  }
}

/** `…/20261125T120304123Z-remediation-requested-1a2b3c4d.json` → "remediation-requested". */
function eventTypeOf(key: string): string {
  return /\/\d{8}T\d{9}Z-([a-z-]+)-[0-9a-f]{8}\.json$/.exec(key)?.[1] ?? "";
}

/** The stored state, brought up to today's shape, or why it cannot be read. */
export function readState(text: string): StoredState | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "the state object is not JSON";
  }
  const parsed = storedStateSchema.safeParse(migrateStored(value));
  if (parsed.success) return parsed.data;
  const version = unknownVersion(value);
  if (version) return `the state object cannot be read: ${version}`;
  const first = parsed.error.issues[0];
  return `the state object does not match schema version ${STATE_VERSION} (${first?.path.join(".") || "root"}: ${first?.message})`;
}

/** A command object, or why it is not one. The size is checked before anything is parsed. */
export function parseCommand(text: string): OperatorCommand | string {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > COMMAND_MAX_BYTES) {
    return `${bytes} bytes, more than a command's ${COMMAND_MAX_BYTES}`;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  const parsed = operatorCommandSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  return `not a command (${first?.path.join(".") || "root"}: ${first?.message})`;
}

/** An audit line as far as readers rely on it: a real time, a short type, a detail text. */
function parseEvent(text: string): StoredEvent | undefined {
  if (text.length > EVENT_MAX_BYTES) return undefined;
  try {
    const value = JSON.parse(text) as StoredEvent;
    const fine =
      Number.isFinite(value.at) &&
      value.at >= 0 &&
      value.at <= 8.64e15 &&
      typeof value.type === "string" &&
      value.type.length <= 40 &&
      typeof value.detail === "string";
    return fine ? value : undefined;
  } catch {
    return undefined;
  }
}
