/** Messages over the fork-style IPC channel between the ECS emulator and its guest. */

/** Emulator → guest. */
export type GuestCommand = { readonly type: "stall-polling" } | { readonly type: "resume-polling" };

/** Guest → emulator. */
export type GuestReport =
  | { readonly type: "listening"; readonly port: number }
  | { readonly type: "ack"; readonly command: GuestCommand["type"] };

export function isGuestCommand(value: unknown): value is GuestCommand {
  const type = (value as { type?: unknown } | null)?.type;
  return type === "stall-polling" || type === "resume-polling";
}

export function isGuestReport(value: unknown): value is GuestReport {
  const type = (value as { type?: unknown } | null)?.type;
  return type === "listening" || type === "ack";
}
