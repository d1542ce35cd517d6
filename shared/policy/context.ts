import type { PolicyConfig } from "../config/policy-schema";
import { type BoxState, LIMITS } from "./state";
import type { Action, AuditEvent } from "./types";

/**
 * One decide() run: the working copy of the state (a clone, the caller's object is never touched),
 * the actions collected so far, and notes on what was not done and why (for a dry run).
 */
export interface Cycle {
  readonly state: BoxState;
  readonly now: number;
  readonly config: PolicyConfig;
  readonly actions: Action[];
  readonly notes: string[];
}

export function audit(cycle: Cycle, event: AuditEvent): void {
  cycle.actions.push({ kind: "audit", event });
}

export function note(cycle: Cycle, text: string): void {
  cycle.notes.push(text);
}

export function isMuted(state: BoxState, now: number): boolean {
  return state.mute !== undefined && now < state.mute.until;
}

export function isAcked(until: number | undefined, now: number): boolean {
  return until !== undefined && now < until;
}

/**
 * Inside the window that ends now. A time later than the clock skew allows is nothing that
 * happened: counting it would keep a window full for as long as the date is ahead.
 */
export function isRecent(at: number, now: number, window: number): boolean {
  return at <= now + LIMITS.clockSkewMs && now - at < window;
}
