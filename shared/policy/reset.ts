import { stateResetNotice } from "./notifications";
import { type BoxState, initialState } from "./state";

/**
 * A fresh state after the stored one could not be read (corrupt, or an unknown version): the
 * operators are told once, through the outbox like any other notification.
 */
export function resetState(box: string, now: number, reason: string): BoxState {
  const state = initialState(box);
  state.outbox.push({
    notification: stateResetNotice(box, now, reason),
    createdAt: now,
    sends: 0,
    reason: "the stored state could not be used",
  });
  return state;
}
