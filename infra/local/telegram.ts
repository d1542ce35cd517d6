import type { IncomingMessage, ServerResponse } from "node:http";
import { type Listening, listen, sendJson, sendText } from "./http";
import { ControlError, type LocalService, ServiceFaults, type TimeScale } from "./service";
import { type BotSpec, LocalBot, type TgUser } from "./telegram-bot";
import { findMethod, type SentMessageRecord } from "./telegram-methods";
import { BotApiError, type Params, readParams } from "./telegram-params";
import type { ChannelView } from "./telegram-updates";

export type { BotSpec } from "./telegram-bot";
export type { SentMessageRecord } from "./telegram-methods";
export type { ChannelView, TgUpdate } from "./telegram-updates";

export interface TelegramOptions {
  bots: BotSpec[];
  port?: number;
  time: TimeScale;
  /** How long a webhook receiver may take to answer before the delivery counts as failed. */
  webhookTimeoutMs?: number;
  /**
   * PEM certificates a webhook receiver may present: the local APIG's self-signed one (real
   * Telegram trusts the public CAs, or a certificate uploaded with setWebhook).
   */
  trustedCertificates?: readonly string[];
}

/** One Bot API request as the fake saw it (the token is never kept). */
export interface ApiCallRecord {
  /** Username of the bot the token belongs to; null for unknown tokens and bad paths. */
  bot: string | null;
  method: string;
  params: Params;
  /** HTTP status answered; null while a long poll is held, or when the client left first. */
  status: number | null;
  time: string;
}

export interface InjectMessage {
  /** Username or token; default the first bot. */
  bot?: string;
  chatId: number;
  userId: number;
  text: string;
  username?: string;
  firstName?: string;
}

export interface InjectCallback {
  bot?: string;
  chatId: number;
  userId: number;
  messageId: number;
  data: string;
  username?: string;
}

interface RateLimit {
  retryAfter: number;
  remaining: number | undefined;
  method: string | undefined;
  bot: string | undefined;
}

const MAX_CALLS = 2_000;
const MAX_MESSAGES = 5_000;

/** The local Telegram Bot API: `/bot<token>/<method>` with recorded traffic and injectable faults. */
export class TelegramService implements LocalService {
  readonly name = "telegram";
  private readonly bots: LocalBot[] = [];
  private readonly sent: SentMessageRecord[] = [];
  private readonly apiCalls: ApiCallRecord[] = [];
  private readonly faults = new ServiceFaults();
  private readonly open = new Set<ServerResponse>();
  private readonly waits = new Set<() => void>();
  private rateLimit: RateLimit | undefined;
  private readonly trusted: string[];
  private down = false;
  private listening: Listening | undefined;

  constructor(private readonly options: TelegramOptions) {
    this.trusted = [...(options.trustedCertificates ?? [])];
    for (const spec of options.bots) this.addBot(spec);
  }

  get url(): string {
    if (this.listening === undefined) throw new Error("the Telegram fake is not started");
    return this.listening.url;
  }

  async start(): Promise<void> {
    this.listening = await listen(
      (req, res, body) => this.handle(req, res, body),
      this.options.port,
    );
  }

  addBot(spec: BotSpec): void {
    const bot = new LocalBot(spec, {
      time: this.options.time,
      webhookTimeoutMs: this.options.webhookTimeoutMs ?? 30_000,
      trustedCertificates: this.trusted,
      isDown: () => this.down,
    });
    if (this.bots.some((known) => known.token === bot.token || known.username === bot.username)) {
      throw new ControlError(`bot @${bot.username} (or its token) is already registered`, 409);
    }
    this.bots.push(bot);
  }

  /** Trusts one more receiver certificate (a local APIG started after the fake). */
  trustCertificate(pem: string): void {
    if (!this.trusted.includes(pem)) this.trusted.push(pem);
  }

  /** Queues a user's message for the bot; returns its update_id and message_id. */
  injectMessage(input: InjectMessage): { updateId: number; messageId: number } {
    const bot = this.findBot(input.bot);
    bot.updates.assertAccepts("message");
    const message = bot.receive(input.chatId, user(input), input.text);
    return { updateId: bot.updates.enqueue("message", message), messageId: message.message_id };
  }

  /** Queues a button press on a message the bot sent; returns its update_id and query id. */
  injectCallback(input: InjectCallback): { updateId: number; callbackQueryId: string } {
    const bot = this.findBot(input.bot);
    bot.updates.assertAccepts("callback_query");
    const message = bot.findMessage(input.chatId, input.messageId);
    if (message === undefined) {
      throw new ControlError(
        `no message ${input.messageId} in chat ${input.chatId} of @${bot.username}; a callback needs a message the bot sent`,
        404,
      );
    }
    const id = bot.newCallbackQueryId();
    const query = {
      id,
      from: user(input),
      message: structuredClone(message),
      chat_instance: String(Math.abs(input.chatId * 7919 + bot.id)),
      data: input.data,
    };
    return { updateId: bot.updates.enqueue("callback_query", query), callbackQueryId: id };
  }

  /**
   * The group becomes a supergroup; bots that take `message` updates get both service messages
   * (migrate_to_chat_id in the old chat, migrate_from_chat_id in the new), as on Telegram.
   */
  private migrateChat(params: Record<string, unknown>): number {
    const bot = this.findBot(optionalText(params, "bot"));
    const userId = params.userId === undefined ? 777_000 : requiredNumber(params, "userId");
    const { to, notices } = bot.migrateChat(
      requiredNumber(params, "chatId"),
      user({ userId, firstName: userId === 777_000 ? "Telegram" : undefined }),
    );
    for (const notice of notices) {
      try {
        bot.updates.enqueue("message", notice);
      } catch (error) {
        if (!(error instanceof ControlError)) throw error;
      }
    }
    return to;
  }

  messages(filter: { bot?: string; chatId?: number } = {}): SentMessageRecord[] {
    const username = filter.bot === undefined ? undefined : this.findBot(filter.bot).username;
    return this.sent
      .filter((record) => username === undefined || record.bot === username)
      .filter((record) => filter.chatId === undefined || record.chatId === filter.chatId)
      .map((record) => structuredClone(record));
  }

  calls(filter: { bot?: string; method?: string } = {}): ApiCallRecord[] {
    const username = filter.bot === undefined ? undefined : this.findBot(filter.bot).username;
    const method = filter.method?.toLowerCase();
    return this.apiCalls
      .filter((call) => username === undefined || call.bot === username)
      .filter((call) => method === undefined || call.method.toLowerCase() === method)
      .map((call) => structuredClone(call));
  }

  /** Per bot: pending updates, webhook mode and whether a long poll is held. */
  updates(): (ChannelView & { bot: string })[] {
    return this.bots.map((bot) => ({ bot: bot.username, ...bot.updates.view() }));
  }

  async control(action: string, params: Record<string, unknown>): Promise<unknown> {
    if (this.faults.apply(action, params)) return { ok: true };
    switch (action) {
      case "inject-message":
        return this.injectMessage({
          bot: optionalText(params, "bot"),
          chatId: requiredNumber(params, "chatId"),
          userId: requiredNumber(params, "userId"),
          text: requiredText(params, "text"),
          username: optionalText(params, "username"),
          firstName: optionalText(params, "firstName"),
        });
      case "inject-callback":
        return this.injectCallback({
          bot: optionalText(params, "bot"),
          chatId: requiredNumber(params, "chatId"),
          userId: requiredNumber(params, "userId"),
          messageId: requiredNumber(params, "messageId"),
          data: requiredText(params, "data"),
          username: optionalText(params, "username"),
        });
      case "redeliver": {
        const updateId = requiredNumber(params, "updateId");
        this.findBot(optionalText(params, "bot")).updates.redeliver(updateId);
        return { ok: true, updateId };
      }
      case "add-bot":
        this.addBot({
          token: requiredText(params, "token"),
          username: requiredText(params, "username"),
          firstName: optionalText(params, "firstName"),
        });
        return { ok: true };
      case "migrate-chat":
        return { ok: true, newChatId: this.migrateChat(params) };
      case "remove-bot":
        this.findBot(optionalText(params, "bot")).removeFromChat(requiredNumber(params, "chatId"));
        return { ok: true };
      case "join-chat":
        this.findBot(optionalText(params, "bot")).joinChat(requiredNumber(params, "chatId"));
        return { ok: true };
      case "forget-chat":
        this.findBot(optionalText(params, "bot")).forgetChat(requiredNumber(params, "chatId"));
        return { ok: true };
      case "down":
        this.setDown(true);
        return { ok: true };
      case "up":
        this.setDown(false);
        return { ok: true };
      case "rate-limit":
        this.rateLimit = {
          retryAfter: Number(params.retryAfter ?? 5),
          remaining: params.count === undefined ? undefined : Number(params.count),
          method: optionalText(params, "method")?.toLowerCase(),
          bot: params.bot === undefined ? undefined : this.findBot(String(params.bot)).username,
        };
        return { ok: true };
      case "revoke-token":
        this.findBot(requiredText(params, "bot")).revoked = true;
        return { ok: true };
      case "messages":
        return this.messages({
          bot: optionalText(params, "bot"),
          chatId: params.chatId === undefined ? undefined : Number(params.chatId),
        });
      case "calls":
        return this.calls({
          bot: optionalText(params, "bot"),
          method: optionalText(params, "method"),
        });
      case "updates":
        return this.updates();
      case "clear-messages":
        this.sent.length = 0;
        return { ok: true };
      case "clear-calls":
        this.apiCalls.length = 0;
        return { ok: true };
      default:
        throw new ControlError(
          `unknown telegram action "${action}"; see infra/local/docs/telegram.md`,
          404,
        );
    }
  }

  /** Clears faults (outage, rate limit, latency, forced errors, revoked tokens); keeps data. */
  reset(): void {
    this.faults.reset();
    this.rateLimit = undefined;
    for (const bot of this.bots) bot.revoked = false;
    this.setDown(false);
  }

  async close(): Promise<void> {
    for (const bot of this.bots) bot.updates.close();
    for (const release of this.waits) release();
    await this.listening?.close();
  }

  private setDown(down: boolean): void {
    this.down = down;
    if (down) {
      for (const res of this.open) res.socket?.destroy();
      return;
    }
    for (const bot of this.bots) bot.updates.resume();
  }

  private findBot(name: string | undefined): LocalBot {
    const wanted = name?.replace(/^@/, "").toLowerCase();
    const bot =
      wanted === undefined
        ? this.bots[0]
        : this.bots.find(
            (known) => known.username.toLowerCase() === wanted || known.token === name,
          );
    if (bot === undefined) {
      const known = this.bots.map((known) => `@${known.username}`).join(", ") || "none";
      // A token passed as `bot` is a secret: name it only by its kind.
      const shown = name !== undefined && /^\d+:/.test(name) ? "(token)" : `"${name ?? ""}"`;
      throw new ControlError(`unknown bot ${shown}; known bots: ${known}`, 404);
    }
    return bot;
  }

  private async handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    if (this.down) {
      req.socket.destroy();
      return;
    }
    this.open.add(res);
    res.on("close", () => this.open.delete(res));
    if (this.faults.latencyMs > 0) await this.wait(this.faults.latencyMs);
    if (res.closed || this.down) return;
    const route = /^\/bot([^/]+)\/([^/?]*)/.exec(req.url ?? "");
    const token = route?.[1] === undefined ? undefined : safeDecode(route[1]);
    const bot = this.bots.find((known) => known.token === token);
    const call = this.record(bot?.username ?? null, route?.[2] ?? "", {});
    try {
      call.params = readParams(req, body);
      const forced = this.faults.takeForcedStatus();
      if (forced !== undefined) {
        this.replyForced(res, call, forced);
        return;
      }
      if (route === undefined || token === undefined) throw new BotApiError(404, "Not Found");
      if (bot === undefined || bot.revoked) throw new BotApiError(401, "Unauthorized");
      this.checkRateLimit(bot, call.method);
      const method = findMethod(call.method);
      if (method === undefined) throw new BotApiError(404, "Not Found");
      const outcome = await method[1]({
        bot,
        params: call.params,
        res,
        recordMessage: (record) => this.keepMessage(record),
      });
      if (outcome === undefined) return;
      const envelope: Record<string, unknown> = { ok: true, result: outcome.result };
      if (outcome.description !== undefined) envelope.description = outcome.description;
      call.status = 200;
      sendJson(res, 200, envelope);
    } catch (error) {
      if (!(error instanceof BotApiError)) throw error;
      this.replyError(res, call, error);
    }
  }

  private checkRateLimit(bot: LocalBot, method: string): void {
    const limit = this.rateLimit;
    if (limit === undefined) return;
    if (limit.method !== undefined && limit.method !== method.toLowerCase()) return;
    if (limit.bot !== undefined && limit.bot !== bot.username) return;
    if (limit.remaining !== undefined) {
      limit.remaining -= 1;
      if (limit.remaining <= 0) this.rateLimit = undefined;
    }
    throw new BotApiError(429, `Too Many Requests: retry after ${limit.retryAfter}`, {
      retry_after: limit.retryAfter,
    });
  }

  private replyError(res: ServerResponse, call: ApiCallRecord, error: BotApiError): void {
    call.status = error.code;
    const envelope: Record<string, unknown> = {
      ok: false,
      error_code: error.code,
      description: error.description,
    };
    if (error.parameters !== undefined) envelope.parameters = error.parameters;
    const headers: Record<string, string> = {};
    const retryAfter = error.parameters?.retry_after;
    if (retryAfter !== undefined) headers["retry-after"] = String(retryAfter);
    if (!res.closed) sendJson(res, error.code, envelope, headers);
  }

  /** 502/504 come from Telegram's nginx as HTML (grammY then sees an HttpError); others as JSON. */
  private replyForced(res: ServerResponse, call: ApiCallRecord, status: number): void {
    const reason = STATUS_TEXT[status] ?? "Internal Server Error";
    if (status === 502 || status === 504) {
      call.status = status;
      const html = `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n<center><h1>${status} ${reason}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n`;
      sendText(res, status, html, "text/html");
      return;
    }
    this.replyError(res, call, new BotApiError(status, reason));
  }

  private record(bot: string | null, method: string, params: Params): ApiCallRecord {
    const call: ApiCallRecord = {
      bot,
      method,
      params,
      status: null,
      time: new Date().toISOString(),
    };
    this.apiCalls.push(call);
    if (this.apiCalls.length > MAX_CALLS) this.apiCalls.shift();
    return call;
  }

  private keepMessage(record: SentMessageRecord): void {
    this.sent.push(record);
    if (this.sent.length > MAX_MESSAGES) this.sent.shift();
  }

  /** Latency that ends early on close, so no timer outlives the service. */
  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const release = (): void => {
        clearTimeout(timer);
        this.waits.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      this.waits.add(release);
    });
  }
}

export async function startTelegram(options: TelegramOptions): Promise<TelegramService> {
  const service = new TelegramService(options);
  await service.start();
  return service;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

function user(input: { userId: number; username?: string; firstName?: string }): TgUser {
  const from: TgUser = {
    id: input.userId,
    is_bot: false,
    first_name: input.firstName ?? input.username ?? `User ${input.userId}`,
    language_code: "en",
  };
  if (input.username !== undefined) from.username = input.username.replace(/^@/, "");
  return from;
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function requiredNumber(params: Record<string, unknown>, name: string): number {
  const value = Number(params[name]);
  if (params[name] === undefined || !Number.isFinite(value)) {
    throw new ControlError(`"${name}" must be a number`);
  }
  return value;
}

function requiredText(params: Record<string, unknown>, name: string): string {
  const value = params[name];
  if (typeof value !== "string" || value === "")
    throw new ControlError(`"${name}" must be a non-empty string`);
  return value;
}

function optionalText(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new ControlError(`"${name}" must be a string`);
  return value;
}
