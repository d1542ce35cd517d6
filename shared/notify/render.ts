import type { Button, Notification, NotificationType, Severity } from "../policy/state";
import { incidentRef } from "../policy/text";
import { clip, prefixWithin } from "../text/clip";
import { type CallbackPayload, encodeCallback } from "./callback-data";

/**
 * Pure rendering of notifications for Telegram's HTML parse mode. Every message comes in two
 * forms: HTML, and the same words as plain text for when Telegram rejects the HTML, so a
 * formatting bug never costs an alert.
 */

/** Telegram's limit, in UTF-16 units of the parsed text; we hold the HTML source to it (longer). */
export const MAX_MESSAGE_LENGTH = 4096;
/** What the Ack and Mute buttons carry; the receiver turns them into the command's `until`. */
export const ACK_BUTTON_DURATION = "1h";
export const MUTE_BUTTON_DURATION = "4h";

/** Structurally grammY's InlineKeyboardMarkup, limited to callback buttons. */
export interface InlineKeyboard {
  inline_keyboard: { text: string; callback_data: string }[][];
}

export interface RenderedMessage {
  /** Telegram HTML (parse_mode "HTML"), at most MAX_MESSAGE_LENGTH characters. */
  html: string;
  /** The same message without markup, for a resend without parse_mode. */
  text: string;
  keyboard?: InlineKeyboard;
}

const TITLE_MAX = 1024;
const ELLIPSIS = "…";

const TYPE_MARKERS: Partial<Record<NotificationType, string>> = {
  resolved: "✅",
  reminder: "⏰",
  flapping: "🔁",
  "needs-human": "🆘",
  "budget-exhausted": "🆘",
  "watchdog-network": "📡",
  "state-reset": "♻️",
};
const SEVERITY_MARKERS: Record<Severity, string> = {
  critical: "🔴",
  warning: "🟠",
  info: "🔵",
};

export function markerOf(notification: Pick<Notification, "type" | "severity">): string {
  return TYPE_MARKERS[notification.type] ?? SEVERITY_MARKERS[notification.severity];
}

export function renderNotification(box: string, notification: Notification): RenderedMessage {
  const marker = markerOf(notification);
  // "resolved" is told plainly: no severity, it is good news whatever the incident was.
  const where =
    notification.type === "resolved"
      ? `${box} · ${notification.component} · back to normal`
      : `${box} · ${notification.component} · ${notification.severity}`;
  const rendered = compose(`${marker} `, notification.title, where, notification.lines);
  const keyboard = notificationKeyboard(box, notification);
  return keyboard === undefined ? rendered : { ...rendered, keyboard };
}

/**
 * An incident's first message once it is over (from the "resolved" notice's `edit`): marked
 * resolved with its duration, and without buttons, so nothing stale can be pressed there.
 */
export function renderResolvedHead(box: string, notification: Notification): RenderedMessage {
  const head = notification.edit ?? { title: notification.title, lines: notification.lines };
  return compose(
    `${TYPE_MARKERS.resolved} `,
    head.title,
    `${box} · ${notification.component} · resolved`,
    head.lines,
  );
}

/** What the chat and the audit log are told when Telegram moved the alert group to a supergroup. */
export function alertChatMoved(
  from: number | string,
  to: number,
): { detail: string; message: RenderedMessage } {
  const detail = `Telegram moved the alert chat from ${from} to ${to} (the group became a supergroup); alerts and commands use ${to} now. Set alerts.chatId to ${to} in the config.`;
  return {
    detail,
    message: renderReply({ title: "ℹ️ This chat is now the alert chat", lines: [detail] }),
  };
}

/** Whether renderReply would show `lines` whole, without clipping them to Telegram's limit. */
export function fitsOneMessage(title: string, lines: readonly string[]): boolean {
  const head = `<b>${clipEscaped(escapeHtml(title), TITLE_MAX)}</b>`.length;
  return head + 2 + lines.map(escapeHtml).join("\n").length <= MAX_MESSAGE_LENGTH;
}

/** A free-form message (the receiver's /status, /help, confirmations) in the same shape. */
export function renderReply(input: {
  title: string;
  lines: readonly string[];
  keyboard?: InlineKeyboard;
}): RenderedMessage {
  const rendered = compose("", input.title, undefined, input.lines);
  return input.keyboard === undefined ? rendered : { ...rendered, keyboard: input.keyboard };
}

/** The policy's buttons as an inline keyboard, two per row; undefined when there are none. */
export function notificationKeyboard(
  box: string,
  notification: Pick<Notification, "buttons" | "component" | "incidentId">,
): InlineKeyboard | undefined {
  const buttons = [...new Set(notification.buttons ?? [])];
  if (buttons.length === 0) return undefined;
  const cells = buttons.map((button) => ({
    text: BUTTON_LABELS[button],
    callback_data: encodeCallback(buttonPayload(button, box, notification)),
  }));
  const rows: InlineKeyboard["inline_keyboard"] = [];
  for (let i = 0; i < cells.length; i += 2) rows.push(cells.slice(i, i + 2));
  return { inline_keyboard: rows };
}

/** The second step of a reboot or rebootstrap: the receiver never acts on the first press. */
export function confirmKeyboard(
  box: string,
  action: "reboot" | "rebootstrap",
  arg?: string,
): InlineKeyboard {
  const confirm: CallbackPayload = {
    action: action === "reboot" ? "reboot-confirm" : "rebootstrap-confirm",
    box,
  };
  if (arg !== undefined) confirm.arg = arg;
  return {
    inline_keyboard: [
      [
        { text: `⚠️ Yes, ${action} ${box}`, callback_data: encodeCallback(confirm) },
        { text: "Cancel", callback_data: encodeCallback({ action: "cancel", box }) },
      ],
    ],
  };
}

const BUTTON_LABELS: Record<Button, string> = {
  ack: "✅ Ack 1 h",
  mute: "🔕 Mute 4 h",
  reboot: "🔄 Reboot…",
  status: "📋 Status",
};

function buttonPayload(
  button: Button,
  box: string,
  notification: Pick<Notification, "component" | "incidentId">,
): CallbackPayload {
  const { component, incidentId } = notification;
  switch (button) {
    case "ack":
      // The incident's reference: pressed once that incident is over, it acks no newer one.
      return incidentId === undefined
        ? { action: "ack", box, arg: ACK_BUTTON_DURATION, component }
        : {
            action: "ack",
            box,
            arg: ACK_BUTTON_DURATION,
            component,
            incident: incidentRef(incidentId),
          };
    case "mute":
      return { action: "mute", box, arg: MUTE_BUTTON_DURATION };
    case "reboot":
      return { action: "reboot", box };
    case "status":
      return { action: "status", box };
  }
}

/** Telegram HTML needs only these three escaped outside attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Title in bold, an optional italic sub-line, a blank line, the facts. Only the title and the
 * sub-line are wrapped in tags and both are clipped inside their tags, so cutting the body to the
 * remaining budget can never break markup.
 */
function compose(
  prefix: string,
  title: string,
  subline: string | undefined,
  lines: readonly string[],
): RenderedMessage {
  const htmlHead =
    `${prefix}<b>${clipEscaped(escapeHtml(title), TITLE_MAX)}</b>` +
    (subline === undefined ? "" : `\n<i>${clipEscaped(escapeHtml(subline), TITLE_MAX)}</i>`);
  const textHead =
    `${prefix}${clipPlain(title, TITLE_MAX)}` +
    (subline === undefined ? "" : `\n${clipPlain(subline, TITLE_MAX)}`);
  if (lines.length === 0) return { html: htmlHead, text: textHead };
  const htmlBody = clipEscaped(
    lines.map(escapeHtml).join("\n"),
    MAX_MESSAGE_LENGTH - htmlHead.length - 2,
  );
  const textBody = clipPlain(lines.join("\n"), MAX_MESSAGE_LENGTH - textHead.length - 2);
  return { html: `${htmlHead}\n\n${htmlBody}`, text: `${textHead}\n\n${textBody}` };
}

/** Clips escaped text to `max` units with "…", never inside an entity or a grapheme. */
export function clipEscaped(escaped: string, max: number): string {
  if (escaped.length <= max) return escaped;
  if (max < ELLIPSIS.length) return "";
  let head = prefixWithin(escaped, max - ELLIPSIS.length);
  // In escaped text every "&" starts an entity; back off to it when the entity would be split.
  const amp = head.lastIndexOf("&");
  if (amp >= 0 && !head.includes(";", amp)) head = head.slice(0, amp);
  return `${head}${ELLIPSIS}`;
}

function clipPlain(text: string, max: number): string {
  return max < ELLIPSIS.length && text.length > max ? "" : clip(text, max, ELLIPSIS);
}
