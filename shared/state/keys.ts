/** Object keys, in one place: `<prefix>/<box>/state.json`, `…/commands/…`, `…/events/<day>/…`. */
export function stateKey(prefix: string, box: string): string {
  return `${prefix}/${box}/state.json`;
}

export function commandsPrefix(prefix: string, box: string): string {
  return `${prefix}/${box}/commands/`;
}

export function commandKey(prefix: string, box: string, at: number, id: string): string {
  return `${commandsPrefix(prefix, box)}${stamp(at)}-${safe(id)}.json`;
}

/**
 * Who writes an audit folder: the watchdog writes `events/`, the receiver `operator-events/`, so
 * each function's agency may write only its own folder and the watchdog's audit trail (what the
 * budget is rebuilt from) cannot be forged from the internet-facing receiver.
 */
export type EventsWriter = "watchdog" | "receiver";
export const EVENTS_FOLDERS: Readonly<Record<EventsWriter, string>> = {
  watchdog: "events",
  receiver: "operator-events",
};

export function eventsPrefix(
  prefix: string,
  box: string,
  day?: string,
  writer: EventsWriter = "watchdog",
): string {
  return `${prefix}/${box}/${EVENTS_FOLDERS[writer]}/${day ? `${day}/` : ""}`;
}

export function eventKey(
  prefix: string,
  box: string,
  at: number,
  id: string,
  writer: EventsWriter = "watchdog",
): string {
  return `${eventsPrefix(prefix, box, dayOf(at), writer)}${stamp(at)}-${safe(id)}.json`;
}

/** Beside the boxes' folders: box names never start with "_". */
export function alertChannelKey(prefix: string): string {
  return `${prefix}/_alert-channel.json`;
}

/** The box's bootstrap user_data (base64), put there by `infra deploy`. */
export function bootstrapKey(prefix: string, box: string): string {
  return `${prefix}/${box}/bootstrap/user-data.b64`;
}

export function corruptKey(prefix: string, box: string, at: number): string {
  return `${prefix}/${box}/corrupt/state-${stamp(at)}.json`;
}

/** `2026-11-25` in UTC. */
export function dayOf(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** Sortable UTC time: `20261125T120304123Z`. */
function stamp(at: number): string {
  return new Date(at).toISOString().replace(/[-:.]/g, "");
}

function safe(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 60);
}
