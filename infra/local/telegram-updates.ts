import type { ServerResponse } from "node:http";
import { ControlError, type TimeScale } from "./service";
import { BotApiError } from "./telegram-params";
import { requestHttps } from "./tls";

export interface TgUpdate {
  update_id: number;
  [kind: string]: unknown;
}

export interface WebhookSettings {
  url: string;
  secretToken?: string;
  maxConnections: number;
  allowedUpdates?: string[];
}

interface Webhook extends WebhookSettings {
  lastErrorDate?: number;
  lastErrorMessage?: string;
}

export interface PollRequest {
  offset?: number;
  limit: number;
  timeoutSeconds: number;
  allowedUpdates?: string[];
}

export interface ChannelView {
  mode: "polling" | "webhook";
  url: string;
  /** Queued, not yet fetched (polling) or delivered (webhook); pending_update_count adds `unconfirmed`. */
  pending: TgUpdate[];
  /** Fetched by getUpdates, not yet confirmed by a later offset. */
  unconfirmed: number[];
  longPollHeld: boolean;
  lastErrorMessage: string | null;
}

export interface ChannelEnv {
  readonly time: TimeScale;
  readonly webhookTimeoutMs: number;
  /** PEM certificates webhook receivers may present (Telegram trusts public CAs). */
  readonly trustedCertificates: readonly string[];
  isDown(): boolean;
}

interface PollWaiter {
  wake(): void;
  terminate(error: BotApiError): void;
  gone(): void;
}

const MAX_REMEMBERED = 500;
const MAX_BACKOFF_MS = 60_000;

/**
 * One bot's update stream, as the Bot API keeps it: a queue that is either long-polled
 * (getUpdates confirms by offset) or pushed to a webhook one update at a time, in order,
 * retried with back-off until the receiver answers 2xx.
 */
export class UpdateChannel {
  private nextId = 1;
  /** Not yet fetched (polling) or not yet delivered (webhook). */
  private queue: TgUpdate[] = [];
  /** Returned by getUpdates but not confirmed by a later offset. */
  private unconfirmed: TgUpdate[] = [];
  private readonly delivered = new Map<number, TgUpdate>();
  private webhook: Webhook | undefined;
  private pollingAllowed: string[] | undefined;
  private poll: PollWaiter | undefined;
  private pumping = false;
  private wakePump: (() => void) | undefined;
  private inFlight: AbortController | undefined;
  private closed = false;

  constructor(private readonly env: ChannelEnv) {}

  /**
   * What getWebhookInfo reports as pending_update_count: the size of the bot's update queue, which
   * holds every update until a later getUpdates offset (or a 2xx webhook answer) forgets it, so
   * updates already fetched but not yet confirmed count too.
   * Source: tdlib/telegram-bot-api telegram-bot-api/Client.cpp, Client::get_pending_update_count()
   * returns `tqueue_->get_size(tqueue_id_)`; getUpdates' offset calls tqueue forget_before().
   */
  get pendingCount(): number {
    return this.queue.length + this.unconfirmed.length;
  }

  /** Telegram never creates updates of a kind the bot's allowed_updates leave out. */
  assertAccepts(kind: string): void {
    const allowed = this.webhook?.allowedUpdates ?? this.pollingAllowed;
    if (allowed !== undefined && allowed.length > 0 && !allowed.includes(kind)) {
      throw new ControlError(
        `the bot's allowed_updates (${allowed.join(", ")}) exclude "${kind}", so Telegram would never deliver it; call setWebhook/getUpdates with allowed_updates including it`,
        409,
      );
    }
  }

  /** Queues an update of `kind` (message, callback_query); returns its update_id. */
  enqueue(kind: string, payload: unknown): number {
    this.assertAccepts(kind);
    const update: TgUpdate = { update_id: this.nextId, [kind]: payload };
    this.nextId += 1;
    this.queue.push(update);
    this.poll?.wake();
    this.kick();
    return update.update_id;
  }

  /** Returns undefined when the client went away while waiting (nothing to answer). */
  async getUpdates(request: PollRequest, res: ServerResponse): Promise<TgUpdate[] | undefined> {
    if (this.webhook !== undefined) {
      throw new BotApiError(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
    }
    if (request.allowedUpdates !== undefined) this.pollingAllowed = request.allowedUpdates;
    this.confirm(request.offset);
    this.poll?.terminate(
      new BotApiError(
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
      ),
    );
    if (this.available(request.limit).length === 0 && request.timeoutSeconds > 0) {
      const outcome = await this.waitForUpdates(request.timeoutSeconds * 1000, res);
      if (outcome === "gone") return undefined;
    }
    return this.handOut(this.available(request.limit), res);
  }

  setWebhook(settings: WebhookSettings, dropPending: boolean): string {
    const same = this.webhook?.url === settings.url;
    this.poll?.terminate(new BotApiError(409, "Conflict: terminated by setWebhook request"));
    if (dropPending) this.dropPending();
    this.queue = [...this.unconfirmed, ...this.queue];
    this.unconfirmed = [];
    this.webhook = { ...settings };
    this.wakePump?.();
    this.kick();
    return same ? "Webhook is already set" : "Webhook was set";
  }

  deleteWebhook(dropPending: boolean): string {
    const had = this.webhook !== undefined;
    if (dropPending) this.dropPending();
    this.webhook = undefined;
    this.wakePump?.();
    return had ? "Webhook was deleted" : "Webhook is already deleted";
  }

  webhookInfo(): Record<string, unknown> {
    const info: Record<string, unknown> = {
      url: this.webhook?.url ?? "",
      has_custom_certificate: false,
      pending_update_count: this.pendingCount,
    };
    const hook = this.webhook;
    if (hook === undefined) return info;
    info.ip_address = "127.0.0.1";
    if (hook.lastErrorDate !== undefined) {
      info.last_error_date = hook.lastErrorDate;
      info.last_error_message = hook.lastErrorMessage;
    }
    info.max_connections = hook.maxConnections;
    if (hook.allowedUpdates !== undefined) info.allowed_updates = hook.allowedUpdates;
    return info;
  }

  /** Posts an already delivered update again, ahead of the queue (Telegram's retry). */
  redeliver(updateId: number): void {
    if (this.webhook === undefined) {
      throw new ControlError("redeliver needs webhook mode; call setWebhook first", 409);
    }
    const update = this.delivered.get(updateId);
    if (update === undefined) {
      throw new ControlError(
        `update ${updateId} has not been delivered to the webhook (it is pending or unknown)`,
        404,
      );
    }
    this.queue.unshift(structuredClone(update));
    this.kick();
  }

  view(): ChannelView {
    return {
      mode: this.webhook === undefined ? "polling" : "webhook",
      url: this.webhook?.url ?? "",
      pending: this.queue.map((update) => structuredClone(update)),
      unconfirmed: this.unconfirmed.map((update) => update.update_id),
      longPollHeld: this.poll !== undefined,
      lastErrorMessage: this.webhook?.lastErrorMessage ?? null,
    };
  }

  /** After an outage ends: resume webhook delivery at once. */
  resume(): void {
    this.wakePump?.();
    this.kick();
  }

  close(): void {
    this.closed = true;
    this.poll?.gone();
    this.inFlight?.abort();
    this.wakePump?.();
  }

  private confirm(offset: number | undefined): void {
    if (offset === undefined || offset === 0) return;
    if (offset > 0) {
      this.unconfirmed = this.unconfirmed.filter((update) => update.update_id >= offset);
      this.queue = this.queue.filter((update) => update.update_id >= offset);
      return;
    }
    const keep = new Set(
      this.all()
        .slice(offset)
        .map((update) => update.update_id),
    );
    this.unconfirmed = this.unconfirmed.filter((update) => keep.has(update.update_id));
    this.queue = this.queue.filter((update) => keep.has(update.update_id));
  }

  private all(): TgUpdate[] {
    return [...this.unconfirmed, ...this.queue].sort((a, b) => a.update_id - b.update_id);
  }

  private available(limit: number): TgUpdate[] {
    return this.all().slice(0, limit);
  }

  private handOut(updates: TgUpdate[], res: ServerResponse): TgUpdate[] | undefined {
    if (isGone(res)) return undefined;
    const ids = new Set(updates.map((update) => update.update_id));
    this.unconfirmed.push(...this.queue.filter((update) => ids.has(update.update_id)));
    this.queue = this.queue.filter((update) => !ids.has(update.update_id));
    return updates.map((update) => structuredClone(update));
  }

  private waitForUpdates(ms: number, res: ServerResponse): Promise<"ready" | "timeout" | "gone"> {
    return new Promise((resolve, reject) => {
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        res.off("close", onClose);
        if (this.poll === waiter) this.poll = undefined;
        settle();
      };
      // res (not req) "close": req's fires as soon as the body has been read.
      const onClose = (): void => finish(() => resolve("gone"));
      const timer = setTimeout(() => finish(() => resolve("timeout")), ms);
      const waiter: PollWaiter = {
        wake: () => finish(() => resolve("ready")),
        terminate: (error) => finish(() => reject(error)),
        gone: onClose,
      };
      this.poll = waiter;
      res.on("close", onClose);
      if (isGone(res)) onClose();
    });
  }

  private dropPending(): void {
    this.queue = [];
    this.unconfirmed = [];
  }

  private kick(): void {
    if (this.pumping || this.closed || this.webhook === undefined || this.queue.length === 0)
      return;
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
      this.kick();
    });
  }

  private async pump(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      const hook = this.webhook;
      const head = this.queue[0];
      if (hook === undefined || head === undefined) return;
      if (this.env.isDown()) {
        await this.pause(undefined);
        continue;
      }
      const error = await this.post(hook, head);
      if (error === undefined) {
        this.settle(head);
        failures = 0;
        continue;
      }
      hook.lastErrorDate = Math.floor(Date.now() / 1000);
      hook.lastErrorMessage = error;
      failures += 1;
      await this.pause(this.env.time.scale(Math.min(1000 * 2 ** (failures - 1), MAX_BACKOFF_MS)));
    }
  }

  private settle(update: TgUpdate): void {
    const index = this.queue.indexOf(update);
    if (index >= 0) this.queue.splice(index, 1);
    this.delivered.set(update.update_id, update);
    if (this.delivered.size > MAX_REMEMBERED) {
      const oldest = this.delivered.keys().next();
      if (oldest.done !== true) this.delivered.delete(oldest.value);
    }
  }

  /** Waits `ms` (or until woken when undefined); setWebhook, up and close wake it early. */
  private pause(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakePump = () => {
        this.wakePump = undefined;
        done();
      };
    });
  }

  /** Returns the failure as Telegram words it in last_error_message, or undefined on 2xx. */
  private async post(hook: Webhook, update: TgUpdate): Promise<string | undefined> {
    const controller = new AbortController();
    this.inFlight = controller;
    const timer = setTimeout(() => controller.abort(), this.env.webhookTimeoutMs);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (hook.secretToken !== undefined)
      headers["x-telegram-bot-api-secret-token"] = hook.secretToken;
    try {
      // setWebhook admits HTTPS only; the receiver's certificate must be one Telegram trusts.
      const response = await requestHttps(hook.url, {
        method: "POST",
        headers,
        body: JSON.stringify(update),
        ca: this.env.trustedCertificates,
        signal: controller.signal,
      });
      if (response.status >= 200 && response.status < 300) return undefined;
      return `Wrong response from the webhook: ${response.status} ${response.statusText}`.trim();
    } catch (error) {
      return describeNetworkError(error, controller.signal.aborted);
    } finally {
      clearTimeout(timer);
      this.inFlight = undefined;
    }
  }
}

function isGone(res: ServerResponse): boolean {
  return res.closed || res.destroyed || res.socket?.destroyed === true;
}

function describeNetworkError(error: unknown, timedOut: boolean): string {
  if (timedOut) return "Read timeout expired";
  const code = (error as { code?: unknown } | undefined)?.code;
  switch (code) {
    case "ECONNREFUSED":
      return "Connection refused";
    case "ECONNRESET":
    case "UND_ERR_SOCKET":
      return "Connection reset by peer";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "Failed to resolve host: Name or service not known";
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return "SSL error {error:0A000086:SSL routines::certificate verify failed}";
    default:
      return "Connection failed";
  }
}
