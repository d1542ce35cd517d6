import type { Config } from "../config";
import { alertChatMoved, type RenderedMessage } from "../notify/render";
import { movedAlertChat } from "../state/schema";
import { checkAccess, isAlertChat } from "./access";
import { splitCommand } from "./commands";
import { onButton, onCommand } from "./dispatch";
import { claimUpdate, RecentIds } from "./ledger";
import type { Invocation, ReceiverServices, ReceiverSettings, Turn } from "./turn";
import { type Incoming, readUpdate } from "./update";
import { checkRequest, OK, type WebhookRequest, type WebhookResponse } from "./webhook";

export interface ReceiverOptions {
  config: Config;
  clock?: () => number;
  settings?: Partial<ReceiverSettings>;
}

/** Built once per cold start; `handle` is called per webhook request. */
export interface Receiver {
  handle(request: WebhookRequest, invocation: Invocation): Promise<WebhookResponse>;
}

export const DEFAULT_SETTINGS: ReceiverSettings = {
  statusTimeoutMs: 8_000,
  confirmTtlMs: 10 * 60_000,
  claimSettleMs: 1_500,
  maxBodyBytes: 256 * 1024,
};

const UNAVAILABLE: WebhookResponse = {
  status: 500,
  body: { ok: false, error: "receiver unavailable" },
};

/**
 * The Telegram receiver: gate (secret, size, JSON) → allow list → first delivery → command or
 * button. Every authenticated update is answered 200 once it was handled, whatever happened,
 * so Telegram does not retry it; only a receiver that cannot start answers 500 (retried later).
 */
export function createReceiver(options: ReceiverOptions): Receiver {
  const { config } = options;
  const clock = options.clock ?? Date.now;
  const settings: ReceiverSettings = { ...DEFAULT_SETTINGS, ...options.settings };
  const recent = new RecentIds();
  const locks = new Map<string, Promise<unknown>>();
  let botUsername: string | undefined;

  const serialize = <T>(key: string, task: () => Promise<T>): Promise<T> => {
    const before = locks.get(key) ?? Promise.resolve();
    const run = before.then(task, task);
    const settled = run.catch(() => undefined);
    locks.set(key, settled);
    void settled.then(() => {
      if (locks.get(key) === settled) locks.delete(key);
    });
    return run;
  };

  async function handle(request: WebhookRequest, invocation: Invocation): Promise<WebhookResponse> {
    const { log } = invocation;
    const gate = checkRequest(request, {
      secret: config.alerts.webhookSecret,
      maxBodyBytes: settings.maxBodyBytes,
    });
    if (gate.kind === "reject") {
      const level = gate.response.status === 401 && !config.alerts.webhookSecret ? "error" : "warn";
      log[level]("webhook request rejected", { status: gate.response.status, reason: gate.reason });
      return gate.response;
    }
    const incoming = readUpdate(gate.json);
    if (!incoming) {
      log.warn("body is not a Telegram update; ignored");
      return OK;
    }
    let services: ReceiverServices;
    try {
      services = await invocation.services();
    } catch (error) {
      log.error("receiver cannot start; Telegram will retry the update", { error });
      return UNAVAILABLE;
    }
    try {
      await handleUpdate(incoming, services, invocation);
    } catch (error) {
      log.error("update handling failed", { updateId: incoming.updateId, error });
    }
    return OK;
  }

  async function handleUpdate(
    incoming: Incoming,
    services: ReceiverServices,
    invocation: Invocation,
  ): Promise<void> {
    const log = invocation.log.child({ updateId: incoming.updateId });
    if (incoming.kind === "migrated") {
      await followMigration(incoming, services, log);
      return;
    }
    const answerQuietly = async (text: string) => {
      if (incoming.queryId === undefined) return;
      await services.chat.answerCallback(incoming.queryId, { text }).catch((error: unknown) => {
        log.warn("answerCallbackQuery failed", { error: (error as Error).message });
      });
    };
    const access = checkAccess(
      config.alerts,
      incoming.chat,
      incoming.from?.userId,
      await supergroupOf(incoming, services, log),
    );
    if (!access.allowed) {
      log.warn("update ignored: outside the allow list", {
        why: access.why,
        chatId: incoming.chat?.id,
        userId: incoming.from?.userId,
      });
      await answerQuietly("Not allowed.");
      return;
    }
    if (incoming.kind === "ignored") {
      log.debug("update ignored", { why: incoming.why });
      await answerQuietly("Nothing to do.");
      return;
    }
    const command = incoming.kind === "command" ? splitCommand(incoming.text) : undefined;
    if (command?.mention !== undefined && !(await isOurBot(command.mention, services, log))) {
      log.info("command for another bot ignored", { command: command.name });
      return;
    }
    if (!(await firstDelivery(incoming.updateId, services, log))) {
      log.info("update already handled (Telegram retry); ignored");
      return;
    }
    const turn = makeTurn(incoming, services, invocation, log);
    if (incoming.kind === "command") {
      if (command) await onCommand(turn, command);
      return;
    }
    try {
      await onButton(turn, incoming.queryId, incoming.data);
    } finally {
      // A press is always answered, even when handling it broke half-way.
      if (!turn.answered())
        await turn.answer(incoming.queryId, "Something went wrong: see the log.");
    }
  }

  /**
   * Telegram's service message in the alert group: it became the supergroup `to`. The update
   * came with the webhook secret, so it is Telegram's word: store the id the watchdog and the
   * access check use, say so in the new chat and in every box's audit log. Once per migration.
   */
  async function followMigration(
    incoming: Extract<Incoming, { kind: "migrated" }>,
    services: ReceiverServices,
    log: Invocation["log"],
  ): Promise<void> {
    if (!isAlertChat(config.alerts.chatId, incoming.chat)) {
      log.info("a chat other than the alert chat became a supergroup; ignored");
      return;
    }
    const { store } = services;
    const known = await store.loadAlertChannel();
    if (movedAlertChat(known, config.alerts.chatId) === incoming.to) return;
    const from = incoming.chat.id;
    const { detail, message } = alertChatMoved(from, incoming.to);
    const at = clock();
    await store.saveAlertChannel({
      version: 1,
      chatId: incoming.to,
      migratedFrom: from,
      migratedAt: at,
    });
    await Promise.all(
      config.boxes.map((box) =>
        store.appendEvents(box.name, [{ at, box: box.name, type: "alert-chat-migrated", detail }]),
      ),
    );
    log.warn("the alert chat became a supergroup; its new id is stored", { from, to: incoming.to });
    await services.chat
      .post(message, {
        chatId: incoming.to,
      })
      .catch((error: unknown) =>
        log.warn("migration notice not sent", { error: (error as Error).message }),
      );
  }

  /**
   * The supergroup Telegram moved the alert group to, read only for an update from a chat other
   * than alerts.chatId (the usual case costs no OBS read).
   */
  async function supergroupOf(
    incoming: Incoming,
    services: ReceiverServices,
    log: Invocation["log"],
  ): Promise<number | undefined> {
    const chat = incoming.chat;
    if (!chat || isAlertChat(config.alerts.chatId, chat)) return undefined;
    try {
      return movedAlertChat(await services.store.loadAlertChannel(), config.alerts.chatId);
    } catch (error) {
      log.warn("alert channel record not read", { error: (error as Error).message });
      return undefined;
    }
  }

  async function isOurBot(
    mention: string,
    services: ReceiverServices,
    log: Invocation["log"],
  ): Promise<boolean> {
    try {
      botUsername ??= await services.chat.botUsername();
    } catch (error) {
      // Unknown identity: a command that names a bot may be another bot's; fail closed.
      log.warn("alert bot identity unknown; command with @mention ignored", {
        error: (error as Error).message,
      });
      return false;
    }
    return mention.toLowerCase() === botUsername.toLowerCase();
  }

  /** Claims the update id; when the ledger is down it fails open (command ids stay idempotent). */
  async function firstDelivery(
    updateId: number,
    services: ReceiverServices,
    log: Invocation["log"],
  ): Promise<boolean> {
    if (recent.has(updateId)) return false;
    recent.add(updateId);
    try {
      return await claimUpdate(services.ledger, updateId, clock());
    } catch (error) {
      log.warn("update id not recorded; handling it anyway", { error: (error as Error).message });
      return true;
    }
  }

  function makeTurn(
    incoming: Extract<Incoming, { kind: "command" | "button" }>,
    services: ReceiverServices,
    invocation: Invocation,
    log: Invocation["log"],
  ): Turn {
    const chatId = incoming.chat.id;
    let answered = false;
    const { redact } = invocation;
    const clean = (message: RenderedMessage): RenderedMessage => ({
      ...message,
      // The redactor writes "<redacted>": escape it, or Telegram rejects the HTML.
      html: redact(message.html).replace(/<(redacted[a-z-]*)>/g, "&lt;$1&gt;"),
      text: redact(message.text),
    });
    return {
      config,
      settings,
      services,
      log,
      now: clock(),
      requestId: invocation.requestId,
      updateId: incoming.updateId,
      by: incoming.from,
      chatId,
      replyTo: incoming.messageId,
      remainingMs: invocation.remainingMs,
      serialize,
      async say(message) {
        try {
          return await services.chat.post(clean(message), {
            chatId,
            replyToMessageId: incoming.messageId,
          });
        } catch (error) {
          log.warn("reply not sent", { error: (error as Error).message });
          return undefined;
        }
      },
      async edit(messageId, message) {
        try {
          await services.chat.editMessage(messageId, clean(message), { chatId });
        } catch (error) {
          log.warn("message not edited", { error: (error as Error).message });
        }
      },
      answered: () => answered,
      async answer(queryId, text) {
        answered = true;
        try {
          await services.chat.answerCallback(
            queryId,
            text === undefined ? {} : { text: redact(text) },
          );
        } catch (error) {
          log.warn("answerCallbackQuery failed", { error: (error as Error).message });
        }
      },
    };
  }

  return { handle };
}
