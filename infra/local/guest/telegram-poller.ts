import { type ChatTarget, causeCode, ModelRequestError, streamChatReply } from "./maas-chat";

/**
 * The gateway's Telegram channel: long-polls getUpdates, answers each text message through the
 * model, and tracks how long the Bot API has been unreachable (that is what fails readiness).
 * Plain fetch keeps the bundle small; grammY would bring nothing the stand-in needs.
 */

export interface PollerOptions {
  readonly apiRoot: string;
  readonly botToken: string;
  readonly chat: ChatTarget;
  readonly connectGraceMs: number;
  readonly log: (line: string) => void;
  readonly onReplySent: () => void;
}

type Outcome =
  | { kind: "ok"; result: unknown }
  | { kind: "aborted" }
  | { kind: "unreachable"; reason: string }
  | { kind: "rejected"; status: number; retryAfterS: number | undefined };

interface Update {
  update_id: number;
  message?: { text?: unknown; chat?: { id?: unknown } };
}

const LONG_POLL_TIMEOUT_S = 30;

export class TelegramPoller {
  private offset = 0;
  private stalled = false;
  private connected = false;
  private downSince: number;
  private lastDownReason = "";
  private inFlight: AbortController | undefined;
  private wake: (() => void) | undefined;
  private replies: Promise<void> = Promise.resolve();
  private readonly stopping = new AbortController();
  private readonly retryMs: number;

  constructor(
    private readonly options: PollerOptions,
    startedAt: number,
  ) {
    // Until the first successful call, the channel counts as down since boot.
    this.downSince = startedAt;
    this.retryMs = Math.min(5_000, Math.max(50, Math.round(options.connectGraceMs / 20)));
  }

  get pollingStalled(): boolean {
    return this.stalled;
  }

  start(): void {
    void this.run();
  }

  /** The known OpenClaw polling stall: stop consuming updates while staying ready. */
  stall(): void {
    this.stalled = true;
    this.inFlight?.abort();
  }

  resume(): void {
    this.stalled = false;
    this.wake?.();
  }

  close(): void {
    this.stopping.abort();
    this.inFlight?.abort();
    this.wake?.();
  }

  isFailing(now: number): boolean {
    return !this.connected && now - this.downSince > this.options.connectGraceMs;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    const me = await this.call("getMe", {}, this.stopping.signal);
    this.note(me);
    while (!this.stopped) {
      if (this.stalled) {
        await this.pause();
        continue;
      }
      const controller = new AbortController();
      this.inFlight = controller;
      const outcome = await this.call(
        "getUpdates",
        {
          offset: this.offset,
          timeout: LONG_POLL_TIMEOUT_S,
          limit: 100,
          allowed_updates: ["message"],
        },
        AbortSignal.any([
          controller.signal,
          this.stopping.signal,
          AbortSignal.timeout((LONG_POLL_TIMEOUT_S + 10) * 1_000),
        ]),
      );
      this.inFlight = undefined;
      this.note(outcome);
      if (outcome.kind === "ok") this.take(outcome.result);
      else if (outcome.kind === "rejected" && outcome.retryAfterS !== undefined) {
        await this.pause(outcome.retryAfterS * 1_000);
      } else if (outcome.kind !== "aborted") await this.pause(this.retryMs);
    }
  }

  private take(result: unknown): void {
    if (!Array.isArray(result)) return;
    for (const update of result as Update[]) {
      if (typeof update.update_id !== "number") continue;
      this.offset = Math.max(this.offset, update.update_id + 1);
      const text = update.message?.text;
      const chatId = update.message?.chat?.id;
      if (typeof text !== "string" || (typeof chatId !== "number" && typeof chatId !== "string")) {
        continue;
      }
      // Replies run beside the polling loop, so a slow model never delays getUpdates.
      this.replies = this.replies.then(() => this.answer(chatId, text));
    }
  }

  private async answer(chatId: number | string, text: string): Promise<void> {
    let reply: string;
    try {
      reply = await streamChatReply(this.options.chat, text, this.stopping.signal);
      if (reply.trim() === "") reply = "(the model returned an empty reply)";
    } catch (error) {
      if (this.stopped) return;
      const reason = error instanceof ModelRequestError ? error.message : causeCode(error);
      this.options.log(`[agent] model call failed: ${reason}`);
      reply = `⚠️ Agent failed before reply: ${reason}`;
    }
    const sent = await this.call(
      "sendMessage",
      { chat_id: chatId, text: reply },
      this.stopping.signal,
    );
    this.note(sent);
    if (sent.kind === "ok") this.options.onReplySent();
    else if (sent.kind !== "aborted")
      this.options.log(`[telegram] sendMessage failed (${describe(sent)})`);
  }

  private note(outcome: Outcome): void {
    if (outcome.kind === "aborted") return;
    const reachable =
      outcome.kind === "ok" ||
      (outcome.kind === "rejected" && (outcome.status === 409 || outcome.status === 429));
    if (reachable) {
      if (!this.connected) this.options.log("[telegram] Bot API reachable; polling");
      this.connected = true;
      return;
    }
    const reason = describe(outcome);
    if (this.connected) this.downSince = Date.now();
    if (this.connected || reason !== this.lastDownReason) {
      this.options.log(`[telegram] Bot API call failed (${reason}); retrying`);
    }
    this.connected = false;
    this.lastDownReason = reason;
  }

  private async call(method: string, params: object, signal: AbortSignal): Promise<Outcome> {
    // The URL holds the bot token: it never goes into a log line or an error message.
    const url = `${this.options.apiRoot.replace(/\/+$/, "")}/bot${this.options.botToken}/${method}`;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(params),
        signal,
      });
      const body = (await res.json().catch(() => undefined)) as
        | {
            ok?: boolean;
            result?: unknown;
            error_code?: number;
            parameters?: { retry_after?: number };
          }
        | undefined;
      if (body === undefined)
        return { kind: "unreachable", reason: `HTTP ${res.status} without JSON` };
      if (body.ok === true) return { kind: "ok", result: body.result };
      return {
        kind: "rejected",
        status: body.error_code ?? res.status,
        retryAfterS: body.parameters?.retry_after,
      };
    } catch (error) {
      // Aborted on purpose (stall, shutdown); a timed-out long poll counts as unreachable.
      const reason = signal.reason as { name?: unknown } | undefined;
      if (signal.aborted && reason?.name !== "TimeoutError") return { kind: "aborted" };
      return { kind: "unreachable", reason: causeCode(error) };
    }
  }

  /** Waits for `ms` (or forever), cut short by resume-polling or shutdown. */
  private pause(ms?: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      const wake = (): void => done();
      this.wake = wake;
      function done(): void {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      }
    });
  }
}

function describe(outcome: Exclude<Outcome, { kind: "ok" } | { kind: "aborted" }>): string {
  return outcome.kind === "unreachable" ? outcome.reason : `HTTP ${outcome.status}`;
}
