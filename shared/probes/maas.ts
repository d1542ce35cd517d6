import { performance } from "node:perf_hooks";
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from "openai";
import {
  AnswerTooLargeError,
  BODY_LIMITS,
  boundedFetch,
  tooLargeIn,
} from "../runtime/bounded-body";
import { elapsedSince, networkReason, safeDetail, withOneRetry } from "./http";
import type { MaasResult } from "./types";

export interface MaasProbeOptions {
  /** The OpenAI-compatible base, e.g. `https://api.modelarts-maas.com/v1`. */
  baseUrl: string;
  apiKey: string;
  model: string;
  timeoutMs: number;
  retryDelayMs: number;
  /** Also run a tiny real chat completion (costs a few tokens). */
  completion: boolean;
}

type Verdict = Omit<MaasResult, "latencyMs">;
type Step = MaasResult["checked"];

export const MAAS_HINTS = {
  key: "check the MaaS API key",
  baseUrl:
    "the base URL must not end in /chat/completions; use the API URL from the MaaS console without it",
  model: "check the model id",
} as const;

/** A one-word prompt and a four-token cap: proof of life at the smallest price. */
const PING = { content: "ping", maxTokens: 4 } as const;

/**
 * `GET {base}/models` on every call (free); a tiny chat completion when asked to, when /models is
 * not offered (404), or when /models does not list the model. Never throws.
 *
 * Retried once only when `down`: 401/403/404 are deterministic, and a 429 asked us to slow down,
 * so a second request half a second later would only add to the load that caused it.
 */
export async function probeMaas(options: MaasProbeOptions): Promise<MaasResult> {
  return withOneRetry(
    () => attempt(options),
    (result) => result.status === "down",
    options.retryDelayMs,
  );
}

async function attempt(options: MaasProbeOptions): Promise<MaasResult> {
  const started = performance.now();
  let verdict: Verdict;
  try {
    const client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseUrl,
      maxRetries: 0,
      timeout: options.timeoutMs,
      logLevel: "off",
      // The client reads bodies itself: this cuts any answer off past the cap.
      fetch: boundedFetch(BODY_LIMITS.maas),
    });
    verdict = await check(client, options);
  } catch (error) {
    verdict = classify(error, "models", options);
  }
  return {
    ...verdict,
    detail: safeDetail(verdict.detail, [options.apiKey]),
    latencyMs: elapsedSince(started),
  };
}

async function check(client: OpenAI, options: MaasProbeOptions): Promise<Verdict> {
  let models: string[];
  try {
    models = await listModels(client, options.timeoutMs);
  } catch (error) {
    // A 404 is either a deployment without /models or a wrong base URL: a completion tells which.
    if (error instanceof NotFoundError) return complete(client, options, "/models not offered");
    return classify(error, "models", options);
  }
  if (options.completion) {
    return complete(client, options, `/models lists ${models.length} model(s)`);
  }
  if (!models.includes(options.model)) {
    return complete(client, options, `/models does not list ${options.model}`);
  }
  return { status: "ok", detail: `/models lists ${options.model}`, checked: "models" };
}

async function listModels(client: OpenAI, timeoutMs: number): Promise<string[]> {
  // The signal bounds the body too; the client's own timeout stops at the headers.
  const page = await client.models.list({ signal: AbortSignal.timeout(timeoutMs) });
  const data: unknown = page.data;
  if (!Array.isArray(data)) throw new NotAnOpenAiApiError();
  return data
    .map((item: unknown) => (item as { id?: unknown }).id)
    .filter((id): id is string => typeof id === "string");
}

async function complete(client: OpenAI, options: MaasProbeOptions, why: string): Promise<Verdict> {
  try {
    const reply = await client.chat.completions.create(
      {
        model: options.model,
        messages: [{ role: "user", content: PING.content }],
        max_tokens: PING.maxTokens,
      },
      { signal: AbortSignal.timeout(options.timeoutMs) },
    );
    if (!Array.isArray(reply.choices)) throw new NotAnOpenAiApiError();
    const tokens = reply.usage?.total_tokens;
    const used = typeof tokens === "number" ? `, ${tokens} tokens` : "";
    return { status: "ok", detail: `${why}; completion answered${used}`, checked: "completion" };
  } catch (error) {
    return classify(error, "completion", options);
  }
}

class NotAnOpenAiApiError extends Error {}

/**
 * The OpenAI client reads an error answer's body with `.text().catch(e => e.message)`, so a
 * capped error body reaches us only as the message of an APIError.
 */
function tooLargeText(error: unknown): AnswerTooLargeError | undefined {
  if (!(error instanceof APIError) || !/answer too large/.test(error.message)) return undefined;
  return new AnswerTooLargeError(BODY_LIMITS.maas, error.status);
}

function classify(error: unknown, checked: Step, options: MaasProbeOptions): Verdict {
  const what = checked === "models" ? "/models" : "the completion";
  const tooLarge = tooLargeIn(error) ?? tooLargeText(error);
  if (tooLarge) {
    // Not the OpenAI API's answer at that size: a 5xx is MaaS failing, else the URL is wrong.
    return tooLarge.status !== undefined && tooLarge.status >= 500
      ? down(checked, `${what}: ${tooLarge.message}`, false)
      : {
          status: "not-found",
          detail: `${what}: ${tooLarge.message}`,
          hint: MAAS_HINTS.baseUrl,
          checked,
        };
  }
  if (
    error instanceof APIConnectionTimeoutError ||
    error instanceof APIUserAbortError ||
    (error instanceof Error && error.name === "TimeoutError")
  ) {
    return down(checked, `no answer to ${what} within ${options.timeoutMs} ms`, true);
  }
  if (error instanceof APIConnectionError) {
    const reason = networkReason(error, options.timeoutMs) ?? "connection failed";
    return down(checked, `${what}: ${reason}`, true);
  }
  if (error instanceof AuthenticationError || error instanceof PermissionDeniedError) {
    return { status: "auth", detail: answered(error, what), hint: MAAS_HINTS.key, checked };
  }
  if (error instanceof NotFoundError) return notFound(error, checked, what, options);
  if (error instanceof RateLimitError) {
    const after = error.headers?.get("retry-after");
    const wait = after ? ` (retry after ${after} s)` : "";
    return { status: "rate-limited", detail: `${answered(error, what)}${wait}`, checked };
  }
  if (error instanceof APIError && typeof error.status === "number") {
    if (error.status >= 500 || error.status === 408) {
      return down(checked, answered(error, what), false);
    }
    // 400/422: MaaS refused the request itself, most often for a model it does not serve.
    return {
      status: "not-found",
      detail: answered(error, what),
      hint: `${MAAS_HINTS.model} and the base URL`,
      checked,
    };
  }
  const invalidUrl = error instanceof TypeError && /invalid url/i.test(error.message);
  if (error instanceof NotAnOpenAiApiError || error instanceof SyntaxError || invalidUrl) {
    return {
      status: "not-found",
      detail: invalidUrl
        ? "the base URL is not a valid URL"
        : `${what} answered something that is not the OpenAI API`,
      hint: MAAS_HINTS.baseUrl,
      checked,
    };
  }
  const reason = error instanceof Error ? error.message : String(error);
  return down(checked, `${what} failed: ${reason}`, false);
}

function notFound(
  error: NotFoundError,
  checked: Step,
  what: string,
  options: MaasProbeOptions,
): Verdict {
  const modelMissing =
    error.code === "model_not_found" ||
    /model\b.*\b(not found|not exist|does not exist)/i.test(error.message);
  if (modelMissing) {
    return {
      status: "not-found",
      detail: `${answered(error, what)} (model ${options.model})`,
      hint: MAAS_HINTS.model,
      checked,
    };
  }
  const endsWrong = /\/chat\/completions\/?$/.test(options.baseUrl);
  return {
    status: "not-found",
    detail: endsWrong
      ? `${answered(error, what)}: the base URL ends in /chat/completions`
      : answered(error, what),
    hint: MAAS_HINTS.baseUrl,
    checked,
  };
}

function answered(error: APIError, what: string): string {
  return `MaaS answered ${what} with ${error.message}`;
}

function down(checked: Step, detail: string, unreachable: boolean): Verdict {
  return unreachable
    ? { status: "down", detail, checked, unreachable: true }
    : { status: "down", detail, checked };
}
