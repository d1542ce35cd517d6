import type { ServerResponse } from "node:http";
import type { BotCommand, LocalBot, TgMessage } from "./telegram-bot";
import {
  type ButtonRecord,
  type InlineKeyboard,
  type MessageText,
  readMessageText,
  readReplyMarkup,
  readReplyTarget,
} from "./telegram-content";
import {
  badRequest,
  chatIdParam,
  isRecord,
  jsonParam,
  optionalBool,
  optionalInt,
  optionalString,
  type Params,
  requiredInt,
  stringList,
} from "./telegram-params";

/** What the fake remembers of each message a bot sent or edited. */
export interface SentMessageRecord {
  bot: string;
  chatId: number;
  messageId: number;
  /** As sent, markup included. */
  text: string;
  /** After entity parsing: what users see. */
  plainText: string;
  parseMode: string | null;
  replyTo: number | null;
  buttons: ButtonRecord[][];
  disableNotification: boolean;
  edited: boolean;
  time: string;
}

export interface MethodContext {
  bot: LocalBot;
  params: Params;
  res: ServerResponse;
  recordMessage(record: SentMessageRecord): void;
}

export interface MethodResult {
  result: unknown;
  description?: string;
}

/** Resolves to undefined when there is nothing to answer (the client went away). */
type Method = (ctx: MethodContext) => MethodResult | Promise<MethodResult | undefined>;

const CHAT_ACTIONS = new Set([
  "typing",
  "upload_photo",
  "record_video",
  "upload_video",
  "record_voice",
  "upload_voice",
  "upload_document",
  "choose_sticker",
  "find_location",
  "record_video_note",
  "upload_video_note",
]);

const COMMAND_SCOPES = new Set([
  "default",
  "all_private_chats",
  "all_group_chats",
  "all_chat_administrators",
  "chat",
  "chat_administrators",
  "chat_member",
]);

const METHODS: Readonly<Record<string, Method>> = {
  getMe: ({ bot }) => ({ result: bot.getMe() }),
  getWebhookInfo: ({ bot }) => ({ result: bot.updates.webhookInfo() }),
  setWebhook,
  deleteWebhook: ({ bot, params }) => ({
    result: true,
    description: bot.updates.deleteWebhook(optionalBool(params, "drop_pending_updates")),
  }),
  getUpdates,
  sendMessage,
  editMessageText,
  editMessageReplyMarkup,
  answerCallbackQuery: ({ bot, params }) => {
    bot.answerCallback(optionalString(params, "callback_query_id") ?? "");
    return { result: true };
  },
  setMyCommands,
  getMyCommands: ({ bot, params }) => ({ result: bot.getCommands(commandScopeKey(params)) }),
  deleteMyCommands: ({ bot, params }) => {
    bot.setCommands(commandScopeKey(params), []);
    return { result: true };
  },
  // Client.cpp: getChat and getChatMember answer "Bad Request: chat not found" for a chat the
  // bot does not know (tdlib/telegram-bot-api, Client::check_chat → CHAT_NOT_FOUND).
  getChat: ({ bot, params }) => ({ result: bot.getChat(chatIdParam(params)) }),
  getChatMember: ({ bot, params }) => ({
    result: bot.getChatMember(
      chatIdParam(params),
      requiredInt(params, "user_id", "user_id is empty"),
    ),
  }),
  sendChatAction: ({ bot, params }) => {
    // Needs write access, like sendMessage (Client.cpp: check_chat_access with Write rights).
    bot.assertCanWrite(chatIdParam(params));
    if (!CHAT_ACTIONS.has(optionalString(params, "action") ?? "")) {
      throw badRequest("wrong parameter action in request");
    }
    return { result: true };
  },
};

/** Bot API method names are case-insensitive; returns the canonical name and handler. */
export function findMethod(name: string): [string, Method] | undefined {
  const lower = name.toLowerCase();
  return Object.entries(METHODS).find(([known]) => known.toLowerCase() === lower);
}

async function getUpdates({ bot, params, res }: MethodContext): Promise<MethodResult | undefined> {
  const limit = Math.min(100, Math.max(1, optionalInt(params, "limit") ?? 100));
  const timeoutSeconds = Math.max(0, optionalInt(params, "timeout") ?? 0);
  const updates = await bot.updates.getUpdates(
    {
      offset: optionalInt(params, "offset"),
      limit,
      timeoutSeconds,
      allowedUpdates: stringList(jsonParam(params, "allowed_updates"), "allowed_updates"),
    },
    res,
  );
  return updates === undefined ? undefined : { result: updates };
}

function setWebhook({ bot, params }: MethodContext): MethodResult {
  const url = optionalString(params, "url") ?? "";
  const drop = optionalBool(params, "drop_pending_updates");
  if (url === "") return { result: true, description: bot.updates.deleteWebhook(drop) };
  checkWebhookUrl(url);
  const secretToken = optionalString(params, "secret_token");
  if (secretToken !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secretToken)) {
    throw badRequest("secret token contains unallowed characters or is longer than 256 characters");
  }
  const maxConnections = optionalInt(params, "max_connections") ?? 40;
  if (maxConnections < 1 || maxConnections > 100) {
    throw badRequest("bad webhook: max_connections must be between 1 and 100");
  }
  const allowedUpdates = stringList(jsonParam(params, "allowed_updates"), "allowed_updates");
  const description = bot.updates.setWebhook(
    { url, secretToken, maxConnections, allowedUpdates },
    drop,
  );
  return { result: true, description };
}

/**
 * Telegram's webhook URL rules, checked when the webhook actor starts (setWebhook then fails with
 * "Bad Request: bad webhook: …"). Source: tdlib/telegram-bot-api telegram-bot-api/WebhookActor.cpp,
 * WebhookActor::start_up(): HTTP → "An HTTPS URL must be provided for webhook"; an HTTPS port
 * other than 443, 88, 80 or 8443 → "Webhook can be set up only on ports 80, 88, 443 or 8443";
 * Client.cpp prefixes both with "Bad Request: bad webhook: ". Both checks are skipped only by a
 * self-hosted server started with --local, which this fake is not.
 * Deliberate difference: real Telegram cannot reach loopback addresses; here every receiver is on
 * 127.0.0.0/8, so a loopback host is accepted (the local APIG serves HTTPS on 127.x.y.z:8443).
 */
export const WEBHOOK_PORTS = [80, 88, 443, 8443] as const;

function checkWebhookUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest("bad webhook: invalid webhook URL specified");
  }
  if (parsed.protocol !== "https:") {
    throw badRequest("bad webhook: An HTTPS URL must be provided for webhook");
  }
  const port = parsed.port === "" ? 443 : Number(parsed.port);
  if (!(WEBHOOK_PORTS as readonly number[]).includes(port)) {
    throw badRequest("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443");
  }
}

function sendMessage({ bot, params, recordMessage }: MethodContext): MethodResult {
  const chatId = chatIdParam(params);
  const content = readMessageText(params);
  const keyboard = readReplyMarkup(params, { inlineOnly: false });
  const message = bot.send(chatId, content, keyboard, readReplyTarget(params));
  recordMessage(
    toRecord(bot, message, content, keyboard, {
      edited: false,
      disableNotification: optionalBool(params, "disable_notification"),
    }),
  );
  return { result: message };
}

function editMessageText({ bot, params, recordMessage }: MethodContext): MethodResult {
  const [chatId, messageId] = editTarget(params);
  const content = readMessageText(params);
  const keyboard = readReplyMarkup(params, { inlineOnly: true });
  const message = bot.edit(chatId, messageId, content, keyboard);
  recordMessage(
    toRecord(bot, message, content, keyboard, { edited: true, disableNotification: false }),
  );
  return { result: message };
}

function editMessageReplyMarkup({ bot, params, recordMessage }: MethodContext): MethodResult {
  const [chatId, messageId] = editTarget(params);
  const keyboard = readReplyMarkup(params, { inlineOnly: true });
  const message = bot.edit(chatId, messageId, undefined, keyboard);
  const content: MessageText = {
    raw: message.text ?? "",
    text: message.text ?? "",
    entities: message.entities ?? [],
    parseMode: null,
  };
  recordMessage(
    toRecord(bot, message, content, keyboard, { edited: true, disableNotification: false }),
  );
  return { result: message };
}

function editTarget(params: Params): [number, number] {
  if (params.inline_message_id !== undefined) {
    throw badRequest("inline messages are not supported by the local Bot API; use chat_id");
  }
  const chatId = chatIdParam(params);
  return [chatId, requiredInt(params, "message_id", "message identifier is not specified")];
}

function setMyCommands({ bot, params }: MethodContext): MethodResult {
  const commands = jsonParam(params, "commands");
  if (!Array.isArray(commands)) throw badRequest("commands must be an Array of BotCommand");
  if (commands.length > 100) throw badRequest("too many commands specified");
  bot.setCommands(commandScopeKey(params), commands.map(readCommand));
  return { result: true };
}

function readCommand(value: unknown): BotCommand {
  if (!isRecord(value) || typeof value.command !== "string") {
    throw badRequest('can\'t parse BotCommand: field "command" must be of type String');
  }
  const command = value.command.replace(/^\//, "");
  if (!/^[a-z0-9_]{1,32}$/.test(command)) throw badRequest("BOT_COMMAND_INVALID");
  const description = typeof value.description === "string" ? value.description.trim() : "";
  if (description.length < 1 || description.length > 256) {
    throw badRequest("BOT_COMMAND_DESCRIPTION_INVALID");
  }
  return { command, description };
}

function commandScopeKey(params: Params): string {
  const scope = jsonParam(params, "scope") ?? { type: "default" };
  if (!isRecord(scope) || typeof scope.type !== "string" || !COMMAND_SCOPES.has(scope.type)) {
    throw badRequest("can't parse BotCommandScope: unsupported scope type");
  }
  const sorted = Object.fromEntries(Object.entries(scope).sort(([a], [b]) => a.localeCompare(b)));
  return `${JSON.stringify(sorted)}|${optionalString(params, "language_code") ?? ""}`;
}

function toRecord(
  bot: LocalBot,
  message: TgMessage,
  content: MessageText,
  keyboard: InlineKeyboard | undefined,
  flags: { edited: boolean; disableNotification: boolean },
): SentMessageRecord {
  return {
    bot: bot.username,
    chatId: message.chat.id,
    messageId: message.message_id,
    text: content.raw,
    plainText: message.text ?? "",
    parseMode: content.parseMode,
    replyTo: message.reply_to_message?.message_id ?? null,
    buttons: keyboard?.buttons ?? [],
    disableNotification: flags.disableNotification,
    edited: flags.edited,
    time: new Date().toISOString(),
  };
}
