import { HtmlParseError, type MessageEntity, parseTelegramHtml } from "./telegram-html";
import { badRequest, isRecord, jsonParam, optionalString, type Params } from "./telegram-params";

export const MAX_TEXT_LENGTH = 4096;
const MAX_CALLBACK_DATA_BYTES = 64;

export interface MessageText {
  /** As the client sent it (markup included). */
  raw: string;
  /** After entity parsing and trimming: what Telegram stores and returns. */
  text: string;
  entities: MessageEntity[];
  parseMode: string | null;
}

export interface ButtonRecord {
  text: string;
  callbackData?: string;
  url?: string;
}

export interface InlineKeyboard {
  /** The markup as Telegram echoes it back in Message.reply_markup. */
  markup: { inline_keyboard: Record<string, unknown>[][] };
  buttons: ButtonRecord[][];
}

/** Reads `text` + `parse_mode` the way sendMessage/editMessageText do. */
export function readMessageText(params: Params): MessageText {
  const raw = optionalString(params, "text") ?? "";
  const mode = optionalString(params, "parse_mode") ?? "";
  const parseMode = mode === "" ? null : normaliseParseMode(mode);
  const parsed = parseMode === "HTML" ? parseHtml(raw) : { text: raw, entities: [] };
  const text = parsed.text.trim();
  if (text === "") throw badRequest("message text is empty");
  if (text.length > MAX_TEXT_LENGTH) throw badRequest("message is too long");
  const shift = parsed.text.length - parsed.text.trimStart().length;
  const entities = parsed.entities
    .map((entity) => clampEntity(entity, shift, text.length))
    .filter((entity): entity is MessageEntity => entity !== undefined);
  return { raw, text, entities, parseMode };
}

function normaliseParseMode(mode: string): string {
  const known = ["HTML", "MarkdownV2", "Markdown"].find(
    (name) => name.toLowerCase() === mode.toLowerCase(),
  );
  if (known === undefined) throw badRequest("unsupported parse_mode");
  return known;
}

function parseHtml(raw: string): { text: string; entities: MessageEntity[] } {
  try {
    return parseTelegramHtml(raw);
  } catch (error) {
    if (error instanceof HtmlParseError) throw badRequest(`can't parse entities: ${error.reason}`);
    throw error;
  }
}

function clampEntity(entity: MessageEntity, shift: number, max: number): MessageEntity | undefined {
  const offset = Math.max(0, entity.offset - shift);
  const end = Math.min(max, entity.offset - shift + entity.length);
  return end > offset ? { ...entity, offset, length: end - offset } : undefined;
}

/**
 * Validates reply_markup. Only inline keyboards are kept (they are what alerts use);
 * reply keyboards and force_reply are accepted and not echoed.
 */
export function readReplyMarkup(
  params: Params,
  { inlineOnly }: { inlineOnly: boolean },
): InlineKeyboard | undefined {
  const markup = jsonParam(params, "reply_markup");
  if (markup === undefined || markup === null || markup === "") return undefined;
  if (!isRecord(markup)) throw badRequest("can't parse reply keyboard markup JSON object");
  if (markup.inline_keyboard === undefined) {
    if (inlineOnly) throw badRequest("inline keyboard expected");
    return undefined;
  }
  const rows = markup.inline_keyboard;
  if (!Array.isArray(rows) || !rows.every(Array.isArray)) {
    throw badRequest(
      'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays',
    );
  }
  const checked = (rows as unknown[][]).map((row) => row.map(readButton));
  return {
    markup: { inline_keyboard: checked.map((row) => row.map((button) => button.echo)) },
    buttons: checked.map((row) => row.map((button) => button.record)),
  };
}

function readButton(button: unknown): { echo: Record<string, unknown>; record: ButtonRecord } {
  if (!isRecord(button)) throw badRequest("can't parse inline keyboard button: expected an Object");
  if (typeof button.text !== "string") {
    throw badRequest('can\'t parse inline keyboard button: Field "text" must be of type String');
  }
  if (button.text.trim() === "") throw badRequest("BUTTON_TEXT_EMPTY");
  if (typeof button.callback_data === "string") {
    const bytes = Buffer.byteLength(button.callback_data);
    if (bytes === 0 || bytes > MAX_CALLBACK_DATA_BYTES) throw badRequest("BUTTON_DATA_INVALID");
    return {
      echo: { text: button.text, callback_data: button.callback_data },
      record: { text: button.text, callbackData: button.callback_data },
    };
  }
  if (typeof button.url === "string") {
    if (!/^(https?|tg):\/\/\S+$/i.test(button.url)) throw badRequest("BUTTON_URL_INVALID");
    return {
      echo: { text: button.text, url: button.url },
      record: { text: button.text, url: button.url },
    };
  }
  const kinds = [
    "login_url",
    "switch_inline_query",
    "web_app",
    "copy_text",
    "pay",
    "callback_game",
  ];
  const kind = kinds.find((name) => button[name] !== undefined);
  if (kind === undefined) {
    throw badRequest(
      "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
    );
  }
  return { echo: { text: button.text, [kind]: button[kind] }, record: { text: button.text } };
}

export interface ReplyTarget {
  messageId: number;
  allowWithoutReply: boolean;
}

/** reply_parameters (current API) or the older reply_to_message_id. */
export function readReplyTarget(params: Params): ReplyTarget | undefined {
  const reply = jsonParam(params, "reply_parameters");
  if (isRecord(reply)) {
    const messageId = Number(reply.message_id);
    if (!Number.isInteger(messageId)) throw badRequest("message to be replied not found");
    return {
      messageId,
      allowWithoutReply: reply.allow_sending_without_reply === true,
    };
  }
  if (reply !== undefined && reply !== null && reply !== "") {
    throw badRequest("can't parse reply parameters JSON object");
  }
  const legacy = params.reply_to_message_id;
  if (legacy === undefined || legacy === null || legacy === "") return undefined;
  const messageId = Number(legacy);
  if (!Number.isInteger(messageId)) throw badRequest("message to be replied not found");
  const allow = params.allow_sending_without_reply;
  return { messageId, allowWithoutReply: allow === true || allow === "true" };
}
