export { type Access, checkAccess } from "./access";
export { apigResult, requestFromApig } from "./apig";
export { createReceiver, DEFAULT_SETTINGS, type Receiver, type ReceiverOptions } from "./app";
export { type ChatPort, createTelegramChat, type TelegramChatOptions } from "./chat";
export {
  type CommandContext,
  type CommandText,
  type OperatorRequest,
  PAUSE_LIMITS,
  type ParsedCommand,
  parseCommand,
  readDuration,
  splitCommand,
} from "./commands";
export { confirmKey, manualCommandId } from "./confirm";
export { LedgerError, ReceiverError, StatusTimeoutError } from "./errors";
export { handleApigEvent } from "./handler";
export {
  claimUpdate,
  createObsLedger,
  type Ledger,
  MemoryLedger,
  type ObsLedgerOptions,
  RecentIds,
} from "./ledger";
export { buildReceiverServices, diagnoseOne, invocationFrom } from "./services";
export {
  type BoxStatus,
  historyLines,
  probeLine,
  renderHelp,
  renderHistory,
  renderStatus,
  renderStatusMessages,
  sparkline,
  statusLines,
} from "./summary";
export type { Invocation, ReceiverServices, ReceiverSettings } from "./turn";
export { type ChatRef, type Incoming, readUpdate } from "./update";
export {
  checkRequest,
  type GateResult,
  MAX_BODY_BYTES,
  SECRET_HEADER,
  secretMatches,
  type WebhookRequest,
  type WebhookResponse,
} from "./webhook";
