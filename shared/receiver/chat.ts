import type { AlertsConfig } from "../config";
import type { RenderedMessage } from "../notify/render";
import { createTelegramNotifier } from "../notify/telegram";
import type { Logger } from "../runtime/logger";
import type { Redactor } from "../runtime/redact";
import { createBotApi } from "../telegram";

/** What the receiver says in the alert chat, through the alert bot. Failures reject. */
export interface ChatPort {
  /** Resolves to the new message's id. */
  post(
    message: RenderedMessage,
    options?: { chatId?: number | string; replyToMessageId?: number },
  ): Promise<number>;
  /** Replaces text and keyboard; a message without a keyboard loses its buttons. */
  editMessage(
    messageId: number,
    message: RenderedMessage,
    options?: { chatId?: number | string },
  ): Promise<void>;
  answerCallback(queryId: string, options?: { text?: string; showAlert?: boolean }): Promise<void>;
  /** The alert bot's username (getMe), to tell `/status@thisbot` from `/status@otherbot`. */
  botUsername(): Promise<string>;
}

export interface TelegramChatOptions {
  alerts: Pick<AlertsConfig, "botToken" | "chatId" | "apiRoot">;
  log: Logger;
  /** The invocation's redactor, for every text the chat sends. */
  redact: Redactor;
  /** Per request. Default 5 s: the answer has to fit in the webhook's time. */
  fetchTimeoutMs?: number;
}

/**
 * The alert notifier's Telegram client (same error mapping: no token in any message), plus
 * getMe. Rate limits are waited out for at most 2 s: the webhook must answer quickly.
 */
export function createTelegramChat(options: TelegramChatOptions): ChatPort {
  const timeoutMs = options.fetchTimeoutMs ?? 5_000;
  const notifier = createTelegramNotifier({
    alerts: options.alerts,
    log: options.log,
    redact: options.redact,
    fetchTimeoutMs: timeoutMs,
    maxRetryAfterSeconds: 2,
  });
  const api = createBotApi({
    token: options.alerts.botToken,
    apiRoot: options.alerts.apiRoot,
    timeoutMs,
  });
  return {
    post: (message, postOptions) => notifier.post(message, postOptions),
    editMessage: (messageId, message, editOptions) =>
      notifier.editMessage(messageId, message, editOptions),
    answerCallback: (queryId, answer) => notifier.answerCallback(queryId, answer),
    async botUsername() {
      try {
        return (await api.getMe()).username;
      } catch (error) {
        // The client's errors hold no token, so the reason can travel as the cause.
        throw new Error("getMe failed: the alert bot's identity is unknown for now", {
          cause: error,
        });
      }
    },
  };
}
