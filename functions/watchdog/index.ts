import type { Config } from "../../shared/config";
import type { FunctionContext } from "../../shared/runtime/context";
import { loadFunctionConfig } from "../../shared/runtime/env";
import { invocationRedactor, redactedFailure } from "../../shared/runtime/invocation";
import { createJsonLogger } from "../../shared/runtime/logger";
import { handleWatchdogEvent } from "../../shared/watchdog/handler";

// Parsed once per cold start; a bad config fails the first invocation with every problem listed.
let config: Config | undefined;

export async function handler(event: unknown, context: FunctionContext) {
  config ??= loadFunctionConfig(context);
  // Per invocation: the agency's temporary keys change, and no redactor outlives its keys.
  const redact = invocationRedactor(config, context);
  const log = createJsonLogger({
    redact,
    fields: { fn: "watchdog", requestId: context.getRequestID() },
  });
  try {
    return await handleWatchdogEvent(event, context, config, log, redact);
  } catch (error) {
    throw redactedFailure(error, redact);
  }
}
