import { BODY_LIMITS, readBoundedText, tooLargeIn } from "../runtime/bounded-body";
import { createRedactor, type Redactor } from "../runtime/redact";
import { clip } from "../text/clip";
import { BotApiError, type BotErrorParameters, BotTransportError } from "./errors";
import type {
  AnswerCallbackQueryParams,
  BotUser,
  DeleteWebhookParams,
  EditMessageReplyMarkupParams,
  EditMessageTextParams,
  Message,
  SendMessageParams,
  SetWebhookParams,
  WebhookInfo,
} from "./types";

export interface BotApiOptions {
  token: string;
  /** Bot API root without `/bot<token>`. Default `https://api.telegram.org`. */
  apiRoot?: string;
  /** Per call, answer body included. Default 10 s. */
  timeoutMs?: number;
}

/**
 * A Bot API client over Node's global fetch: one JSON POST per call. Every failure is a
 * BotApiError (Telegram said `ok:false`) or a BotTransportError (no Bot API answer); neither
 * carries the token or the URL that holds it. Nothing is retried here: callers know whether a
 * second try is safe and worth their time budget.
 */
export interface BotApi {
  call<T>(method: string, params?: object): Promise<T>;
  getMe(): Promise<BotUser>;
  getWebhookInfo(): Promise<WebhookInfo>;
  sendMessage(params: SendMessageParams): Promise<Message>;
  /** `true` instead of a message for inline messages, as on Telegram. */
  editMessageText(params: EditMessageTextParams): Promise<Message | true>;
  editMessageReplyMarkup(params: EditMessageReplyMarkupParams): Promise<Message | true>;
  answerCallbackQuery(params: AnswerCallbackQueryParams): Promise<true>;
  setWebhook(params: SetWebhookParams): Promise<true>;
  deleteWebhook(params?: DeleteWebhookParams): Promise<true>;
}

export const DEFAULT_API_ROOT = "https://api.telegram.org";
const DEFAULT_TIMEOUT_MS = 10_000;
const TEXT_MAX = 300;

export function createBotApi(options: BotApiOptions): BotApi {
  const root = (options.apiRoot ?? DEFAULT_API_ROOT).replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const { token } = options;
  const rootIsHttp = /^https?:\/\/[^/]/i.test(root);
  // The URL is replaced before the token so a message never even shows where the token sat.
  const redact = createRedactor([
    `${root}/bot${token}`,
    token,
    encodeURIComponent(token),
    encodeURI(token),
  ]);

  const call = async <T>(method: string, params: object = {}): Promise<T> => {
    if (!rootIsHttp) {
      throw new BotTransportError(
        `Telegram ${method} not sent: the Bot API root is not an http(s) URL; check alerts.apiRoot (default ${DEFAULT_API_ROOT})`,
        { method, kind: "bad-url" },
      );
    }
    const signal = AbortSignal.timeout(timeoutMs);
    let status: number | undefined;
    let text: string;
    try {
      const response = await fetch(`${root}/bot${token}/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(params),
        signal,
      });
      status = response.status;
      text = await readBoundedText(response, BODY_LIMITS.telegram);
    } catch (error) {
      const tooLarge = tooLargeIn(error);
      if (tooLarge) {
        throw new BotTransportError(`Telegram's answer to ${method} was ${tooLarge.message}`, {
          method,
          kind: "too-large",
          ...(status === undefined ? {} : { status }),
        });
      }
      throw transportError(method, error, { redact, timeoutMs, status, timedOut: signal.aborted });
    }
    return readEnvelope<T>(method, status, text, redact);
  };

  return {
    call,
    getMe: () => call("getMe"),
    getWebhookInfo: () => call("getWebhookInfo"),
    sendMessage: (params) => call("sendMessage", params),
    editMessageText: (params) => call("editMessageText", params),
    editMessageReplyMarkup: (params) => call("editMessageReplyMarkup", params),
    answerCallbackQuery: (params) => call("answerCallbackQuery", params),
    setWebhook: (params) => call("setWebhook", params),
    deleteWebhook: (params = {}) => call("deleteWebhook", params),
  };
}

interface Envelope {
  ok: boolean;
  result?: unknown;
  error_code?: unknown;
  description?: unknown;
  parameters?: unknown;
}

function readEnvelope<T>(method: string, status: number, text: string, redact: Redactor): T {
  const envelope = parseEnvelope(text);
  if (envelope === undefined) {
    throw new BotTransportError(
      `Telegram's answer to ${method} (HTTP ${status}) was not JSON: an error page from Telegram's front end or a proxy`,
      { method, kind: "not-json", status },
    );
  }
  if (envelope.ok) return envelope.result as T;
  const code = typeof envelope.error_code === "number" ? envelope.error_code : status;
  const description =
    typeof envelope.description === "string"
      ? clip(redact(envelope.description), TEXT_MAX)
      : `HTTP ${status}`;
  throw new BotApiError(method, code, description, errorParameters(envelope.parameters));
}

function parseEnvelope(text: string): Envelope | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const ok = (parsed as { ok?: unknown }).ok;
  return typeof ok === "boolean" ? (parsed as Envelope) : undefined;
}

function errorParameters(value: unknown): BotErrorParameters {
  if (typeof value !== "object" || value === null) return {};
  const { retry_after, migrate_to_chat_id } = value as Record<string, unknown>;
  return {
    ...(typeof retry_after === "number" ? { retry_after } : {}),
    ...(typeof migrate_to_chat_id === "number" ? { migrate_to_chat_id } : {}),
  };
}

interface TransportContext {
  redact: Redactor;
  timeoutMs: number;
  status: number | undefined;
  /** The timeout signal fired: whatever undici threw, the cause is our own deadline. */
  timedOut: boolean;
}

function transportError(method: string, error: unknown, context: TransportContext) {
  const cause = redactedCopy(error, context.redact);
  const status = context.status === undefined ? {} : { status: context.status };
  if (context.timedOut) {
    return new BotTransportError(
      `Telegram did not answer ${method} within ${context.timeoutMs} ms`,
      { method, kind: "timeout", cause, ...status },
    );
  }
  const code = firstCode(error);
  const reason = code ?? clip(context.redact(firstMessage(error)), TEXT_MAX);
  return new BotTransportError(`Network request for ${method} failed: ${reason}`, {
    method,
    kind: "network",
    cause,
    ...status,
    ...(code === undefined ? {} : { code }),
  });
}

/** undici nests the socket error: TypeError("fetch failed") → Error { code: "ECONNREFUSED" }. */
function firstCode(error: unknown): string | undefined {
  for (let item = error, depth = 0; item instanceof Error && depth < 5; depth++) {
    const code = (item as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return code;
    item = item.cause;
  }
  return undefined;
}

function firstMessage(error: unknown): string {
  let item = error;
  for (let depth = 0; item instanceof Error && depth < 5; depth++) {
    if (!(item.cause instanceof Error)) return item.message;
    item = item.cause;
  }
  return String(item);
}

/**
 * A new chain of plain errors with redacted messages, keeping names (TimeoutError) and codes:
 * the original may quote the URL (a malformed one does: "Failed to parse URL from …").
 */
function redactedCopy(error: unknown, redact: Redactor, depth = 0): Error {
  const source = error instanceof Error ? error : undefined;
  const message = clip(redact(source?.message ?? String(error)), TEXT_MAX);
  const nested = source?.cause;
  const copy =
    nested !== undefined && depth < 3
      ? new Error(message, { cause: redactedCopy(nested, redact, depth + 1) })
      : new Error(message);
  copy.name = source?.name ?? "Error";
  copy.stack = `${copy.name}: ${message}`;
  const code = (source as { code?: unknown } | undefined)?.code;
  if (typeof code === "string") Object.assign(copy, { code });
  return copy;
}
