import type { ApigEvent, ApigResult } from "../runtime/context";
import { redactDeep } from "../runtime/redact";
import { apigResult, requestFromApig } from "./apig";
import type { Receiver } from "./app";
import type { Invocation } from "./turn";

/** APIG event → standard request → receiver → standard response → APIG result. */
export async function handleApigEvent(
  receiver: Receiver,
  event: ApigEvent | null | undefined,
  invocation: Invocation,
): Promise<ApigResult> {
  const response = await receiver.handle(requestFromApig(event), invocation);
  return apigResult(redactDeep(invocation.redact, response));
}
