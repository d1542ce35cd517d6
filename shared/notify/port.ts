import { NotifyError } from "../errors";
import type { Notification } from "../policy/state";

/** One notification for one box, as the cycle hands it to a notifier. */
export interface OutgoingMessage {
  box: string;
  notification: Notification;
  /** Telegram message to reply to; defaults to `notification.replyToMessageId`. */
  replyToMessageId?: number;
  /**
   * The policy's `resend` flag: true when this notification was handed out before and is still
   * undelivered. `withFallback` posts to the secondary webhook only when it is not set, so a long
   * Telegram outage mirrors each notification once, not once per cycle.
   */
  resend?: boolean;
}

/**
 * Where a message went. Only Telegram gives a message id (the policy threads replies to it);
 * the secondary webhook has none.
 */
export type SentMessage =
  | { via: "telegram"; messageId: number }
  | { via: "webhook"; messageId?: undefined };

export interface Notifier {
  /** Resolves once delivered; rejects (a NotifyError) so the caller keeps it in the outbox. */
  send(message: OutgoingMessage): Promise<SentMessage>;
}

export interface TelegramSendErrorDetails {
  /** Bot API method, e.g. "sendMessage". */
  method: string;
  /** HTTP status / Bot API error_code when Telegram answered; absent for network failures. */
  status?: number;
  /** Telegram's `retry_after` (seconds) on a 429. */
  retryAfterSeconds?: number;
  /**
   * True when sending the same request again cannot help (400 bad request, 401 revoked token,
   * 403 bot removed from the chat): a person has to fix the configuration. False for network
   * errors, timeouts, 5xx and 429.
   */
  permanent: boolean;
  /** Telegram's parameters.migrate_to_chat_id: the group became this supergroup. */
  migrateToChatId?: number;
  cause?: unknown;
}

/**
 * The Telegram Bot API refused a call or could not be reached. The message and the cause chain
 * never carry the bot token: the Bot API client keeps only a redacted copy of transport errors
 * (fetch quotes the URL, which holds the token) as `cause`.
 */
export class TelegramSendError extends NotifyError {
  readonly method: string;
  readonly status: number | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly permanent: boolean;
  readonly migrateToChatId: number | undefined;

  constructor(message: string, details: TelegramSendErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.method = details.method;
    this.status = details.status;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.permanent = details.permanent;
    this.migrateToChatId = details.migrateToChatId;
  }
}

/**
 * The alert channel itself is gone until a person acts: the chat does not exist for the bot
 * (400 chat not found), the bot was kicked or blocked (403), or its token was revoked (401).
 * Unlike an outage this does not heal by waiting, so it is mirrored and shown in diagnose.
 */
export function isAlertChannelLost(error: unknown): error is TelegramSendError {
  if (!(error instanceof TelegramSendError) || error.migrateToChatId !== undefined) return false;
  if (error.status === 401 || error.status === 403) return true;
  return error.status === 400 && /chat not found/i.test(error.message);
}

/**
 * Telegram could not be reached or failed on its side (network, timeout, 5xx): the case where the
 * secondary webhook is worth a post. A 429 is not an outage, and a 4xx is our configuration.
 */
export function isTelegramUnreachable(error: unknown): error is TelegramSendError {
  return (
    error instanceof TelegramSendError &&
    !error.permanent &&
    error.retryAfterSeconds === undefined &&
    error.status !== 429
  );
}
