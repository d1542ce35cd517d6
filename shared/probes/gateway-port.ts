import * as z from "zod/mini";
import type { BoxConfig } from "../config";
import { type GatewayProbeOptions, probeGateway } from "./gateway";
import { safeDetail } from "./http";
import { GATEWAY_STATUSES, type GatewayResult, type ProbeError } from "./types";

/**
 * Where the watchdog gets one box's gateway verdict. Deployed, from the gateway-probe function
 * (the only one with VPC access, so the watchdog keeps its public network and needs no NAT
 * gateway); locally and in tests of the pure cycle, by asking the gateway directly. Never throws:
 * a probe that could not run is a ProbeError, a watchdog-side problem, never the box's.
 */
export type GatewayProbe = (box: BoxConfig) => Promise<GatewayResult | ProbeError>;

export type GatewayTimings = Pick<GatewayProbeOptions, "timeoutMs" | "retryDelayMs">;

/** The same probe, from this process (it must have a route to the gateway). */
export function directGatewayProbe(timings: GatewayTimings): GatewayProbe {
  return (box) => probeGateway({ url: box.gateway.url, token: box.gateway.token, ...timings });
}

/** What the watchdog sends the probe function: which box, at which URL (its config must agree). */
export interface GatewayProbeRequest {
  box: string;
  url: string;
}

/**
 * Sends one request to the probe function and returns its handler's result as text; throws
 * (with a message that says what to do) when the invocation itself failed.
 */
export type ProbeInvoker = (request: GatewayProbeRequest) => Promise<string>;

/** A gateway result is a few hundred bytes; anything much larger is no answer of ours. */
export const MAX_PROBE_ANSWER_CHARS = 16 * 1024;
const MAX_LATENCY_MS = 15 * 60_000;
const MAX_UPTIME_MS = 366 * 24 * 3_600_000;

/** The probe function's answer, checked field by field: it crossed a process and a network. */
const answerSchema = z.object({
  status: z.enum(GATEWAY_STATUSES),
  latencyMs: z.number().check(z.gte(0), z.lte(MAX_LATENCY_MS)),
  detail: z.string().check(z.maxLength(2000)),
  failing: z.array(z.string().check(z.maxLength(200))).check(z.maxLength(50)),
  unreachable: z.optional(z.boolean()),
  httpStatus: z.optional(z.int().check(z.gte(100), z.lte(599))),
  uptimeMs: z.optional(z.int().check(z.gte(0), z.lte(MAX_UPTIME_MS))),
  startedAt: z.optional(z.number().check(z.gte(0))),
  refused: z.optional(z.boolean()),
});

/** The gateway verdict through the probe function; every way that fails is a ProbeError. */
export function invokedGatewayProbe(
  functionName: string,
  invoker: () => Promise<ProbeInvoker>,
): GatewayProbe {
  return async (box) => {
    let text: string;
    try {
      const invoke = await invoker();
      text = await invoke({ box: box.name, url: box.gateway.url });
    } catch (error) {
      return probeError(functionName, (error as Error).message ?? String(error), [
        box.gateway.token,
      ]);
    }
    return parseProbeAnswer(functionName, text, box.gateway.token);
  };
}

/** The probe function's result text as a GatewayResult, or why it is none. */
export function parseProbeAnswer(
  functionName: string,
  text: string,
  token: string,
): GatewayResult | ProbeError {
  if (text.length > MAX_PROBE_ANSWER_CHARS) {
    return probeError(
      functionName,
      `answer of ${text.length} characters, over the ${MAX_PROBE_ANSWER_CHARS} a gateway result takes`,
      [token],
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return probeError(functionName, "answer is not JSON: redeploy the function (infra deploy)", [
      token,
    ]);
  }
  const parsed = answerSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`)
      .join("; ");
    return probeError(
      functionName,
      `answer is not a gateway result (${where}): redeploy the function (infra deploy)`,
      [token],
    );
  }
  const { unreachable, httpStatus, uptimeMs, startedAt, refused, ...base } = parsed.data;
  const result: GatewayResult = { ...base, detail: safeDetail(base.detail, [token]) };
  if (unreachable !== undefined) result.unreachable = unreachable;
  if (httpStatus !== undefined) result.httpStatus = httpStatus;
  if (uptimeMs !== undefined) result.uptimeMs = uptimeMs;
  if (startedAt !== undefined) result.startedAt = startedAt;
  if (refused !== undefined) result.refused = refused;
  return result;
}

function probeError(functionName: string, reason: string, secrets: string[]): ProbeError {
  return {
    status: "error",
    detail: safeDetail(`gateway-probe function ${functionName}: ${reason}`, secrets),
  };
}
