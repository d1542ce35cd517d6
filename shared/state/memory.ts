import { randomUUID } from "node:crypto";
import { StateStoreError } from "../errors";
import type { OperatorCommand } from "../policy/types";
import { commandKey, commandsPrefix } from "./keys";
import type { LoadResult, PendingCommands, RecentEventsQuery, StateStore } from "./port";
import type { AlertChannel, StoredEvent, StoredState } from "./schema";

/** An in-memory StateStore for unit tests of the cycle; `failing` makes every call throw. */
export class MemoryStateStore implements StateStore {
  readonly states = new Map<string, StoredState>();
  readonly commands = new Map<string, OperatorCommand>();
  readonly events: StoredEvent[] = [];
  readonly bootstraps = new Map<string, string>();
  alertChannel: AlertChannel | undefined;
  failing = false;

  async loadAlertChannel(): Promise<AlertChannel | undefined> {
    this.check();
    return this.alertChannel === undefined ? undefined : structuredClone(this.alertChannel);
  }

  async saveAlertChannel(channel: AlertChannel): Promise<void> {
    this.check();
    this.alertChannel = structuredClone(channel);
  }

  async load(box: string): Promise<LoadResult> {
    this.check();
    const stored = this.states.get(box);
    return stored ? { kind: "found", stored: structuredClone(stored) } : { kind: "missing" };
  }

  async save(box: string, stored: StoredState): Promise<void> {
    this.check();
    this.states.set(box, structuredClone(stored));
  }

  async pendingCommands(box: string): Promise<PendingCommands> {
    this.check();
    const prefix = commandsPrefix("mem", box);
    const commands = [...this.commands]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, command]) => ({ key, command }));
    return { commands, rejected: [] };
  }

  async removeCommands(keys: readonly string[]): Promise<void> {
    this.check();
    for (const key of keys) this.commands.delete(key);
  }

  async addCommand(box: string, command: OperatorCommand): Promise<void> {
    this.check();
    this.commands.set(commandKey("mem", box, command.at, command.id || randomUUID()), command);
  }

  async appendEvents(_box: string, events: readonly StoredEvent[]): Promise<void> {
    this.check();
    this.events.push(...events);
  }

  async recentEvents(box: string, options: RecentEventsQuery): Promise<StoredEvent[]> {
    this.check();
    const since = options.now - options.days * 86_400_000;
    return this.events
      .filter((e) => e.box === box && e.at >= since)
      .filter((e) => options.types === undefined || options.types.includes(e.type))
      .sort((a, b) => b.at - a.at)
      .slice(0, options.limit);
  }

  async bootstrapUserData(box: string): Promise<string | undefined> {
    this.check();
    return this.bootstraps.get(box);
  }

  private check(): void {
    if (this.failing) throw new StateStoreError("OBS unavailable (in-memory store set to fail)");
  }
}
