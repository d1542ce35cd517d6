import { type Config, secretsOf } from "../config";
import { ClawwatchError } from "../errors";
import { agencyCredentials, type FunctionContext } from "./context";
import { createRedactor, type Redactor } from "./redact";

/**
 * The one redactor of an invocation: every secret of the config and the agency's temporary
 * key, secret key and security token. Built by the function's entry and passed to everything
 * that writes output (logger, notifier, OBS writes, handler results).
 */
export function invocationRedactor(config: Config, context: FunctionContext): Redactor {
  const agency = agencyCredentials(context);
  return createRedactor([...secretsOf(config), ...(agency ? Object.values(agency) : [])]);
}

/** The function failed: FunctionGraph logs and returns what is thrown, so only redacted text. */
export class InvocationFailedError extends ClawwatchError {}

export function redactedFailure(error: unknown, redact: Redactor): InvocationFailedError {
  const name = error instanceof Error ? error.name : "Error";
  const message = error instanceof Error ? error.message : String(error);
  const failure = new InvocationFailedError(redact(`${name}: ${message}`));
  failure.stack = `${failure.name}: ${failure.message}`;
  return failure;
}
