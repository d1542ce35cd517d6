import { type Config, secretsOf } from "../../shared/config";
import {
  createReceiver,
  handleApigEvent,
  invocationFrom,
  type Receiver,
} from "../../shared/receiver";
import {
  type ApigEvent,
  type ApigResult,
  agencyCredentials,
  type FunctionContext,
} from "../../shared/runtime/context";
import { loadFunctionConfig } from "../../shared/runtime/env";
import { createJsonLogger } from "../../shared/runtime/logger";

// Built once per cold start; a bad config fails the invocation with every problem listed.
let app: { config: Config; receiver: Receiver } | undefined;

export async function handler(event: ApigEvent, context: FunctionContext): Promise<ApigResult> {
  if (!app) {
    const config = loadFunctionConfig(context);
    app = { config, receiver: createReceiver({ config }) };
  }
  const agency = agencyCredentials(context);
  const log = createJsonLogger({
    secrets: [...secretsOf(app.config), ...(agency ? Object.values(agency) : [])],
    fields: { fn: "telegram-webhook", requestId: context.getRequestID() },
  });
  return handleApigEvent(app.receiver, event, invocationFrom(context, app.config, log));
}
