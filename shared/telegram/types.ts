/**
 * The few Bot API shapes clawwatch reads or sends, in Telegram's own snake_case. Answers are
 * typed, not validated: fields Telegram may leave out are optional.
 */

export interface BotUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  username: string;
}

export interface WebhookInfo {
  /** Empty in long-polling mode. */
  url: string;
  has_custom_certificate: boolean;
  /** Updates waiting for delivery; Telegram reports it in polling mode too. */
  pending_update_count?: number;
  ip_address?: string;
  last_error_date?: number;
  last_error_message?: string;
  max_connections?: number;
  allowed_updates?: string[];
}

export interface Chat {
  id: number;
  type: string;
}

export interface Message {
  message_id: number;
  date: number;
  chat: Chat;
  text?: string;
}

export interface InlineKeyboardButton {
  text: string;
  callback_data?: string;
  url?: string;
}

export interface InlineKeyboardMarkup {
  inline_keyboard: InlineKeyboardButton[][];
}

export type ParseMode = "HTML" | "MarkdownV2";

export interface SendMessageParams {
  chat_id: number | string;
  text: string;
  parse_mode?: ParseMode;
  link_preview_options?: { is_disabled?: boolean };
  reply_parameters?: { message_id: number; allow_sending_without_reply?: boolean };
  reply_markup?: InlineKeyboardMarkup;
  disable_notification?: boolean;
}

export interface EditMessageTextParams {
  chat_id: number | string;
  message_id: number;
  text: string;
  parse_mode?: ParseMode;
  link_preview_options?: { is_disabled?: boolean };
  /** Left out, the message loses its keyboard. */
  reply_markup?: InlineKeyboardMarkup;
}

export interface EditMessageReplyMarkupParams {
  chat_id: number | string;
  message_id: number;
  reply_markup?: InlineKeyboardMarkup;
}

export interface AnswerCallbackQueryParams {
  callback_query_id: string;
  text?: string;
  show_alert?: boolean;
}

export interface SetWebhookParams {
  url: string;
  secret_token?: string;
  allowed_updates?: string[];
  max_connections?: number;
  drop_pending_updates?: boolean;
}

export interface DeleteWebhookParams {
  drop_pending_updates?: boolean;
}
