import { createHash } from "node:crypto";
import { clip } from "../text/clip";
import { LIMITS } from "./state";

export { formatDuration } from "../text/duration";

/** "2024-05-01 12:03 UTC": derived from the `now` argument, never from a clock. */
export function formatTime(epochMs: number): string {
  // A stored time outside what a Date can hold must not throw in the middle of a decision.
  if (!Number.isFinite(epochMs) || Math.abs(epochMs) > 8.64e15) return "(invalid time)";
  return `${new Date(epochMs).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** Cuts on a grapheme boundary, so stored and sent text never holds half an emoji. */
export function truncate(text: string, max: number = LIMITS.line): string {
  return clip(text, max);
}

export { actionLabel } from "./catalog";

export function operatorName(by: { userId: number; username?: string | undefined }): string {
  return by.username ? `@${by.username}` : `user ${by.userId}`;
}

/** Characters of an incident reference: what fits in a button's 64 bytes of callback data. */
export const INCIDENT_REF_LENGTH = 7;

/**
 * A short, stable reference to an incident id (42 bits of its SHA-256, base64url): buttons carry
 * it so a press can be matched to the incident it was drawn for, whatever the id looks like.
 */
export function incidentRef(incidentId: string): string {
  return createHash("sha256")
    .update(incidentId, "utf8")
    .digest("base64url")
    .slice(0, INCIDENT_REF_LENGTH);
}
