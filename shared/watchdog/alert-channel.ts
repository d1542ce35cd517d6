import type { Config } from "../config";
import { isAlertChannelLost, type Notifier, TelegramSendError } from "../notify/port";
import { alertChatMoved } from "../notify/render";
import { createTelegramNotifier, type TelegramNotifier } from "../notify/telegram";
import { createWebhookNotifier, withFallback } from "../notify/webhook";
import type { Logger } from "../runtime/logger";
import type { Redactor } from "../runtime/redact";
import type { StateStore } from "../state/port";
import { type AlertChannel, movedAlertChat, type StoredEvent } from "../state/schema";
import { clip } from "../text/clip";

export interface AlertChannelDeps {
  config: Config;
  store: StateStore;
  log: Logger;
  clock: () => number;
  /** The invocation's redactor: every message sent and every record stored passes it. */
  redact: Redactor;
}

export interface AlertChannelNotifier {
  notifier: Notifier;
  /** What is known about the alert chat now (migration, a permanent failure), for diagnose. */
  channel(): Promise<AlertChannel | undefined>;
}

/**
 * The watchdog's notifier, keeping `_alert-channel.json` up to date: a chat Telegram moved
 * (group → supergroup) is followed, stored, announced in the new chat and written to every
 * box's audit log; a permanent failure of the alert chat is recorded (and mirrored to the
 * secondary webhook by withFallback) until a message gets through again.
 */
export function createAlertChannelNotifier(deps: AlertChannelDeps): AlertChannelNotifier {
  const { config, store, log, clock, redact } = deps;
  let record: AlertChannel | undefined;
  // Read only when a message goes out or diagnose asks: a healthy cycle sends nothing, and its
  // OBS budget is the state GET, the commands LIST and the state PUT.
  let loaded: Promise<TelegramNotifier> | undefined;
  const ready = () => {
    loaded ??= store
      .loadAlertChannel()
      .catch((error: unknown) => {
        log.warn("alert channel record not read; using alerts.chatId", {
          error: messageOf(error),
        });
        return undefined;
      })
      .then((stored) => {
        record = stored;
        return connect();
      });
    return loaded;
  };
  const save = async (next: AlertChannel, events: StoredEvent["type"], detail: string) => {
    record = next;
    try {
      await store.saveAlertChannel(next);
      const at = clock();
      await Promise.all(
        config.boxes.map((box) =>
          store.appendEvents(box.name, [{ at, box: box.name, type: events, detail }]),
        ),
      );
    } catch (error) {
      log.error("alert channel record not saved", { error: messageOf(error) });
    }
  };

  const connect = (): TelegramNotifier => {
    const telegram: TelegramNotifier = createTelegramNotifier({
      alerts: config.alerts,
      log,
      redact,
      ...movedTo(record, config.alerts.chatId),
      onChatMigrated: async (from, to) => {
        // The receiver may have stored it already, from Telegram's service message.
        const latest = await store.loadAlertChannel().catch(() => record);
        if (latest?.chatId === to) {
          record = latest;
          return;
        }
        const { detail, message } = alertChatMoved(from, to);
        const { failure: _, ...kept } = record ?? { version: 1 as const };
        await save(
          { ...kept, chatId: to, migratedFrom: from, migratedAt: clock() },
          "alert-chat-migrated",
          detail,
        );
        await telegram
          .post(message, {
            chatId: to,
          })
          .catch((error: unknown) =>
            log.warn("migration notice not sent", { error: messageOf(error) }),
          );
      },
    });
    return telegram;
  };

  const tracked: Notifier = {
    async send(message) {
      try {
        const sent = await (await ready()).send(message);
        if (record?.failure) {
          const { failure, ...rest } = record;
          await save(
            rest,
            "alert-channel-restored",
            `the alert chat works again (it failed since ${new Date(failure.at).toISOString()})`,
          );
        }
        return sent;
      } catch (error) {
        if (isAlertChannelLost(error) && record?.failure?.status !== error.status) {
          const status = error.status ?? 0;
          await save(
            {
              ...(record ?? { version: 1 }),
              failure: { at: clock(), status, error: clip(error.message, 500) },
            },
            "alert-channel-failed",
            clip(error.message, 500),
          );
        }
        throw error;
      }
    },
  };
  const secondary = config.alerts.secondaryWebhookUrl;
  return {
    notifier: secondary
      ? withFallback(
          tracked,
          createWebhookNotifier({ url: secondary, timeoutMs: 5_000, redact }),
          log,
        )
      : tracked,
    channel: async () => {
      await ready();
      return record;
    },
  };
}

function movedTo(record: AlertChannel | undefined, configured?: number | string) {
  const chatId = configured === undefined ? undefined : movedAlertChat(record, configured);
  return chatId === undefined ? {} : { migratedChatId: chatId };
}

function messageOf(error: unknown): string {
  if (error instanceof TelegramSendError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
