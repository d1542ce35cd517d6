import * as z from "zod/mini";
import "../errors/zod-english";
import type { Operator } from "../policy/types";

/**
 * The few fields of a Telegram update the receiver reads. Unknown fields are dropped; a value
 * of the wrong type makes the whole update "not understood" (answered 200, ignored).
 */
const integer = z.number().check(z.int());
const userSchema = z.object({
  id: integer,
  is_bot: z.optional(z.boolean()),
  username: z.optional(z.string().check(z.maxLength(64))),
});
const chatSchema = z.object({
  id: integer,
  username: z.optional(z.string().check(z.maxLength(64))),
});
const messageSchema = z.object({
  message_id: integer,
  chat: chatSchema,
  from: z.optional(userSchema),
  text: z.optional(z.string().check(z.maxLength(8_192))),
  /** Telegram's service message when the group became a supergroup with this id. */
  migrate_to_chat_id: z.optional(integer),
});
const callbackSchema = z.object({
  id: z.string().check(z.minLength(1), z.maxLength(128)),
  from: userSchema,
  message: z.optional(z.object({ message_id: integer, chat: chatSchema })),
  data: z.optional(z.string().check(z.maxLength(256))),
});
const updateSchema = z.object({
  update_id: z.number().check(z.int(), z.nonnegative()),
  message: z.optional(messageSchema),
  callback_query: z.optional(callbackSchema),
});

export interface ChatRef {
  id: number;
  username?: string;
}

interface Base {
  updateId: number;
  chat?: ChatRef;
  from?: Operator;
  /** Set for button presses: answerCallbackQuery needs it whatever happens next. */
  queryId?: string;
}

export type Incoming =
  | (Base & { kind: "command"; chat: ChatRef; from: Operator; messageId: number; text: string })
  | (Base & {
      kind: "button";
      chat: ChatRef;
      from: Operator;
      queryId: string;
      messageId: number;
      data: string;
    })
  | (Base & { kind: "migrated"; chat: ChatRef; to: number })
  | (Base & { kind: "ignored"; why: string });

/** Reads a parsed JSON body; undefined when it is not a Telegram update at all. */
export function readUpdate(json: unknown): Incoming | undefined {
  const parsed = updateSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const { update_id: updateId, message, callback_query: query } = parsed.data;
  if (query) return fromCallback(updateId, query);
  if (message) return fromMessage(updateId, message);
  return { kind: "ignored", updateId, why: "an update kind the receiver does not handle" };
}

function fromMessage(updateId: number, message: z.infer<typeof messageSchema>): Incoming {
  const chat = chatRef(message.chat);
  if (message.migrate_to_chat_id !== undefined) {
    return { kind: "migrated", updateId, chat, to: message.migrate_to_chat_id };
  }
  const from = message.from;
  if (!from) return { kind: "ignored", updateId, chat, why: "a message without a sender" };
  const base = { updateId, chat, from: operator(from) };
  if (from.is_bot) return { ...base, kind: "ignored", why: "a message from a bot" };
  const text = message.text?.trim();
  if (!text?.startsWith("/")) return { ...base, kind: "ignored", why: "not a command" };
  return { ...base, kind: "command", messageId: message.message_id, text };
}

function fromCallback(updateId: number, query: z.infer<typeof callbackSchema>): Incoming {
  const from = operator(query.from);
  const base = { updateId, from, queryId: query.id };
  if (!query.message) return { ...base, kind: "ignored", why: "a button without its message" };
  const chat = chatRef(query.message.chat);
  if (query.data === undefined)
    return { ...base, chat, kind: "ignored", why: "a button without data" };
  return {
    ...base,
    kind: "button",
    chat,
    messageId: query.message.message_id,
    data: query.data,
  };
}

function chatRef(chat: z.infer<typeof chatSchema>): ChatRef {
  return chat.username === undefined ? { id: chat.id } : { id: chat.id, username: chat.username };
}

function operator(user: z.infer<typeof userSchema>): Operator {
  return user.username === undefined
    ? { userId: user.id }
    : { userId: user.id, username: user.username };
}
