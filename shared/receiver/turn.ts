import type { Compute } from "../cloud/compute";
import type { BoxConfig, Config } from "../config";
import type { RenderedMessage } from "../notify/render";
import type { Operator } from "../policy/types";
import type { Logger } from "../runtime/logger";
import type { Redactor } from "../runtime/redact";
import type { StateStore } from "../state/port";
import type { CycleReport } from "../watchdog/cycle";
import type { ChatPort } from "./chat";
import type { Ledger } from "./ledger";

/** The adapters one invocation works with; built only once a request is authenticated. */
export interface ReceiverServices {
  /** Commands for the watchdog, the audit log, and read-only state for /status. */
  store: StateStore;
  ledger: Ledger;
  chat: ChatPort;
  /** Lazy: the ECS SDK is loaded only for a confirmed reboot or rebootstrap. */
  compute: () => Promise<Compute>;
  /** The watchdog's dry-run check of one box (runFleet in "dry-run" mode). */
  diagnose: (box: BoxConfig) => Promise<CycleReport>;
}

/** One webhook call: who is asking, how much time is left, and where to get the adapters. */
export interface Invocation {
  requestId: string;
  log: Logger;
  /**
   * Built once per invocation from the config's secrets and the agency's temporary keys: every
   * reply, edit and handler result passes it.
   */
  redact: Redactor;
  /** Milliseconds before the function is stopped. */
  remainingMs: () => number;
  services: () => Promise<ReceiverServices>;
}

export interface ReceiverSettings {
  /** /status stops waiting for the probes after this (and never past the function's time). */
  statusTimeoutMs: number;
  /** How long a reboot or rebootstrap prompt can be confirmed. */
  confirmTtlMs: number;
  /**
   * Between writing a confirmation's claim and reading it back: a second instance's claim written
   * within it is seen, and only one of them acts (see confirm.ts).
   */
  claimSettleMs: number;
  maxBodyBytes: number;
}

/** One authenticated, first-delivered update from an allowed operator, being handled. */
export interface Turn {
  config: Config;
  settings: ReceiverSettings;
  services: ReceiverServices;
  log: Logger;
  now: number;
  requestId: string;
  updateId: number;
  by: Operator;
  chatId: number;
  /** Replies thread under this message: the command, or the message that holds the button. */
  replyTo: number;
  remainingMs: () => number;
  /** Posts in the chat (secrets redacted); a Telegram failure is logged, never thrown. */
  say(message: RenderedMessage): Promise<number | undefined>;
  /** Edits a message of the bot; failures are logged, never thrown. */
  edit(messageId: number, message: RenderedMessage): Promise<void>;
  /** answerCallbackQuery; failures are logged, never thrown. */
  answer(queryId: string, text?: string): Promise<void>;
  /** Whether answer() was called in this turn (Telegram shows a spinner until it is). */
  answered(): boolean;
  /** Runs `task` after any earlier task with the same key in this instance has finished. */
  serialize<T>(key: string, task: () => Promise<T>): Promise<T>;
}
