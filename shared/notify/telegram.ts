import type { AlertsConfig } from "../config/schema";
import type { Logger } from "../runtime/logger";
import { createRedactor, type Redactor, redactDeep } from "../runtime/redact";
import { BotApiError, BotTransportError, createBotApi } from "../telegram";
import { clip, wellFormed } from "../text/clip";
import { type Notifier, type OutgoingMessage, TelegramSendError } from "./port";
import { type RenderedMessage, renderNotification, renderResolvedHead } from "./render";

export interface TelegramNotifierOptions {
  alerts: Pick<AlertsConfig, "botToken" | "chatId" | "apiRoot"> &
    Partial<Pick<AlertsConfig, "quietTypes">>;
  log: Logger;
  /**
   * The invocation's redactor: every text sent (alerts, replies, edits, callback answers) passes
   * it, a notification before it is rendered to HTML, so no escape can hide a secret from it.
   */
  redact: Redactor;
  /** Per request; the call is aborted after it. Default 10 s. */
  fetchTimeoutMs?: number;
  /**
   * Longest 429 `retry_after` waited out inside the call (once). Default 5 s: the watchdog has a
   * time budget; anything longer is left to a later cycle (the message stays in the outbox).
   */
  maxRetryAfterSeconds?: number;
  /** Injected by tests to scale or record the 429 wait. */
  sleep?: (ms: number) => Promise<void>;
  /** The alert chat's id since Telegram migrated it (state); default alerts.chatId. */
  migratedChatId?: number;
  /**
   * Telegram answered that the alert chat became a supergroup: the notifier already sends to
   * `to` from then on; the caller stores it, tells the chat and writes the audit log.
   */
  onChatMigrated?: (from: number | string, to: number) => Promise<void>;
}

export interface PostOptions {
  replyToMessageId?: number;
  /** Sent without sound or banner (Telegram's disable_notification). */
  quiet?: boolean;
  /** Default: the alert chat (alerts.chatId). */
  chatId?: number | string;
}

/**
 * The alert bot in the alert chat: the Notifier for the watchdog, plus the few calls the
 * Telegram receiver needs (post a reply, edit a message, answer a button press). Every call
 * rejects with TelegramSendError only.
 */
export interface TelegramNotifier extends Notifier {
  send(message: OutgoingMessage): Promise<{ via: "telegram"; messageId: number }>;
  /** Sends a rendered message; resolves to its message id. */
  post(message: RenderedMessage, options?: PostOptions): Promise<number>;
  /** Replaces text and keyboard (no keyboard in `message` removes it). "Not modified" is success. */
  editMessage(
    messageId: number,
    message: RenderedMessage,
    options?: { chatId?: number | string },
  ): Promise<void>;
  answerCallback(
    callbackQueryId: string,
    options?: { text?: string; showAlert?: boolean },
  ): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RETRY_AFTER_S = 5;
const DESCRIPTION_MAX = 200;

export function createTelegramNotifier(options: TelegramNotifierOptions): TelegramNotifier {
  const { alerts, log } = options;
  const timeoutMs = options.fetchTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const api = createBotApi({ token: alerts.botToken, apiRoot: alerts.apiRoot, timeoutMs });
  // The client already keeps the token out of its errors; this guards anything else thrown.
  const tokenRedact = createRedactor([alerts.botToken]);
  const redact: Redactor = (text) => options.redact(tokenRedact(text));
  const clean = (message: RenderedMessage): RenderedMessage => ({
    // The redactor writes "<redacted>": escape it, or Telegram rejects the HTML.
    html: redact(message.html).replace(/<(redacted[a-z-]*)>/g, "&lt;$1&gt;"),
    text: redact(message.text),
    ...(message.keyboard === undefined
      ? {}
      : {
          keyboard: {
            inline_keyboard: message.keyboard.inline_keyboard.map((row) =>
              row.map((button) => ({ ...button, text: redact(button.text) })),
            ),
          },
        }),
  });
  const call = createCaller({
    log,
    redact,
    timeoutMs,
    maxRetryAfterSeconds: options.maxRetryAfterSeconds ?? DEFAULT_MAX_RETRY_AFTER_S,
    sleep: options.sleep ?? sleep,
  });

  let alertChat: number | string = options.migratedChatId ?? alerts.chatId;
  /**
   * A basic group upgraded to a supergroup (Telegram does it on its own, e.g. when topics are
   * enabled) answers 400 with parameters.migrate_to_chat_id: the message goes to the new id.
   */
  const followMigration = async (chatId: number | string, error: unknown) => {
    const to = error instanceof TelegramSendError ? error.migrateToChatId : undefined;
    if (to === undefined) throw error;
    if (String(chatId) === String(alertChat)) {
      const from = alertChat;
      alertChat = to;
      log.warn("the alert chat became a supergroup; sending there from now on", { from, to });
      await options.onChatMigrated?.(from, to).catch((hookError: unknown) => {
        log.error("the alert chat's new id was not recorded", {
          error: hookError instanceof Error ? hookError.message : String(hookError),
        });
      });
    }
    return to;
  };

  const post = async (raw: RenderedMessage, postOptions: PostOptions = {}) => {
    const message = clean(raw);
    const chatId = postOptions.chatId ?? alertChat;
    try {
      return await postTo(message, chatId, postOptions);
    } catch (error) {
      // The reply target stayed in the old group: allow_sending_without_reply covers that.
      return postTo(message, await followMigration(chatId, error), postOptions);
    }
  };

  const postTo = async (message: RenderedMessage, chatId: number | string, to: PostOptions) => {
    const replyTo = to.replyToMessageId;
    const sent = await call("sendMessage", true, (plain) =>
      api.sendMessage({
        chat_id: chatId,
        // Telegram refuses the whole message for one lone surrogate; clip() never makes one,
        // this guards text cut anywhere else.
        text: wellFormed(plain ? message.text : message.html),
        ...(plain ? {} : { parse_mode: "HTML" as const }),
        link_preview_options: { is_disabled: true },
        ...(to.quiet ? { disable_notification: true } : {}),
        ...(replyTo === undefined
          ? {}
          : { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } }),
        ...(message.keyboard === undefined ? {} : { reply_markup: message.keyboard }),
      }),
    );
    return sent.message_id;
  };

  /**
   * "resolved" also rewrites the incident's first message (state, duration, no buttons). The
   * resolved line is out already, so a failed edit is logged, not retried: sending the notice
   * again would repeat it in the chat.
   */
  const rewriteHead = async (box: string, notification: OutgoingMessage["notification"]) => {
    const head = notification.edit;
    if (head?.messageId === undefined) return;
    try {
      await edit(head.messageId, renderResolvedHead(box, notification), {});
    } catch (error) {
      log.warn("the incident's first message was not marked resolved; its buttons stay", {
        box,
        notificationId: notification.id,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };

  const edit: TelegramNotifier["editMessage"] = async (messageId, raw, editOptions = {}) => {
    const message = clean(raw);
    const chatId = editOptions.chatId ?? alertChat;
    try {
      await call("editMessageText", true, (plain) =>
        api.editMessageText({
          chat_id: chatId,
          message_id: messageId,
          text: wellFormed(plain ? message.text : message.html),
          ...(plain ? {} : { parse_mode: "HTML" as const }),
          link_preview_options: { is_disabled: true },
          ...(message.keyboard === undefined ? {} : { reply_markup: message.keyboard }),
        }),
      );
    } catch (error) {
      // A second press of the same button edits to the same text: nothing left to do.
      if (error instanceof TelegramSendError && /message is not modified/i.test(error.message)) {
        return;
      }
      // The message stayed in the old group and cannot be edited in the new one.
      await followMigration(chatId, error);
      throw error;
    }
  };

  return {
    async send(outgoing) {
      const { box, notification } = outgoing;
      const replyToMessageId = outgoing.replyToMessageId ?? notification.replyToMessageId;
      const safe = redactDeep(redact, notification);
      const quiet = notification.quiet ?? (alerts.quietTypes ?? []).includes(notification.type);
      const messageId = await post(renderNotification(box, safe), { replyToMessageId, quiet });
      log.debug("alert sent to Telegram", { box, notificationId: notification.id, messageId });
      await rewriteHead(box, safe);
      return { via: "telegram", messageId };
    },
    post,
    editMessage: edit,
    async answerCallback(callbackQueryId, answer = {}) {
      await call("answerCallbackQuery", false, () =>
        api.answerCallbackQuery({
          callback_query_id: callbackQueryId,
          ...(answer.text === undefined ? {} : { text: clip(redact(answer.text), 200) }),
          ...(answer.showAlert === undefined ? {} : { show_alert: answer.showAlert }),
        }),
      );
    },
  };
}

interface CallerOptions {
  log: Logger;
  redact: Redactor;
  timeoutMs: number;
  maxRetryAfterSeconds: number;
  sleep: (ms: number) => Promise<void>;
}

type Caller = <T>(
  method: string,
  canFallBackToPlain: boolean,
  attempt: (plain: boolean) => Promise<T>,
) => Promise<T>;

/**
 * At most one plain-text resend (HTML rejected) and one wait for a short 429, so a call makes
 * three requests at most. Nothing else is retried here: a timed-out request may have been
 * delivered, and the outbox already retries on the next cycle.
 */
function createCaller(options: CallerOptions): Caller {
  const { log, redact, maxRetryAfterSeconds } = options;
  return async (method, canFallBackToPlain, attempt) => {
    let plain = false;
    let waited = false;
    for (;;) {
      try {
        return await attempt(plain);
      } catch (error) {
        const failure = toSendError(method, error, redact, options.timeoutMs);
        if (canFallBackToPlain && !plain && isEntityParseError(error)) {
          log.warn("Telegram rejected the message's HTML; sending it again as plain text", {
            method,
            error: failure.message,
          });
          plain = true;
          continue;
        }
        const retryAfter = failure.retryAfterSeconds;
        if (!waited && retryAfter !== undefined && retryAfter <= maxRetryAfterSeconds) {
          log.info("Telegram rate limit: waiting before the one retry", {
            method,
            retryAfterSeconds: retryAfter,
          });
          waited = true;
          await options.sleep(retryAfter * 1000);
          continue;
        }
        throw failure;
      }
    }
  };
}

function isEntityParseError(error: unknown): boolean {
  return (
    error instanceof BotApiError &&
    error.error_code === 400 &&
    /can't parse entities/i.test(error.description)
  );
}

/** Maps the client's two failure classes onto ours; the token never survives into the result. */
function toSendError(
  method: string,
  error: unknown,
  redact: Redactor,
  timeoutMs: number,
): TelegramSendError {
  if (error instanceof BotApiError) return fromApiError(method, error, redact);
  const reason = describeTransport(error, redact, timeoutMs);
  const status = error instanceof BotTransportError ? error.status : undefined;
  return new TelegramSendError(
    `Could not reach the Telegram Bot API for ${method} (${reason}). Check the function's public network (it must not have VPC access) and alerts.apiRoot; send again later.`,
    {
      method,
      permanent: false,
      ...(status === undefined ? {} : { status }),
      cause: error instanceof BotTransportError ? error : redactedCopy(error, redact),
    },
  );
}

function fromApiError(method: string, error: BotApiError, redact: Redactor): TelegramSendError {
  const status = error.error_code;
  const description = clip(redact(error.description), DESCRIPTION_MAX);
  const retryAfter = error.parameters.retry_after;
  const said = `${status}: ${description}`;
  const migrateTo = error.parameters.migrate_to_chat_id;
  const details = {
    method,
    status,
    permanent: status < 500 && status !== 429,
    cause: error,
    ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
    ...(migrateTo === undefined ? {} : { migrateToChatId: migrateTo }),
  };
  return new TelegramSendError(adviceFor(method, status, description, said, retryAfter), details);
}

function adviceFor(
  method: string,
  status: number,
  description: string,
  said: string,
  retryAfter: number | undefined,
): string {
  if (status === 429) {
    return `Telegram rate-limited ${method} (${said}): send again after ${retryAfter ?? "a few"} s.`;
  }
  if (status === 401) {
    return `Telegram refused the alert bot's token for ${method} (${said}): it is wrong or was revoked; put the current token from @BotFather in alerts.botToken.`;
  }
  if (status === 403) {
    return `Telegram refused ${method} (${said}): add the alert bot back to the alert chat (alerts.chatId) and unblock it.`;
  }
  if (status === 400 && /upgraded to a supergroup/i.test(description)) {
    return `Telegram refused ${method} (${said}): the alert group became a supergroup; set alerts.chatId to its new id.`;
  }
  if (status === 400 && /chat not found/i.test(description)) {
    return `Telegram refused ${method} (${said}): check alerts.chatId and that the alert bot is a member of that chat.`;
  }
  if (status === 404) {
    return `Telegram answered ${method} with ${said}: check that alerts.apiRoot points at the Bot API.`;
  }
  if (status >= 500) {
    return `Telegram failed on its side for ${method} (${said}): send again later.`;
  }
  return `Telegram refused ${method} (${said}): the request itself is wrong, so sending it again will not help; report this as a clawwatch bug.`;
}

/** A short reason for a transport failure, from the kind the client reports. */
function describeTransport(error: unknown, redact: Redactor, timeoutMs: number): string {
  if (!(error instanceof BotTransportError)) {
    return error instanceof Error
      ? clip(redact(error.message), DESCRIPTION_MAX)
      : "unknown failure";
  }
  switch (error.kind) {
    case "timeout":
      return `no answer within ${timeoutMs / 1000} s`;
    case "not-json":
      return `HTTP ${error.status ?? "?"}, and the answer was not JSON: an error page from Telegram's front end or a proxy`;
    case "bad-url":
      return "alerts.apiRoot is not an http(s) URL";
    case "too-large":
      return `HTTP ${error.status ?? "?"}, and the answer was longer than any Bot API answer: check alerts.apiRoot`;
    case "network":
      return error.code
        ? `network error ${error.code}`
        : clip(redact(error.message), DESCRIPTION_MAX);
  }
}

/** For anything the client did not wrap (a bug): a redacted copy, never the original. */
function redactedCopy(error: unknown, redact: Redactor): Error {
  const copy = new Error(clip(redact(error instanceof Error ? error.message : String(error)), 500));
  copy.name = error instanceof Error ? error.name : "Error";
  return copy;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
