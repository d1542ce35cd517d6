import { ClawwatchError } from "../errors";

/** What Telegram adds to an `ok:false` answer; only these fields are read. */
export interface BotErrorParameters {
  /** Seconds to wait before the same call may succeed (429). */
  retry_after?: number;
  /** The group became a supergroup with this id (400). */
  migrate_to_chat_id?: number;
}

/**
 * Telegram answered `ok:false`: it understood the call and refused it. Field names follow the Bot
 * API (and grammY's GrammyError) so callers can read them like the documentation.
 */
export class BotApiError extends ClawwatchError {
  readonly method: string;
  readonly error_code: number;
  /** Telegram's own words, with any token removed. */
  readonly description: string;
  readonly parameters: BotErrorParameters;

  constructor(
    method: string,
    errorCode: number,
    description: string,
    parameters: BotErrorParameters = {},
  ) {
    super(`Telegram refused ${method} (${errorCode}: ${description})`);
    this.method = method;
    this.error_code = errorCode;
    this.description = description;
    this.parameters = parameters;
  }
}

/**
 * - network: no answer at all (refused, reset, DNS, TLS);
 * - timeout: no complete answer within the client's timeout;
 * - not-json: an answer that is not a Bot API envelope (a proxy's HTML 502 page, say);
 * - bad-url: the configured apiRoot is not an http(s) URL, so nothing was sent;
 * - too-large: an answer longer than any Bot API envelope, cut off unread.
 */
export type BotTransportFailure = "network" | "timeout" | "not-json" | "bad-url" | "too-large";

export interface BotTransportErrorDetails {
  method: string;
  kind: BotTransportFailure;
  /** HTTP status, when something answered. */
  status?: number;
  /** The socket-level code (ECONNREFUSED, UND_ERR_SOCKET, …), when known. */
  code?: string;
  /** A redacted copy of the transport's error: never the original, which may quote the URL. */
  cause?: Error;
}

/** The call never got a Bot API answer. Message and cause chain carry neither token nor URL. */
export class BotTransportError extends ClawwatchError {
  readonly method: string;
  readonly kind: BotTransportFailure;
  readonly status: number | undefined;
  readonly code: string | undefined;

  constructor(message: string, details: BotTransportErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.method = details.method;
    this.kind = details.kind;
    this.status = details.status;
    this.code = details.code;
  }
}
