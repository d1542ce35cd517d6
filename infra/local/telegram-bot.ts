import { ControlError } from "./service";
import type { InlineKeyboard, MessageText, ReplyTarget } from "./telegram-content";
import type { MessageEntity } from "./telegram-html";
import { BotApiError, badRequest } from "./telegram-params";
import { type ChannelEnv, UpdateChannel } from "./telegram-updates";

export interface BotSpec {
  /** `<digits>:<secret>`, as BotFather issues them. */
  token: string;
  username: string;
  firstName?: string;
  /**
   * The groups the bot was added to (and private chats whose user started it). Telegram knows
   * no other chat to this bot: writing anywhere else is 400 "Bad Request: chat not found".
   */
  chats?: readonly number[];
}

export interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  username?: string;
  language_code?: string;
}

export interface TgChat {
  id: number;
  type: "private" | "group" | "supergroup";
  title?: string;
  first_name?: string;
  username?: string;
}

export interface TgMessage {
  message_id: number;
  from: TgUser;
  chat: TgChat;
  date: number;
  edit_date?: number;
  text?: string;
  entities?: MessageEntity[];
  /** Service messages of a group upgraded to a supergroup. */
  migrate_to_chat_id?: number;
  migrate_from_chat_id?: number;
  reply_to_message?: TgMessage;
  reply_markup?: InlineKeyboard["markup"];
}

export interface BotCommand {
  command: string;
  description: string;
}

interface StoredMessage {
  message: TgMessage;
  fromBot: boolean;
}

const MAX_MESSAGES_PER_CHAT = 2_000;
const TOKEN_FORMAT = /^(\d+):[A-Za-z0-9_-]+$/;

/** Whether the bot may still write to a chat; Telegram's refusals when it may not. */
type ChatAccess =
  | { kind: "member" }
  | { kind: "migrated"; to: number }
  | { kind: "removed" }
  | { kind: "gone" };

class ChatLog {
  private nextMessageId = 1;
  readonly messages = new Map<number, StoredMessage>();
  access: ChatAccess = { kind: "member" };

  constructor(public info: TgChat) {}

  store(build: (messageId: number) => TgMessage, fromBot: boolean): TgMessage {
    const message = build(this.nextMessageId);
    this.nextMessageId += 1;
    this.messages.set(message.message_id, { message, fromBot });
    if (this.messages.size > MAX_MESSAGES_PER_CHAT) {
      const oldest = this.messages.keys().next();
      if (oldest.done !== true) this.messages.delete(oldest.value);
    }
    return message;
  }
}

/** A bot known to the fake: its identity, chats, commands, callback queries and update stream. */
export class LocalBot {
  readonly id: number;
  readonly username: string;
  readonly user: TgUser;
  readonly updates: UpdateChannel;
  revoked = false;
  private readonly chats = new Map<number, ChatLog>();
  private readonly commands = new Map<string, BotCommand[]>();
  private readonly callbacks = new Map<string, { answered: boolean }>();
  private nextCallback = 1;

  readonly token: string;

  constructor(spec: BotSpec, env: ChannelEnv) {
    this.token = spec.token;
    const match = TOKEN_FORMAT.exec(spec.token);
    if (match?.[1] === undefined) {
      throw new ControlError(
        `bot token for @${spec.username} must look like <digits>:<secret> (as BotFather issues)`,
      );
    }
    this.id = Number(match[1]);
    this.username = spec.username.replace(/^@/, "");
    this.user = {
      id: this.id,
      is_bot: true,
      first_name: spec.firstName ?? this.username,
      username: this.username,
    };
    this.updates = new UpdateChannel(env);
    for (const chatId of spec.chats ?? []) this.joinChat(chatId);
  }

  /** The bot was added to a group, or a user started it: the chat exists for it from now on. */
  joinChat(chatId: number): void {
    const chat = this.chats.get(chatId);
    if (chat === undefined) this.chats.set(chatId, new ChatLog(chatInfo(chatId)));
    else if (chat.access.kind !== "migrated") chat.access = { kind: "member" };
  }

  /** getChat: the chat as Telegram describes it to this bot. */
  getChat(chatId: number): TgChat {
    const chat = this.knownChat(chatId);
    if (chat.access.kind === "gone") throw badRequest("chat not found");
    if (chat.access.kind === "migrated") assertWritable(chat);
    return { ...chat.info };
  }

  /**
   * getChatMember: the bot's own status there. A kicked bot is "kicked"; a group member bot
   * may send messages (the fake models no restricted rights).
   */
  getChatMember(chatId: number, userId: number): Record<string, unknown> {
    const chat = this.knownChat(chatId);
    if (chat.access.kind === "gone" || chat.access.kind === "migrated") assertWritable(chat);
    if (userId !== this.id) {
      // Client.cpp answers for any user id; the fake knows only the bot itself.
      throw badRequest("user not found");
    }
    if (chat.access.kind === "removed") {
      return {
        status: chat.info.type === "private" ? "left" : "kicked",
        user: this.user,
        until_date: 0,
      };
    }
    return { status: "member", user: this.user };
  }

  getMe(): Record<string, unknown> {
    return {
      ...this.user,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    };
  }

  send(
    chatId: number,
    content: MessageText,
    keyboard: InlineKeyboard | undefined,
    target: ReplyTarget | undefined,
  ): TgMessage {
    const chat = this.knownChat(chatId);
    assertWritable(chat);
    const replied = target === undefined ? undefined : chat.messages.get(target.messageId);
    if (target !== undefined && replied === undefined && !target.allowWithoutReply) {
      throw badRequest("message to be replied not found");
    }
    return chat.store(
      (messageId) =>
        compact({
          message_id: messageId,
          from: this.user,
          chat: chat.info,
          date: unixNow(),
          text: content.text,
          entities: content.entities.length > 0 ? content.entities : undefined,
          reply_to_message: replied === undefined ? undefined : withoutReply(replied.message),
          reply_markup: keyboard?.markup,
        }),
      true,
    );
  }

  /** editMessageText / editMessageReplyMarkup; `content` undefined keeps the text. */
  edit(
    chatId: number,
    messageId: number,
    content: MessageText | undefined,
    keyboard: InlineKeyboard | undefined,
  ): TgMessage {
    const log = this.chats.get(chatId);
    if (log !== undefined) assertWritable(log);
    const stored = log?.messages.get(messageId);
    if (stored === undefined) throw badRequest("message to edit not found");
    if (!stored.fromBot) throw badRequest("message can't be edited");
    const before = stored.message;
    const next: TgMessage = compact({
      ...before,
      text: content?.text ?? before.text,
      entities:
        content === undefined
          ? before.entities
          : content.entities.length > 0
            ? content.entities
            : undefined,
      reply_markup: keyboard?.markup,
      edit_date: unixNow(),
    });
    const same =
      next.text === before.text &&
      JSON.stringify(next.entities) === JSON.stringify(before.entities) &&
      JSON.stringify(next.reply_markup) === JSON.stringify(before.reply_markup);
    if (same) {
      throw badRequest(
        "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
      );
    }
    stored.message = next;
    return next;
  }

  receive(chatId: number, from: TgUser, text: string): TgMessage {
    const chat = this.chat(chatId);
    if (chat.info.type === "private") {
      chat.info = compact({ ...chat.info, first_name: from.first_name, username: from.username });
    }
    return chat.store(
      (messageId) =>
        compact({
          message_id: messageId,
          from,
          chat: chat.info,
          date: unixNow(),
          text,
          entities: commandEntities(text),
        }),
      false,
    );
  }

  findMessage(chatId: number, messageId: number): TgMessage | undefined {
    return this.chats.get(chatId)?.messages.get(messageId)?.message;
  }

  newCallbackQueryId(): string {
    const id = `${this.id}${String(this.nextCallback).padStart(8, "0")}`;
    this.nextCallback += 1;
    this.callbacks.set(id, { answered: false });
    return id;
  }

  /** A query can be answered once; afterwards Telegram treats its id as invalid. */
  answerCallback(id: string): void {
    const query = this.callbacks.get(id);
    if (query === undefined || query.answered) {
      throw badRequest("query is too old and response timeout expired or query ID is invalid");
    }
    query.answered = true;
  }

  setCommands(scopeKey: string, commands: BotCommand[]): void {
    if (commands.length === 0) this.commands.delete(scopeKey);
    else this.commands.set(scopeKey, commands);
  }

  getCommands(scopeKey: string): BotCommand[] {
    return [...(this.commands.get(scopeKey) ?? [])];
  }

  /**
   * A basic group upgraded to a supergroup (Telegram does it on its own, e.g. when topics are
   * enabled): the old id is refused from then on with migrate_to_chat_id. Returns the new id.
   */
  migrateChat(chatId: number, by: TgUser): { to: number; notices: TgMessage[] } {
    const chat = this.knownChat(chatId);
    if (chat.info.type !== "group" || chat.access.kind !== "member") {
      throw new ControlError(
        `chat ${chatId} is not an active basic group (negative, not -100…)`,
        409,
      );
    }
    const to = -(1_000_000_000_000 + Math.abs(chatId));
    const next = this.chat(to);
    next.info.title = chat.info.title;
    chat.access = { kind: "migrated", to };
    // Telegram posts a service message in each chat: the old one points to the new id and back.
    const notice = (
      log: ChatLog,
      field: "migrate_to_chat_id" | "migrate_from_chat_id",
      id: number,
    ) =>
      log.store(
        (messageId) => ({
          message_id: messageId,
          from: by,
          chat: log.info,
          date: unixNow(),
          [field]: id,
        }),
        false,
      );
    return {
      to,
      notices: [
        notice(chat, "migrate_to_chat_id", to),
        notice(next, "migrate_from_chat_id", chatId),
      ],
    };
  }

  /** Refuses as sendMessage would: migrated, kicked or blocked, or an unknown chat. */
  assertCanWrite(chatId: number): void {
    assertWritable(this.knownChat(chatId));
  }

  /** The bot was kicked from a group, or a user blocked it in a private chat. */
  removeFromChat(chatId: number): void {
    this.knownChat(chatId).access = { kind: "removed" };
  }

  /** The chat was deleted: Telegram no longer knows it. */
  forgetChat(chatId: number): void {
    this.chat(chatId).access = { kind: "gone" };
  }

  /** A chat the bot is (or was) in; any other id is one Telegram does not know to this bot. */
  private knownChat(chatId: number): ChatLog {
    const chat = this.chats.get(chatId);
    if (chat === undefined) throw badRequest("chat not found");
    return chat;
  }

  private chat(chatId: number): ChatLog {
    let chat = this.chats.get(chatId);
    if (chat === undefined) {
      chat = new ChatLog(chatInfo(chatId));
      this.chats.set(chatId, chat);
    }
    return chat;
  }
}

/**
 * Telegram's answers for a chat the bot may not write to. Source: tdlib/telegram-bot-api
 * telegram-bot-api/Client.cpp, Client::check_chat_access(): an upgraded basic group → 400
 * "Bad Request: group chat was upgraded to a supergroup chat" with parameters.migrate_to_chat_id
 * (the supergroup's -100… id); kicked → 403 "Forbidden: bot was kicked from the group chat" /
 * "… from the supergroup chat"; a private chat whose user blocked the bot → 403 "Forbidden: bot
 * was blocked by the user" (Client.cpp, error text mapping of USER_IS_BLOCKED); an unknown chat
 * → 400 "Bad Request: chat not found".
 */
function assertWritable(chat: ChatLog): void {
  const access = chat.access;
  switch (access.kind) {
    case "member":
      return;
    case "migrated":
      throw new BotApiError(400, "Bad Request: group chat was upgraded to a supergroup chat", {
        migrate_to_chat_id: access.to,
      });
    case "gone":
      throw badRequest("chat not found");
    case "removed":
      if (chat.info.type === "private") {
        throw new BotApiError(403, "Forbidden: bot was blocked by the user");
      }
      throw new BotApiError(
        403,
        `Forbidden: bot was kicked from the ${chat.info.type === "supergroup" ? "supergroup" : "group"} chat`,
      );
  }
}

function chatInfo(chatId: number): TgChat {
  if (chatId > 0) return { id: chatId, type: "private" };
  // Supergroup ids carry the -100 prefix; plain negative ids are basic groups.
  const type = chatId <= -1_000_000_000_000 ? "supergroup" : "group";
  return { id: chatId, type, title: `Local chat ${chatId}` };
}

function withoutReply(message: TgMessage): TgMessage {
  const { reply_to_message: _nested, ...rest } = message;
  return rest;
}

/** Telegram omits absent fields rather than sending null. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

function commandEntities(text: string): MessageEntity[] | undefined {
  const entities: MessageEntity[] = [];
  for (const match of text.matchAll(/(^|\s)(\/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?)/g)) {
    const prefix = match[1] ?? "";
    const command = match[2] ?? "";
    entities.push({
      type: "bot_command",
      offset: match.index + prefix.length,
      length: command.length,
    });
  }
  return entities.length > 0 ? entities : undefined;
}

export const unixNow = (): number => Math.floor(Date.now() / 1000);
