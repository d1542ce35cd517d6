import { createHash, timingSafeEqual } from "node:crypto";

/**
 * The platform-neutral side of the webhook, written once: every platform adapter (APIG today)
 * turns its event into a WebhookRequest and a WebhookResponse back into its result.
 */
export interface WebhookRequest {
  method: string;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string>>;
  body: Uint8Array;
}

export interface WebhookResponse {
  status: number;
  body: { ok: boolean; error?: string };
}

export const SECRET_HEADER = "x-telegram-bot-api-secret-token";
/** Telegram updates are a few KB; anything this large is not one. */
export const MAX_BODY_BYTES = 256 * 1024;

export const OK: WebhookResponse = { status: 200, body: { ok: true } };

export type GateResult =
  | { kind: "accept"; json: unknown }
  | { kind: "reject"; response: WebhookResponse; reason: string };

/**
 * Constant time whatever the lengths: both sides are hashed first, so neither the length nor a
 * common prefix of the secret shows in the timing.
 */
export function secretMatches(expected: string | undefined, given: string | undefined): boolean {
  if (!expected || given === undefined) return false;
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(expected), digest(given));
}

/**
 * Method, secret, size and JSON, in that order: an unauthenticated caller learns nothing about
 * what the receiver would accept. Bad input becomes a 4xx answer, never a throw.
 */
export function checkRequest(
  request: WebhookRequest,
  options: { secret: string | undefined; maxBodyBytes?: number },
): GateResult {
  if (request.method.toUpperCase() !== "POST") {
    return reject(405, "method not allowed", `HTTP ${request.method} instead of POST`);
  }
  if (!options.secret) {
    return reject(401, "unauthorized", "alerts.webhookSecret is not configured");
  }
  if (!secretMatches(options.secret, request.headers[SECRET_HEADER])) {
    const reason = request.headers[SECRET_HEADER] === undefined ? "no secret" : "wrong secret";
    return reject(401, "unauthorized", reason);
  }
  const limit = options.maxBodyBytes ?? MAX_BODY_BYTES;
  if (request.body.byteLength > limit) {
    return reject(413, "body too large", `body of ${request.body.byteLength} bytes`);
  }
  try {
    const json: unknown = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(request.body),
    );
    return { kind: "accept", json };
  } catch {
    return reject(400, "body is not JSON", "malformed JSON or not UTF-8");
  }
}

function reject(status: number, error: string, reason: string): GateResult {
  return { kind: "reject", response: { status, body: { ok: false, error } }, reason };
}
