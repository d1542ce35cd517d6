import { type Config, secretsOf } from "../../shared/config";
import { agencyCredentials, type FunctionContext } from "../../shared/runtime/context";
import { loadFunctionConfig } from "../../shared/runtime/env";
import { createJsonLogger } from "../../shared/runtime/logger";
import { handleWatchdogEvent } from "../../shared/watchdog/handler";

// Parsed once per cold start; a bad config fails the first invocation with every problem listed.
let config: Config | undefined;

export async function handler(event: unknown, context: FunctionContext) {
  config ??= loadFunctionConfig(context);
  const agency = agencyCredentials(context);
  const log = createJsonLogger({
    secrets: [...secretsOf(config), ...(agency ? Object.values(agency) : [])],
    fields: { fn: "watchdog", requestId: context.getRequestID() },
  });
  return handleWatchdogEvent(event, context, config, log);
}
