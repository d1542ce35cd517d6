import type { AlertsConfig } from "../config";
import type { ChatRef } from "./update";

export type Access = { allowed: true } | { allowed: false; why: string };

/**
 * Only the alert chat, and only listed users in it: a member of the chat who is not listed, or a
 * listed user writing from elsewhere, may not act. An empty list lets nobody act. `movedTo` is
 * the supergroup Telegram migrated the alert group to (the watchdog stores it): the same chat.
 */
export function checkAccess(
  alerts: Pick<AlertsConfig, "chatId" | "allowedUserIds">,
  chat: ChatRef | undefined,
  userId: number | undefined,
  movedTo?: number,
): Access {
  const alertChat = chat && (isAlertChat(alerts.chatId, chat) || chat.id === movedTo);
  if (!chat || !alertChat) {
    return { allowed: false, why: "not the alert chat (alerts.chatId)" };
  }
  if (userId === undefined || !alerts.allowedUserIds.includes(userId)) {
    return { allowed: false, why: "user not in alerts.allowedUserIds" };
  }
  return { allowed: true };
}

export function isAlertChat(configured: AlertsConfig["chatId"], chat: ChatRef): boolean {
  if (typeof configured === "number") return chat.id === configured;
  if (configured.startsWith("@")) {
    return (
      chat.username !== undefined && `@${chat.username}`.toLowerCase() === configured.toLowerCase()
    );
  }
  return String(chat.id) === configured;
}
