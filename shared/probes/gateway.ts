import { performance } from "node:perf_hooks";
import {
  type AnswerTooLargeError,
  BODY_LIMITS,
  readBoundedText,
  tooLargeIn,
} from "../runtime/bounded-body";
import { formatDuration } from "../text/duration";
import { askedUrl, elapsedSince, networkReason, safeDetail, withOneRetry } from "./http";
import type { GatewayResult } from "./types";

export interface GatewayProbeOptions {
  /** The gateway root, e.g. `http://10.0.0.5:18789` (no path). */
  url: string;
  token: string;
  timeoutMs: number;
  retryDelayMs: number;
}

type Verdict = Omit<GatewayResult, "latencyMs">;

/** Readiness steps that only say "still starting" (reference/openclaw-gateway-facts.md §4b). */
const isStartupStep = (name: string): boolean => /^startup/i.test(name);

/** A 503 that names a channel is not worth an immediate second look; neither is a wrong URL. */
const RETRYABLE: ReadonlySet<GatewayResult["status"]> = new Set(["down", "booting"]);

/**
 * `GET {url}/readyz` with the gateway token, judged by the JSON body: the Control UI answers
 * any unknown path with 200 HTML, so a status code alone proves nothing. Never throws; never
 * sends X-Forwarded-For (the gateway answers proxied probes with 403).
 *
 * Retried once after `retryDelayMs` when down or booting. A `degraded` answer is the gateway's
 * own considered verdict (channel health is cached and checked over minutes), and
 * `misconfigured` is deterministic: neither is asked twice.
 */
export async function probeGateway(options: GatewayProbeOptions): Promise<GatewayResult> {
  return withOneRetry(
    () => attempt(options),
    (result) => RETRYABLE.has(result.status),
    options.retryDelayMs,
  );
}

async function attempt(options: GatewayProbeOptions): Promise<GatewayResult> {
  const started = performance.now();
  const verdict = await ask(options);
  const result: GatewayResult = {
    ...verdict,
    detail: safeDetail(verdict.detail, [options.token]),
    latencyMs: elapsedSince(started),
  };
  if (verdict.uptimeMs !== undefined) result.startedAt = Date.now() - verdict.uptimeMs;
  return result;
}

async function ask(options: GatewayProbeOptions): Promise<Verdict> {
  const url = `${options.url.replace(/\/+$/, "")}/readyz`;
  const where = askedUrl(url);
  let response: Response;
  let body: string;
  try {
    response = await fetch(url, {
      headers: { authorization: `Bearer ${options.token}`, accept: "application/json" },
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    // Inside the same signal: a gateway that sends headers and then hangs is still a hang.
    body = await readBoundedText(response, BODY_LIMITS.gateway);
  } catch (error) {
    const tooLarge = tooLargeIn(error);
    if (tooLarge) return oversized(tooLarge, where);
    return unreachable(error, where, options.timeoutMs);
  }
  return judge(response.status, response.headers.get("content-type") ?? "", body, where);
}

/**
 * A /readyz answer past the cap is no OpenClaw verdict: a 5xx one is the box failing, anything
 * else is something other than the gateway at that URL (a proxy, a file server) to look at.
 */
function oversized(error: AnswerTooLargeError, where: string): Verdict {
  const what = `${where}: ${error.message}`;
  return error.status !== undefined && error.status >= 500
    ? down(error.status, what)
    : misconfigured(`${what}; not an OpenClaw gateway answer: check gateway.url`, error.status);
}

function unreachable(error: unknown, where: string, timeoutMs: number): Verdict {
  if (error instanceof TypeError && /invalid url|failed to parse url/i.test(error.message)) {
    return misconfigured(`the gateway URL is not a valid URL: fix gateway.url`);
  }
  const reason = networkReason(error, timeoutMs) ?? "request failed";
  const hint =
    reason === "connection refused"
      ? ": is the gateway running and bound to this address?"
      : reason.startsWith("no answer")
        ? ": the gateway accepts connections but does not answer (hung?)"
        : "";
  const verdict: Verdict = {
    status: "down",
    detail: `${where}: ${reason}${hint}`,
    failing: [],
    unreachable: true,
  };
  return reason === "connection refused" ? { ...verdict, refused: true } : verdict;
}

function judge(status: number, contentType: string, text: string, where: string): Verdict {
  if (/html/i.test(contentType) || /^\s*<(!doctype|html)/i.test(text)) {
    return status >= 500
      ? down(status, `${where} answered ${status} with an HTML error page`)
      : misconfigured(
          `${where} answered ${status} HTML (the Control UI catch-all): gateway.url must be the gateway root on its port (http://<address>:18789, no path)`,
          status,
        );
  }
  const json = parseObject(text);
  if (status === 401) {
    return misconfigured(
      `${where} rejected the token (401): set gateway.token to the gateway's gateway.auth.token`,
      status,
    );
  }
  if (status === 403) {
    const proxied = errorType(json) === "proxy_attribution_required";
    return misconfigured(
      proxied
        ? `${where} refused the probe as proxied (403): something between the watchdog and the gateway adds X-Forwarded-For; probe it directly or set gateway.trustedProxies`
        : `${where} refused the probe (403): check gateway.token and the gateway's auth settings`,
      status,
    );
  }
  if (status === 404) {
    return misconfigured(
      `${where} answered 404: gateway.url points at something other than the OpenClaw gateway root`,
      status,
    );
  }
  if (json === undefined) {
    return status >= 500
      ? down(status, `${where} answered ${status} without JSON`)
      : misconfigured(`${where} answered ${status} without JSON: not an OpenClaw gateway?`, status);
  }
  if (status === 200 || status === 503) return readiness(status, json, where);
  if (status >= 500) return down(status, `${where} answered ${status}`);
  return misconfigured(`${where} answered ${status}: check gateway.url`, status);
}

/** Longest uptime believed (a year): a bigger or odd value is dropped, never trusted. */
const MAX_UPTIME_MS = 366 * 24 * 3_600_000;

function uptimeOf(json: Record<string, unknown>): number | undefined {
  const uptime = json.uptimeMs;
  return typeof uptime === "number" &&
    Number.isFinite(uptime) &&
    uptime >= 0 &&
    uptime <= MAX_UPTIME_MS
    ? Math.round(uptime)
    : undefined;
}

function readiness(status: number, json: Record<string, unknown>, where: string): Verdict {
  const verdict = readinessVerdict(status, json, where);
  const uptimeMs = uptimeOf(json);
  return uptimeMs === undefined ? verdict : { ...verdict, uptimeMs };
}

function readinessVerdict(status: number, json: Record<string, unknown>, where: string): Verdict {
  const ready = json.ready;
  const failing = stringList(json.failing);
  if (typeof ready !== "boolean") {
    // /startupz-shaped bodies ({"ok":false,"status":"starting"}) while the sidecars come up.
    if (json.status === "starting" || json.status === "draining") {
      return {
        status: "booting",
        detail: `gateway ${json.status}`,
        failing: [],
        httpStatus: status,
      };
    }
    return status === 503
      ? down(status, `${where} answered 503 without a readiness verdict`)
      : misconfigured(`${where} answered JSON without "ready": not an OpenClaw gateway?`, status);
  }
  if (failing === undefined) {
    // The gateway gives remote callers without a valid token only the bare verdict.
    return misconfigured(
      `${where} answered without readiness details (ready: ${ready}), so it did not accept the token: set gateway.token to the gateway's gateway.auth.token`,
      status,
    );
  }
  if (ready) return { status: "ok", detail: readyDetail(json), failing: [], httpStatus: status };
  if (failing.length > 0 && failing.every(isStartupStep)) {
    return {
      status: "booting",
      detail: `gateway starting (${failing.join(", ")})`,
      failing,
      httpStatus: status,
    };
  }
  const channels = failing.filter((name) => !isStartupStep(name));
  return {
    status: "degraded",
    detail:
      channels.length > 0
        ? `not ready: ${channels.join(", ")} failing`
        : "not ready, no reason given",
    failing,
    httpStatus: status,
  };
}

function readyDetail(json: Record<string, unknown>): string {
  const uptime = uptimeOf(json);
  return uptime === undefined ? "ready" : `ready (up ${formatDuration(uptime)})`;
}

function misconfigured(detail: string, httpStatus?: number): Verdict {
  return httpStatus === undefined
    ? { status: "misconfigured", detail, failing: [] }
    : { status: "misconfigured", detail, failing: [], httpStatus };
}

function down(httpStatus: number, detail: string): Verdict {
  return { status: "down", detail, failing: [], httpStatus };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function stringList(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.filter((item): item is string => typeof item === "string");
}

function errorType(json: Record<string, unknown> | undefined): unknown {
  const error = json?.error;
  return typeof error === "object" && error !== null
    ? (error as { type?: unknown }).type
    : undefined;
}
