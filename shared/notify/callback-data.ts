import { NotifyError } from "../errors";
import { COMPONENTS, type Component } from "../policy/state";
import { INCIDENT_REF_LENGTH } from "../policy/text";
import { clip } from "../text/clip";

/**
 * The callback_data of our inline buttons, shared by the notifier (which draws them) and the
 * Telegram receiver (which reads them back). Telegram caps callback_data at 64 bytes, so the
 * format is positional and terse:
 *
 *   1:<action code>:<box>[:<arg>[:<component>[:<incident>]]]   e.g. "1:a:prod-gw:1h:gateway:Xk3_9aQ"
 *
 * "1" is the format version: a future format gets a new number, and old buttons still sitting in
 * the chat then decode to undefined instead of being misread. Box names follow the config rule
 * (1-40 of a-z 0-9 -), args are short tokens (a duration such as "1h", a stamp), so ":" never
 * appears inside a field. Every payload with a 40-character box, a 10-character arg and any
 * component fits (see CALLBACK_DATA_MAX_BYTES); so does an Ack with a 40-character box, its
 * 2-character duration, any component and the incident reference (exactly 64 bytes).
 *
 * The incident reference (incidentRef() of the incident id, 7 characters) ties an Ack button to
 * the incident it was drawn for: pressed after that incident ended, it acks nothing. A button
 * without one (a flapping notice's, or one drawn before references existed) acks whatever incident
 * of its component is open.
 */

export const CALLBACK_ACTIONS = [
  "ack",
  "mute",
  "reboot",
  "reboot-confirm",
  "rebootstrap-confirm",
  "cancel",
  "status",
] as const;
export type CallbackAction = (typeof CALLBACK_ACTIONS)[number];

export interface CallbackPayload {
  action: CallbackAction;
  box: string;
  /** ack/mute: a duration like "1h"; confirmations: whatever the receiver wants back (a stamp). */
  arg?: string;
  /** ack: the incident's component, so one button does not ack every open incident of the box. */
  component?: Component;
  /** ack: incidentRef() of the incident the button belongs to (needs `component`). */
  incident?: string;
}

export const CALLBACK_DATA_VERSION = "1";
export const CALLBACK_DATA_MAX_BYTES = 64;

const CODES: Readonly<Record<CallbackAction, string>> = {
  ack: "a",
  mute: "m",
  reboot: "r",
  "reboot-confirm": "R",
  "rebootstrap-confirm": "B",
  cancel: "x",
  status: "s",
};
const ACTIONS_BY_CODE = new Map(
  Object.entries(CODES).map(([action, code]) => [code, action as CallbackAction]),
);

const BOX = /^[a-z0-9][a-z0-9-]{0,39}$/;
const ARG = /^[A-Za-z0-9_.-]+$/;
const INCIDENT = new RegExp(`^[A-Za-z0-9_-]{${INCIDENT_REF_LENGTH}}$`);

/** A button payload that cannot be encoded (bad box or arg, or over Telegram's 64 bytes). */
export class CallbackDataError extends NotifyError {}

export function encodeCallback(payload: CallbackPayload): string {
  const { action, box, arg, component, incident } = payload;
  const code = CODES[action];
  if (code === undefined) throw new CallbackDataError(`unknown button action "${String(action)}"`);
  if (!BOX.test(box)) {
    throw new CallbackDataError(
      `box name "${clip(box, 60)}" cannot go in a button: use 1-40 lower-case letters, digits and dashes (as the config requires)`,
    );
  }
  if (arg !== undefined && !ARG.test(arg)) {
    throw new CallbackDataError(
      `button argument "${clip(arg, 60)}" is not allowed: use letters, digits, "_", "." and "-" only`,
    );
  }
  if (component !== undefined && !COMPONENTS.includes(component)) {
    throw new CallbackDataError(`unknown component "${String(component)}" for a button`);
  }
  if (incident !== undefined && (component === undefined || !INCIDENT.test(incident))) {
    throw new CallbackDataError(
      `incident reference "${incident.slice(0, 20)}" needs a component and ${INCIDENT_REF_LENGTH} characters of A-Z a-z 0-9 _ -`,
    );
  }
  const fields = [CALLBACK_DATA_VERSION, code, box];
  if (arg !== undefined || component !== undefined) fields.push(arg ?? "");
  if (component !== undefined) fields.push(component);
  if (incident !== undefined) fields.push(incident);
  const data = fields.join(":");
  const bytes = byteLength(data);
  if (bytes > CALLBACK_DATA_MAX_BYTES) {
    throw new CallbackDataError(
      `button data for ${action} on "${box}" needs ${bytes} bytes, Telegram allows ${CALLBACK_DATA_MAX_BYTES}: shorten the argument`,
    );
  }
  return data;
}

/**
 * Reads callback_data back. Anything that is not exactly what encodeCallback writes (another
 * version, an unknown action, a stray field) gives undefined: a button press is untrusted input.
 */
export function decodeCallback(data: unknown): CallbackPayload | undefined {
  if (typeof data !== "string" || data.length > CALLBACK_DATA_MAX_BYTES) return undefined;
  const [version, code, box, arg, component, incident, ...rest] = data.split(":");
  if (version !== CALLBACK_DATA_VERSION || rest.length > 0) return undefined;
  const action = code === undefined ? undefined : ACTIONS_BY_CODE.get(code);
  if (action === undefined || box === undefined || !BOX.test(box)) return undefined;
  const payload: CallbackPayload = { action, box };
  if (arg !== undefined && arg !== "") {
    if (!ARG.test(arg)) return undefined;
    payload.arg = arg;
  }
  if (component !== undefined) {
    const known = COMPONENTS.find((name) => name === component);
    if (known === undefined) return undefined;
    payload.component = known;
  }
  if (incident !== undefined) {
    if (!INCIDENT.test(incident)) return undefined;
    payload.incident = incident;
  }
  // Only the canonical spelling is accepted (no trailing ":", no empty arg without a component).
  if (data !== safeEncode(payload)) return undefined;
  return payload;
}

function safeEncode(payload: CallbackPayload): string | undefined {
  try {
    return encodeCallback(payload);
  } catch {
    return undefined;
  }
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}
