import type { ProbeName } from "../probes/types";
import { COMPONENTS, type Component } from "./state";

/**
 * Each component and the probe whose result reports on it (the watchdog reports on itself).
 * `satisfies` makes a component added to COMPONENTS a compile error here until it has its entry;
 * the cycle log and /status's stored verdicts are derived from it.
 */
export interface ComponentInfo {
  /** The probe it is judged from (besides others: the gateway's verdict reads the server too). */
  probe: ProbeName | undefined;
}

export const COMPONENT_INFO = {
  gateway: { probe: "gateway" },
  maas: { probe: "maas" },
  telegram: { probe: "telegram" },
  watchdog: { probe: undefined },
} as const satisfies Record<Component, ComponentInfo>;

/** The components a probe reports on, with that probe, in COMPONENTS order. */
export function probedComponents(): { component: Component; probe: ProbeName }[] {
  return COMPONENTS.flatMap((component) => {
    const probe: ProbeName | undefined = COMPONENT_INFO[component].probe;
    return probe === undefined ? [] : [{ component, probe }];
  });
}
