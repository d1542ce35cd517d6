import { NotifyError } from "../errors";
import type { Logger } from "../runtime/logger";
import { createRedactor, type Redactor, redactDeep } from "../runtime/redact";
import { clip } from "../text/clip";
import {
  isAlertChannelLost,
  isTelegramUnreachable,
  type Notifier,
  type OutgoingMessage,
} from "./port";

/**
 * The secondary channel: a plain JSON POST to a URL of the operator's choosing, so an outage of
 * Telegram itself is still seen somewhere. The URL is treated as a secret (chat webhooks often
 * carry a token in the path): it never appears in errors or logs.
 */

export interface WebhookNotifierOptions {
  url: string;
  /** Default 5 s. */
  timeoutMs?: number;
  /** Epoch ms for `at`; default Date.now. */
  now?: () => number;
  /** The invocation's redactor: the body's texts pass it before they are serialised. */
  redact: Redactor;
}

/** What the secondary webhook receives. Plain facts only: no tokens, no ids of the chat. */
export interface WebhookBody {
  /** The notification id: the same one arrives once per notification (receivers may de-dup). */
  id: string;
  box: string;
  type: string;
  component: string;
  severity: string;
  title: string;
  lines: string[];
  incidentId: string | null;
  /** ISO time of the post. */
  at: string;
}

/** The secondary webhook could not be reached or did not answer 2xx. */
export class WebhookSendError extends NotifyError {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const DEFAULT_TIMEOUT_MS = 5_000;
const WHERE = "the secondary webhook (alerts.secondaryWebhookUrl)";

export function webhookBody(message: OutgoingMessage, at: number): WebhookBody {
  const { box, notification } = message;
  return {
    id: notification.id,
    box,
    type: notification.type,
    component: notification.component,
    severity: notification.severity,
    title: notification.title,
    lines: [...notification.lines],
    incidentId: notification.incidentId ?? null,
    at: new Date(at).toISOString(),
  };
}

export function createWebhookNotifier(options: WebhookNotifierOptions): Notifier {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = options.now ?? Date.now;
  const redact = createRedactor([options.url]);
  return {
    async send(message) {
      let response: Response;
      try {
        response = await fetch(options.url, {
          method: "POST",
          headers: { "content-type": "application/json", "user-agent": "clawwatch" },
          body: JSON.stringify(redactDeep(options.redact, webhookBody(message, now()))),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw new WebhookSendError(
          `Could not reach ${WHERE}: ${transportReason(error, timeoutMs)}. Check the URL and that it accepts POSTs from the function.`,
          undefined,
          { cause: new Error(clip(redact(errorText(error)), 300)) },
        );
      }
      // Its content is not ours to read or log: cancelling releases the connection without
      // taking in whatever the webhook sends back (it could be endless).
      await response.body?.cancel().catch(() => undefined);
      if (!response.ok) {
        throw new WebhookSendError(
          `${WHERE} answered ${response.status}: check that it accepts a JSON POST.`,
          response.status,
        );
      }
      return { via: "webhook" };
    },
  };
}

/**
 * Telegram first; when Telegram is unreachable (network error, timeout, 5xx — not a 429) or the
 * alert channel is lost for good (400 chat not found, 403 bot kicked or blocked, 401 revoked
 * token) the message is also posted to the secondary webhook, and then the Telegram failure is
 * thrown anyway so the policy keeps the message in the outbox for Telegram later.
 *
 * Once per notification, statelessly: the webhook is only tried when `message.resend` is not
 * set. The caller must pass the policy's `resend` flag of the notify action (true when that
 * notification id was handed out before); then every later cycle of the same outage skips the
 * webhook. The cost: a notification whose first attempt failed for another reason (429) and
 * that later meets an outage is not mirrored; it still reaches Telegram from the outbox.
 * A failing webhook is logged and never hides the Telegram error.
 */
export function withFallback(primary: Notifier, secondary: Notifier, log: Logger): Notifier {
  return {
    async send(message) {
      try {
        return await primary.send(message);
      } catch (error) {
        const mirrored = isTelegramUnreachable(error) || isAlertChannelLost(error);
        if (mirrored && message.resend !== true) {
          await mirror(secondary, message, log);
        }
        throw error;
      }
    },
  };
}

async function mirror(secondary: Notifier, message: OutgoingMessage, log: Logger): Promise<void> {
  const fields = { box: message.box, notificationId: message.notification.id };
  try {
    await secondary.send(message);
    log.warn("Telegram unreachable: notification posted to the secondary webhook", fields);
  } catch (error) {
    log.error("Telegram unreachable and the secondary webhook failed too", {
      ...fields,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

function transportReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof code === "string" ? `network error ${code}` : "network error";
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.name}: ${error.message}${cause}`;
}
