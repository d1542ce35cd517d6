import { performance } from "node:perf_hooks";
import type { Compute, ServerInfo } from "../cloud/compute";
import { causeChain, elapsedSince, errorCode, isNetworkCode, safeDetail, sleep } from "./http";
import { type ProbeError, SERVER_STATUSES, type ServerResult, type ServerStatus } from "./types";

export interface ServerProbeOptions {
  /** Our own bound on the call (the SDK client has its own timeout too). Default: none. */
  timeoutMs?: number;
  /** Pause before the one retry of a 5xx or network failure. Default 500 ms. */
  retryDelayMs?: number;
}

const DEFAULT_RETRY_DELAY_MS = 500;

/**
 * ECS ShowServer through the Compute port. Any failure is the watchdog's own problem, never the
 * box's: it comes back as a ProbeError (`unreachable` when the API could not be reached at all).
 * A 5xx or a network failure is retried once; 4xx answers (unknown server, no permission,
 * throttling) are not: asking again within the second changes nothing.
 */
export async function probeServer(
  compute: Compute,
  serverId: string,
  options: ServerProbeOptions = {},
): Promise<ServerResult | ProbeError> {
  const first = await attempt(compute, serverId, options.timeoutMs);
  if (first.status !== "error" || !first.retryable) return strip(first);
  await sleep(options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);
  const second = await attempt(compute, serverId, options.timeoutMs);
  return second.status === "error"
    ? strip({ ...second, detail: `${second.detail} (2 attempts)` })
    : { ...second, detail: `${second.detail} (first attempt failed)` };
}

type Failure = ProbeError & { retryable: boolean };

function strip(result: ServerResult | Failure): ServerResult | ProbeError {
  if (result.status !== "error") return result;
  const { retryable: _, ...error } = result;
  return error;
}

async function attempt(
  compute: Compute,
  serverId: string,
  timeoutMs: number | undefined,
): Promise<ServerResult | Failure> {
  const started = performance.now();
  try {
    const info = await bounded(compute.showServer(serverId), timeoutMs);
    return describe(info, elapsedSince(started));
  } catch (error) {
    return failure(error, serverId);
  }
}

function describe(info: ServerInfo, latencyMs: number): ServerResult {
  const raw = String(info.status);
  const status = (SERVER_STATUSES as readonly string[]).includes(raw)
    ? (raw as ServerStatus)
    : "UNKNOWN";
  const task = info.taskState ? ` (task: ${info.taskState})` : "";
  const shown = status === "UNKNOWN" ? `status ${raw}` : status;
  const result: ServerResult = { status, latencyMs, detail: safeDetail(`server ${shown}${task}`) };
  if (info.taskState) result.taskState = info.taskState;
  return result;
}

class ServerProbeTimeout extends Error {}

function bounded<T>(work: Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (timeoutMs === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ServerProbeTimeout()), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function failure(error: unknown, serverId: string): Failure {
  if (error instanceof ServerProbeTimeout) {
    return {
      status: "error",
      detail: "ECS ShowServer: no answer in time",
      unreachable: true,
      retryable: true,
    };
  }
  const status = httpStatus(error);
  const unreachable = status === undefined && looksLikeNetwork(error);
  const reason = error instanceof Error ? error.message : String(error);
  // The ECS adapter's messages already name the call; others get that context added.
  const said = /^ECS\b/.test(reason) ? reason : `ECS ShowServer failed: ${reason}`;
  const what =
    status === 404
      ? `ECS does not know server ${serverId}: check serverId in the config`
      : `${said}${status === undefined ? "" : ` (HTTP ${status})`}`;
  const result: Failure = {
    status: "error",
    detail: safeDetail(what),
    retryable: status === undefined || status >= 500,
  };
  if (unreachable) result.unreachable = true;
  return result;
}

/** The HTTP status anywhere in the chain: the SDK's `httpStatusCode`, or a plain `status`. */
function httpStatus(error: unknown): number | undefined {
  for (const item of causeChain(error)) {
    const record = item as { httpStatusCode?: unknown; status?: unknown; statusCode?: unknown };
    for (const value of [record.httpStatusCode, record.statusCode, record.status]) {
      if (typeof value === "number" && value >= 100 && value < 600) return value;
    }
  }
  return undefined;
}

/**
 * The Huawei SDK turns a network failure into an exception without a status whose message is
 * axios's ("connect ECONNREFUSED …", "timeout of 8000ms exceeded"); other stacks carry a code.
 */
function looksLikeNetwork(error: unknown): boolean {
  if (isNetworkCode(errorCode(error))) return true;
  return causeChain(error).some((item) => {
    const record = item as { message?: unknown; errorMsg?: unknown };
    const text = `${String(record.message ?? "")} ${String(record.errorMsg ?? "")}`;
    return /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|socket hang up|timeout of \d+ms exceeded|network error/i.test(
      text,
    );
  });
}
