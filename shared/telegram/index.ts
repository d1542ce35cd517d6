export { type BotApi, type BotApiOptions, createBotApi, DEFAULT_API_ROOT } from "./client";
export {
  BotApiError,
  type BotErrorParameters,
  BotTransportError,
  type BotTransportErrorDetails,
  type BotTransportFailure,
} from "./errors";
export type * from "./types";
export { WEBHOOK_PORTS, webhookUrlProblem } from "./webhook-url";
