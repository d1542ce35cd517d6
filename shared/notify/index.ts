export {
  CALLBACK_ACTIONS,
  CALLBACK_DATA_MAX_BYTES,
  CALLBACK_DATA_VERSION,
  type CallbackAction,
  CallbackDataError,
  type CallbackPayload,
  decodeCallback,
  encodeCallback,
} from "./callback-data";
export {
  createMemoryNotifier,
  type DeliveredMessage,
  type MemoryNotifier,
} from "./memory";
export {
  isAlertChannelLost,
  isTelegramUnreachable,
  type Notifier,
  type OutgoingMessage,
  type SentMessage,
  TelegramSendError,
  type TelegramSendErrorDetails,
} from "./port";
export {
  ACK_BUTTON_DURATION,
  confirmKeyboard,
  escapeHtml,
  type InlineKeyboard,
  MAX_MESSAGE_LENGTH,
  MUTE_BUTTON_DURATION,
  markerOf,
  notificationKeyboard,
  type RenderedMessage,
  renderNotification,
  renderReply,
  renderResolvedHead,
} from "./render";
export {
  createTelegramNotifier,
  type PostOptions,
  type TelegramNotifier,
  type TelegramNotifierOptions,
} from "./telegram";
export {
  createWebhookNotifier,
  type WebhookBody,
  type WebhookNotifierOptions,
  WebhookSendError,
  webhookBody,
  withFallback,
} from "./webhook";
