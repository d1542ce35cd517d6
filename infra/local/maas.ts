import type { IncomingMessage, ServerResponse } from "node:http";
import { type Listening, listen, sendJson } from "./http";
import { type ChatRequest, complete, completionBody, streamEvents } from "./maas-completion";
import {
  badRequest,
  injectedError,
  invalidKey,
  invalidUrl,
  type MaasError,
  missingKey,
  modelNotFound,
} from "./maas-errors";
import { ControlError, type LocalService, ServiceFaults, type TimeScale } from "./service";
import { safeEqual } from "./signing";

export interface MaasOptions {
  keys: string[];
  models: string[];
  port?: number;
  time: TimeScale;
}

export type MaasEndpoint = "models" | "chat";

export interface KeyUsage {
  index: number;
  /** Masked: never the whole key. */
  key: string;
  requests: number;
  chatCompletions: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface MaasUsage {
  endpoints: Record<MaasEndpoint | "other", number>;
  keys: KeyUsage[];
  totals: { promptTokens: number; completionTokens: number; totalTokens: number };
}

/** One request as the fake saw it; the key appears only as its index in `options.keys`. */
export interface MaasRequestRecord {
  time: string;
  method: string;
  path: string;
  endpoint: MaasEndpoint | null;
  keyIndex: number | null;
  model: string | null;
  stream: boolean | null;
  tools: number;
  bodyBytes: number;
  /** Null while held, or when the client left before an answer. */
  status: number | null;
}

interface StatusFault {
  status: number;
  remaining: number | undefined;
  endpoint: MaasEndpoint | undefined;
  retryAfter: number;
}

const INJECTABLE = new Set([401, 403, 404, 429, 500, 503]);
const MAX_REQUESTS = 500;
/** Pause between stream chunks (scaled), so a stream looks like one. */
const CHUNK_GAP_MS = 20;

/** Huawei ModelArts MaaS as an OpenAI-compatible endpoint at `<url>/v1`. */
export class MaasService implements LocalService {
  readonly name = "maas";
  private readonly faults = new ServiceFaults();
  private readonly open = new Set<ServerResponse>();
  private readonly releases = new Set<() => void>();
  private readonly log: MaasRequestRecord[] = [];
  private readonly endpointCounts: Record<MaasEndpoint | "other", number> = {
    models: 0,
    chat: 0,
    other: 0,
  };
  private readonly keyUsage: KeyUsage[];
  private statusFault: StatusFault | undefined;
  private slow: { ms: number; endpoint: MaasEndpoint | undefined } | undefined;
  private hanging = false;
  private modelsDisabled = false;
  private listening: Listening | undefined;
  private nextId = 1;

  constructor(private readonly options: MaasOptions) {
    if (options.keys.length === 0 || options.models.length === 0) {
      throw new Error("startMaas needs at least one key and one model");
    }
    this.keyUsage = options.keys.map((key, index) => ({
      index,
      key: mask(key),
      requests: 0,
      chatCompletions: 0,
      promptTokens: 0,
      completionTokens: 0,
      totalTokens: 0,
    }));
  }

  get url(): string {
    if (this.listening === undefined) throw new Error("the MaaS fake is not started");
    return this.listening.url;
  }

  async start(): Promise<void> {
    this.listening = await listen(
      (req, res, body) => this.handle(req, res, body),
      this.options.port,
    );
  }

  usage(): MaasUsage {
    const keys = this.keyUsage.map((usage) => ({ ...usage }));
    const sum = (pick: (usage: KeyUsage) => number): number =>
      keys.reduce((total, usage) => total + pick(usage), 0);
    return {
      endpoints: { ...this.endpointCounts },
      keys,
      totals: {
        promptTokens: sum((usage) => usage.promptTokens),
        completionTokens: sum((usage) => usage.completionTokens),
        totalTokens: sum((usage) => usage.totalTokens),
      },
    };
  }

  requests(): MaasRequestRecord[] {
    return this.log.map((record) => ({ ...record }));
  }

  async control(action: string, params: Record<string, unknown>): Promise<unknown> {
    if (this.faults.apply(action, params)) return { ok: true };
    switch (action) {
      case "status": {
        const status = Number(params.status);
        if (!INJECTABLE.has(status)) {
          throw new ControlError(
            `status must be one of ${[...INJECTABLE].join(", ")}; use "error" for others`,
          );
        }
        this.statusFault = {
          status,
          remaining: params.count === undefined ? undefined : Number(params.count),
          endpoint: endpointParam(params.endpoint),
          retryAfter: Number(params.retryAfter ?? 1),
        };
        return { ok: true };
      }
      case "slow":
        this.slow = { ms: Number(params.ms ?? 0), endpoint: endpointParam(params.endpoint) };
        return { ok: true };
      case "hang":
        this.hanging = true;
        return { ok: true };
      case "disable-models":
        this.modelsDisabled = true;
        return { ok: true };
      case "usage":
        return this.usage();
      case "requests":
        return this.requests();
      case "clear-usage":
        this.clearUsage();
        return { ok: true };
      default:
        throw new ControlError(
          `unknown maas action "${action}"; see infra/local/docs/maas.md`,
          404,
        );
    }
  }

  /** Clears faults; requests held by `hang` or `slow` go on and are answered normally. */
  reset(): void {
    this.faults.reset();
    this.statusFault = undefined;
    this.slow = undefined;
    this.hanging = false;
    this.modelsDisabled = false;
    for (const release of this.releases) release();
  }

  async close(): Promise<void> {
    this.hanging = false;
    for (const release of this.releases) release();
    for (const res of this.open) res.destroy();
    await this.listening?.close();
  }

  private clearUsage(): void {
    this.log.length = 0;
    for (const key of Object.keys(this.endpointCounts) as (MaasEndpoint | "other")[]) {
      this.endpointCounts[key] = 0;
    }
    for (const usage of this.keyUsage) {
      Object.assign(usage, {
        requests: 0,
        chatCompletions: 0,
        promptTokens: 0,
        completionTokens: 0,
        totalTokens: 0,
      });
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    this.open.add(res);
    res.on("close", () => this.open.delete(res));
    const method = req.method ?? "GET";
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const endpoint = classify(method, path);
    const record = this.record(method, path, endpoint, body.length);
    this.endpointCounts[endpoint ?? "other"] += 1;

    await this.delay(res, endpoint);
    if (isGone(res)) return;
    const failure = this.injectedFailure(endpoint, body) ?? this.check(req, path, endpoint, record);
    if (failure !== undefined) this.fail(res, record, failure);
    else if (endpoint === "models") this.answerModels(res, record, path);
    else await this.answerChatRequest(res, record, body);
  }

  private async answerChatRequest(
    res: ServerResponse,
    record: MaasRequestRecord,
    body: Buffer,
  ): Promise<void> {
    const chat = parseChat(body);
    if ("status" in chat) {
      this.fail(res, record, chat);
      return;
    }
    record.model = chat.model;
    record.stream = chat.stream;
    record.tools = chat.toolCount;
    if (this.options.models.includes(chat.model)) await this.answerChat(res, record, chat);
    else this.fail(res, record, modelNotFound(chat.model));
  }

  /** latency (all requests), then hang, then slow (optionally one endpoint). */
  private async delay(res: ServerResponse, endpoint: MaasEndpoint | undefined): Promise<void> {
    if (this.faults.latencyMs > 0) await this.hold(res, this.faults.latencyMs);
    while (this.hanging && !isGone(res)) await this.hold(res, undefined);
    const slow = this.slow;
    if (slow !== undefined && (slow.endpoint === undefined || slow.endpoint === endpoint)) {
      await this.hold(res, slow.ms);
    }
  }

  private injectedFailure(endpoint: MaasEndpoint | undefined, body: Buffer): MaasError | undefined {
    const forced = this.faults.takeForcedStatus();
    if (forced !== undefined) return injectedError(forced, modelOf(body), 1);
    const fault = this.statusFault;
    if (fault === undefined) return undefined;
    if (fault.endpoint !== undefined && fault.endpoint !== endpoint) return undefined;
    if (fault.remaining !== undefined) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.statusFault = undefined;
    }
    return injectedError(fault.status, modelOf(body), fault.retryAfter);
  }

  /** Route and key checks, in the order the real service applies them. */
  private check(
    req: IncomingMessage,
    path: string,
    endpoint: MaasEndpoint | undefined,
    record: MaasRequestRecord,
  ): MaasError | undefined {
    const method = req.method ?? "GET";
    if (endpoint === undefined) return invalidUrl(method, path);
    if (endpoint === "models" && this.modelsDisabled) return invalidUrl(method, path);
    const header = req.headers.authorization ?? "";
    const presented = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    if (presented === undefined || presented === "") return missingKey();
    const index = this.options.keys.findIndex((key) => safeEqual(key, presented));
    if (index < 0) return invalidKey();
    record.keyIndex = index;
    const usage = this.keyUsage[index];
    if (usage !== undefined) usage.requests += 1;
    return undefined;
  }

  private answerModels(res: ServerResponse, record: MaasRequestRecord, path: string): void {
    const created = 1_735_689_600;
    const model = (id: string) => ({ id, object: "model", created, owned_by: "huawei-maas" });
    const wanted = /^\/v1\/models\/(.+)$/.exec(path)?.[1];
    if (wanted === undefined) {
      record.status = 200;
      sendJson(res, 200, { object: "list", data: this.options.models.map(model) });
      return;
    }
    const id = decodeURIComponent(wanted);
    if (!this.options.models.includes(id)) {
      this.fail(res, record, modelNotFound(id));
      return;
    }
    record.status = 200;
    sendJson(res, 200, model(id));
  }

  private async answerChat(
    res: ServerResponse,
    record: MaasRequestRecord,
    chat: ChatRequest,
  ): Promise<void> {
    const completion = complete(chat, `chatcmpl-local-${this.nextId}`);
    this.nextId += 1;
    const usage = record.keyIndex === null ? undefined : this.keyUsage[record.keyIndex];
    if (usage !== undefined) {
      usage.chatCompletions += 1;
      usage.promptTokens += completion.usage.prompt_tokens;
      usage.completionTokens += completion.usage.completion_tokens;
      usage.totalTokens += completion.usage.total_tokens;
    }
    record.status = 200;
    if (!chat.stream) {
      sendJson(res, 200, completionBody(completion));
      return;
    }
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    for (const event of streamEvents(completion, chat.includeUsage)) {
      if (isGone(res)) return;
      res.write(`data: ${event}\n\n`);
      await this.hold(res, this.options.time.scale(CHUNK_GAP_MS));
    }
    res.end();
  }

  private fail(res: ServerResponse, record: MaasRequestRecord, failure: MaasError): void {
    record.status = failure.status;
    sendJson(res, failure.status, failure.body, failure.headers);
  }

  /**
   * Waits `ms` (or until released when undefined). Ends early when the client leaves,
   * on reset (for hang) and on close, so no timer outlives the service.
   */
  private hold(res: ServerResponse, ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const release = (): void => {
        clearTimeout(timer);
        res.off("close", release);
        this.releases.delete(release);
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(release, ms);
      this.releases.add(release);
      res.on("close", release);
      if (isGone(res)) release();
    });
  }

  private record(
    method: string,
    path: string,
    endpoint: MaasEndpoint | undefined,
    bodyBytes: number,
  ): MaasRequestRecord {
    const record: MaasRequestRecord = {
      time: new Date().toISOString(),
      method,
      path,
      endpoint: endpoint ?? null,
      keyIndex: null,
      model: null,
      stream: null,
      tools: 0,
      bodyBytes,
      status: null,
    };
    this.log.push(record);
    if (this.log.length > MAX_REQUESTS) this.log.shift();
    return record;
  }
}

export async function startMaas(options: MaasOptions): Promise<MaasService> {
  const service = new MaasService(options);
  await service.start();
  return service;
}

function classify(method: string, path: string): MaasEndpoint | undefined {
  if (method === "GET" && /^\/v1\/models(\/[^/]+)?$/.test(path)) return "models";
  if (method === "POST" && path === "/v1/chat/completions") return "chat";
  return undefined;
}

function endpointParam(value: unknown): MaasEndpoint | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === "models" || value === "chat") return value;
  throw new ControlError('endpoint must be "models" or "chat"');
}

function parseChat(body: Buffer): ChatRequest | MaasError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return badRequest(
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return badRequest("The request body must be a JSON object.");
  }
  const request = parsed as Record<string, unknown>;
  if (typeof request.model !== "string" || request.model === "") {
    return badRequest("you must provide a model parameter", "model");
  }
  if (!Array.isArray(request.messages) || request.messages.length === 0) {
    return badRequest("'messages' must be a non-empty array", "messages");
  }
  const options = request.stream_options as { include_usage?: unknown } | undefined;
  const limit = request.max_completion_tokens ?? request.max_tokens;
  return {
    model: request.model,
    messages: request.messages,
    stream: request.stream === true,
    includeUsage: options?.include_usage === true,
    maxTokens: typeof limit === "number" && limit > 0 ? limit : undefined,
    toolCount: Array.isArray(request.tools) ? request.tools.length : 0,
  };
}

function modelOf(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { model?: unknown };
    return typeof parsed.model === "string" ? parsed.model : "unknown";
  } catch {
    return "unknown";
  }
}

function isGone(res: ServerResponse): boolean {
  return res.closed || res.destroyed || res.socket?.destroyed === true;
}

function mask(key: string): string {
  return key.length <= 8 ? "***" : `${key.slice(0, 3)}…${key.slice(-4)}`;
}
