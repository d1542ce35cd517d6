import { performance } from "node:perf_hooks";
import { createRedactor } from "../runtime/redact";
import { clip } from "../text/clip";

/**
 * What the probes share: one retry rule, network-error reading and safe detail text.
 * Kept free of any client library so each probe pulls in only its own.
 */

/** Socket-level failures: the target could not be reached at all. */
const NETWORK_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EPIPE: "connection reset",
  UND_ERR_SOCKET: "connection closed before an answer",
  ECONNABORTED: "connection aborted",
  ENOTFOUND: "DNS lookup failed",
  EAI_AGAIN: "DNS lookup failed",
  EHOSTUNREACH: "no route to host",
  ENETUNREACH: "network unreachable",
  EHOSTDOWN: "host down",
  ETIMEDOUT: "connect timed out",
  UND_ERR_CONNECT_TIMEOUT: "connect timed out",
  UND_ERR_HEADERS_TIMEOUT: "no answer in time",
  UND_ERR_BODY_TIMEOUT: "answer stalled",
};

const DETAIL_MAX = 200;

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Milliseconds since a `performance.now()` reading, rounded for humans. */
export function elapsedSince(start: number): number {
  return Math.round(performance.now() - start);
}

/**
 * Runs `attempt`, and once more after `delayMs` when `retryable` says the first answer may be
 * transient. Deterministic answers (a wrong token, a wrong URL) are never asked twice.
 */
export async function withOneRetry<R extends { status: string; detail: string }>(
  attempt: () => Promise<R>,
  retryable: (result: R) => boolean,
  delayMs: number,
): Promise<R> {
  const first = await attempt();
  if (!retryable(first)) return first;
  await sleep(delayMs);
  const second = await attempt();
  // The operator sees that the first try failed even when the retry rescued the cycle.
  const note = second.status === first.status ? "2 attempts" : `first attempt: ${first.status}`;
  return { ...second, detail: `${second.detail} (${note})` };
}

/** The first `code` found on an error or its causes (undici, node-fetch and axios nest them). */
export function errorCode(error: unknown): string | undefined {
  for (const item of causeChain(error)) {
    const code = (item as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return code;
  }
  return undefined;
}

/** True for an AbortSignal.timeout() firing, wherever it surfaces in the chain. */
export function isTimeout(error: unknown): boolean {
  return causeChain(error).some((item) => {
    const name = (item as { name?: unknown }).name;
    return name === "TimeoutError" || name === "APIConnectionTimeoutError";
  });
}

/** A short reason for a network failure, or undefined when the error is not one. */
export function networkReason(error: unknown, timeoutMs: number): string | undefined {
  if (isTimeout(error)) return `no answer within ${timeoutMs} ms`;
  const code = errorCode(error);
  if (code === undefined) return undefined;
  const reason = NETWORK_CODES[code];
  if (reason === undefined) return undefined;
  return code === "UND_ERR_HEADERS_TIMEOUT" || code === "ETIMEDOUT"
    ? `${reason} (${timeoutMs} ms)`
    : reason;
}

export function isNetworkCode(code: string | undefined): boolean {
  return code !== undefined && code in NETWORK_CODES;
}

/** Every error reachable through `cause`, `error` (grammY) and `errors` (AggregateError). */
export function causeChain(error: unknown): object[] {
  const seen: object[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.length < 8) {
    const item = queue.shift();
    if (typeof item !== "object" || item === null || seen.includes(item)) continue;
    seen.push(item);
    const record = item as { cause?: unknown; error?: unknown; errors?: unknown };
    queue.push(record.cause, record.error);
    if (Array.isArray(record.errors)) queue.push(...record.errors);
  }
  return seen;
}

/**
 * Detail text for the operator: secrets removed (the given ones and every token-shaped string),
 * Telegram URLs dropped entirely (they carry the bot token), and kept short.
 */
export function safeDetail(text: string, secrets: readonly string[] = []): string {
  const redact = createRedactor(secrets);
  const withoutUrls = text.replace(/https?:\/\/\S*\/bot\S*/gi, "<telegram url>");
  const clean = redact(withoutUrls).replace(/\s+/g, " ").trim();
  return clip(clean, DETAIL_MAX);
}

/** host:port of a URL for messages; never the user-info or the path. */
/**
 * The URL a probe asked, as an alert may print it: scheme, host, port and path, without the
 * user:password, query or fragment a token could hide in.
 */
export function askedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "the configured URL";
  }
}
