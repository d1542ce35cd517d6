import type { OperatorCommand } from "../policy/types";
import type { AlertChannel, PendingCommand, StoredEvent, StoredState } from "./schema";

export type LoadResult =
  | { kind: "found"; stored: StoredState }
  | { kind: "missing" }
  /** The object could not be parsed or validated; it was copied to `movedTo` and must be replaced. */
  | { kind: "corrupt"; reason: string; movedTo: string };

export interface RecentEventsQuery {
  limit: number;
  days: number;
  now: number;
  /** Only these event types (read from the object names, so the others are never fetched). */
  types?: readonly string[];
}

export interface PendingCommands {
  commands: PendingCommand[];
  /** Objects under commands/ that were not valid commands (already removed), with why. */
  rejected: { key: string; reason: string }[];
}

/**
 * Where a box's state, operator commands and audit log live. The watchdog is the only writer of
 * state; the receiver only adds commands (one object each), so no update is ever lost even
 * though OBS has no conditional PUT. Failures throw StateStoreError.
 */
export interface StateStore {
  load(box: string): Promise<LoadResult>;
  save(box: string, stored: StoredState): Promise<void>;
  pendingCommands(box: string): Promise<PendingCommands>;
  removeCommands(keys: readonly string[]): Promise<void>;
  addCommand(box: string, command: OperatorCommand): Promise<void>;
  appendEvents(box: string, events: readonly StoredEvent[]): Promise<void>;
  /** What is known about the alert chat beyond the config; undefined when nothing (or invalid). */
  loadAlertChannel(): Promise<AlertChannel | undefined>;
  saveAlertChannel(channel: AlertChannel): Promise<void>;
  /** The box's stored bootstrap user_data (base64), when the deploy put one there. */
  bootstrapUserData(box: string): Promise<string | undefined>;
  /** Newest first, at most `limit`, from the last `days` days of the audit log (only `types`, if given). */
  recentEvents(box: string, options: RecentEventsQuery): Promise<StoredEvent[]>;
}
