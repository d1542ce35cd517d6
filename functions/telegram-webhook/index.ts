import type { Config } from "../../shared/config";
import {
  createReceiver,
  handleApigEvent,
  invocationFrom,
  type Receiver,
} from "../../shared/receiver";
import type { ApigEvent, ApigResult, FunctionContext } from "../../shared/runtime/context";
import { loadFunctionConfig } from "../../shared/runtime/env";
import { invocationRedactor, redactedFailure } from "../../shared/runtime/invocation";
import { createJsonLogger } from "../../shared/runtime/logger";

// Built once per cold start; a bad config fails the invocation with every problem listed.
let app: { config: Config; receiver: Receiver } | undefined;

export async function handler(event: ApigEvent, context: FunctionContext): Promise<ApigResult> {
  if (!app) {
    const config = loadFunctionConfig(context);
    app = { config, receiver: createReceiver({ config }) };
  }
  // Per invocation: the agency's temporary keys change, and no redactor outlives its keys.
  const redact = invocationRedactor(app.config, context);
  const log = createJsonLogger({
    redact,
    fields: { fn: "telegram-webhook", requestId: context.getRequestID() },
  });
  try {
    return await handleApigEvent(
      app.receiver,
      event,
      invocationFrom(context, app.config, log, redact),
    );
  } catch (error) {
    throw redactedFailure(error, redact);
  }
}
