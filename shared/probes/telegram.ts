import { performance } from "node:perf_hooks";
import {
  BotApiError,
  BotTransportError,
  type BotUser,
  createBotApi,
  type WebhookInfo,
} from "../telegram";
import { elapsedSince, networkReason, safeDetail, withOneRetry } from "./http";
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

/**
 * `getMe` and `getWebhookInfo` with the gateway's bot token, through the Bot API client. Never `getUpdates`:
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
  const api = createBotApi({
    token: options.botToken,
    apiRoot: options.apiRoot,
    timeoutMs: options.timeoutMs,
  });
  const [me, info] = await Promise.allSettled([api.getMe(), api.getWebhookInfo()]);
  if (me.status === "rejected") verdict = classify(me.reason, "getMe", options.timeoutMs);
  else if (info.status === "rejected") {
    verdict = classify(info.reason, "getWebhookInfo", options.timeoutMs);
  } else verdict = healthy(me.value, info.value, options.botToken);
  return {
    ...verdict,
    detail: safeDetail(verdict.detail, [options.botToken]),
    latencyMs: elapsedSince(started),
  };
}

function healthy(me: BotUser, info: WebhookInfo, botToken: string): Verdict {
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
  if (error instanceof BotApiError) {
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
  if (error instanceof BotTransportError) return transportFailure(error, method, timeoutMs);
  // The client wraps every failure; anything else is a bug, and its text is not trusted.
  return { status: "down", detail: `${method} could not be sent (unexpected client failure)` };
}

function transportFailure(error: BotTransportError, method: string, timeoutMs: number): Verdict {
  switch (error.kind) {
    case "timeout":
      return {
        status: "down",
        detail: `no answer to ${method} within ${timeoutMs} ms`,
        unreachable: true,
      };
    case "not-json":
      // Something answered, typically a proxy's 502/504 page: the network path works.
      return {
        status: "down",
        detail: `Telegram answered ${method} with HTTP ${error.status ?? "?"} without JSON (a 5xx page?)`,
      };
    case "bad-url":
      return {
        status: "down",
        detail: `${method} could not be sent: the Bot API root is not an http(s) URL`,
      };
    case "too-large":
      // Something answered, far more than Telegram ever sends: the network path works.
      return { status: "down", detail: error.message };
    case "network": {
      // The transport failed before Telegram said a word: only its code is shown.
      const reason =
        networkReason(error, timeoutMs) ??
        (error.code ? `network error (${error.code})` : "network request failed");
      return { status: "down", detail: `${method}: ${reason}`, unreachable: true };
    }
  }
}
