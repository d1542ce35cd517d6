import { COMPONENTS, STATE_VERSION } from "../policy/state";

/**
 * Brings a stored state object saved by an older clawwatch up to STATE_VERSION, between
 * JSON.parse and validation, so a deploy that changes the shape keeps every box's counters,
 * incidents and remediation budget instead of calling the object corrupt and starting over.
 * Each step takes one version to the next; a component added since gets fresh counters. Anything
 * it does not recognise is left as it is, for the validation to refuse.
 */

type Json = Record<string, unknown>;

const STEPS: Record<number, (stored: Json, policy: Json) => void> = {
  /** v2: `opens` (times per component) was a copy of `openLog`, which became required. */
  1: (_stored, policy) => {
    policy.opens = undefined;
    policy.openLog ??= [];
  },
};

export function migrateStored(value: unknown): unknown {
  if (!isObject(value) || !isObject(value.policy)) return value;
  const { policy } = value;
  for (let version = value.version; typeof version === "number" && version < STATE_VERSION; ) {
    const step = STEPS[version];
    if (!step || policy.version !== version) return value;
    step(value, policy);
    version += 1;
    value.version = version;
    policy.version = version;
  }
  if (isObject(policy.counters)) addComponents(policy.counters);
  return value;
}

/** A component the state has not seen yet starts with nothing counted. */
function addComponents(counters: Json): void {
  for (const component of COMPONENTS) {
    counters[component] ??= { consecutiveFailures: 0, consecutiveSuccesses: 0 };
  }
}

/** Why a state object cannot be read when it names a version this watchdog does not know. */
export function unknownVersion(value: unknown): string | undefined {
  const version = isObject(value) ? value.version : undefined;
  if (typeof version !== "number" || version === STATE_VERSION) return undefined;
  return version > STATE_VERSION
    ? `it was saved by a newer clawwatch (state version ${version}; this one reads up to ${STATE_VERSION}): deploy the same version of every function`
    : `state version ${version} has no migration to ${STATE_VERSION}`;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
