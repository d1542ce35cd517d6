import {
  loadProbeFunctionConfig,
  type ProbeFunctionConfig,
  runProbeRequest,
} from "../../shared/probes/probe-function";
import type { FunctionContext } from "../../shared/runtime/context";
import { functionEnv } from "../../shared/runtime/env";
import { redactedFailure } from "../../shared/runtime/invocation";
import { createRedactor } from "../../shared/runtime/redact";

// Parsed once per cold start; a bad config fails the invocation with every problem listed.
let config: ProbeFunctionConfig | undefined;

/**
 * The gateway probe, alone in the box's VPC: it has no internet and needs none. No state, no
 * OBS, no SDK; it answers the probe's result (never a secret) to the watchdog that invoked it.
 */
export async function handler(event: unknown, context: FunctionContext) {
  config ??= loadProbeFunctionConfig(functionEnv(context, process.env));
  const redact = createRedactor([...config.boxes.values()].map((b) => b.token));
  try {
    return await runProbeRequest(event, config);
  } catch (error) {
    throw redactedFailure(error, redact);
  }
}
