import { performance } from "node:perf_hooks";
import { Api, GrammyError, HttpError } from "grammy";
import { elapsedSince, errorCode, networkReason, safeDetail, withOneRetry } from "./http";
import type { TelegramResult } from "./types";

export interface TelegramProbeOptions {
  /** Bot API root without `/bot<token>`, e.g. `https://api.telegram.org`. */
  apiRoot: string;
  /** The gateway's own bot token. */
  botToken: string;
  timeoutMs: number;
  retryDelayMs: number;
}

interface Throttled {
  /** Telegram answered 429: asking again within the cycle would only earn another one. */
  throttled?: boolean;
}
type Verdict = Omit<TelegramResult, "latencyMs"> & Throttled;
type Me = Awaited<ReturnType<Api["getMe"]>>;
type WebhookInfo = Awaited<ReturnType<Api["getWebhookInfo"]>>;

/**
 * `getMe` and `getWebhookInfo` with the gateway's bot token, through grammY. Never `getUpdates`:
 * that would take the updates the gateway is waiting for (and earn it a 409). Never throws.
 *
 * - 401/404 → token-revoked (deterministic, not retried).
 * - 429 → down, *not* unreachable: Telegram throttles this bot, which slows the gateway's own
 *   replies too, so it is worth an alert after the threshold, never a reboot, and never evidence
 *   that the watchdog's network is gone. Not retried: Telegram asked us to wait `retry_after`.
 * - network errors and timeouts → down + unreachable; 5xx or a non-JSON answer → down.
 *   Both are retried once.
 *
 * The token sits in every Bot API URL, so no error message text from the transport ever reaches
 * `detail`; only codes and Telegram's own `description` do, and those pass the redactor.
 */
export async function probeTelegram(options: TelegramProbeOptions): Promise<TelegramResult> {
  const { throttled: _, ...result } = await withOneRetry(
    () => attempt(options),
    (result) => result.status === "down" && !result.throttled,
    options.retryDelayMs,
  );
  return result;
}

async function attempt(options: TelegramProbeOptions): Promise<TelegramResult & Throttled> {
  const started = performance.now();
  let verdict: Verdict;
  try {
    const api = new Api(options.botToken, {
      apiRoot: options.apiRoot.replace(/\/+$/, ""),
      timeoutSeconds: options.timeoutMs / 1000,
    });
    const [me, info] = await Promise.allSettled([api.getMe(), api.getWebhookInfo()]);
    if (me.status === "rejected") verdict = classify(me.reason, "getMe", options.timeoutMs);
    else if (info.status === "rejected") {
      verdict = classify(info.reason, "getWebhookInfo", options.timeoutMs);
    } else verdict = healthy(me.value, info.value, options.botToken);
  } catch (error) {
    verdict = classify(error, "getMe", options.timeoutMs);
  }
  return {
    ...verdict,
    detail: safeDetail(verdict.detail, [options.botToken]),
    latencyMs: elapsedSince(started),
  };
}

function healthy(me: Me, info: WebhookInfo, botToken: string): Verdict {
  const url = info.url ?? "";
  const mode = url ? "webhook" : "long polling";
  const lastError =
    url && info.last_error_message ? `; last webhook error: ${info.last_error_message}` : "";
  // Some set-ups put the token in their webhook path.
  const result: Verdict = {
    status: "ok",
    detail: "",
    webhookUrl: url.split(botToken).join("<redacted>"),
  };
  const pending: unknown = info.pending_update_count;
  if (typeof pending === "number") {
    result.pendingUpdateCount = pending;
    result.detail = `@${me.username}, ${mode}, ${pending} update(s) pending${lastError}`;
  } else {
    result.detail = `@${me.username}, ${mode}, pending count not reported${lastError}`;
  }
  return result;
}

function classify(error: unknown, method: string, timeoutMs: number): Verdict {
  if (error instanceof GrammyError) {
    const code = error.error_code;
    const said = `Telegram answered ${method} with ${code}: ${error.description}`;
    if (code === 401 || code === 404) {
      return {
        status: "token-revoked",
        detail: `${said}: the gateway's bot token is not valid any more`,
      };
    }
    if (code === 429) {
      const after = error.parameters.retry_after;
      return {
        status: "down",
        detail: `${said} (throttled; retry after ${after ?? "?"} s)`,
        throttled: true,
      };
    }
    return { status: "down", detail: said };
  }
  if (error instanceof HttpError) return transportFailure(error, method, timeoutMs);
  // Only the constructor can get here (say, a malformed apiRoot); its text holds no token.
  const reason = error instanceof Error ? error.message : String(error);
  return { status: "down", detail: `${method} could not be sent: ${reason}` };
}

function transportFailure(error: HttpError, method: string, timeoutMs: number): Verdict {
  const inner = error.error as { type?: unknown; message?: unknown } | undefined;
  if (typeof inner?.message === "string" && /timed out after/.test(inner.message)) {
    return {
      status: "down",
      detail: `no answer to ${method} within ${timeoutMs} ms`,
      unreachable: true,
    };
  }
  // node-fetch (grammY's transport on Node) reports a body that is not JSON as "invalid-json":
  // something answered, typically a proxy's 502/504 page.
  if (inner?.type === "invalid-json") {
    return { status: "down", detail: `Telegram answered ${method} without JSON (a 5xx page?)` };
  }
  // Anything else is the transport failing before Telegram said a word: only its code is shown.
  const code = errorCode(error);
  const reason =
    networkReason(error, timeoutMs) ??
    (code ? `network error (${code})` : "network request failed");
  return { status: "down", detail: `${method}: ${reason}`, unreachable: true };
}
