/**
 * A synchronous InvokeFunction of one function with the caller's agency key; the watchdog's
 * ProbeInvoker (shared/probes/gateway-port.ts) for the gateway-probe function. It knows no probe
 * types, so cloud stays below probes. Loaded lazily (`import("./fgs-invoke.lazy")`) and bundled
 * as its own chunk by build.mjs, with deep imports so only the client and the one request model
 * come along.
 */
import { FunctionGraphClient } from "@huaweicloud/huaweicloud-sdk-functiongraph/v2/FunctionGraphClient";
import { FunctionGraphRegion } from "@huaweicloud/huaweicloud-sdk-functiongraph/v2/FunctionGraphRegion";
import { InvokeFunctionRequest } from "@huaweicloud/huaweicloud-sdk-functiongraph/v2/model/InvokeFunctionRequest";
import { ClawwatchError } from "../errors";
import { clip } from "../text/clip";
import { functionUrn } from "./fgs-urn";
import { buildSdkClient, type HuaweiAuth } from "./huawei-sdk";

/** The function could not be invoked, or its invocation failed. */
export class FunctionInvokeError extends ClawwatchError {}

/** Sends one event to the function and returns its handler's result as text. */
export type FunctionInvoker = (event: object) => Promise<string>;

export interface FunctionInvokerOptions {
  auth: HuaweiAuth;
  region: string;
  endpoint?: string;
  functionName: string;
  /** The whole invoke, the function's own run included. */
  timeoutMs: number;
  /** The most an answer (v1 envelope included) may take; more is no answer of the function's. */
  maxAnswerBytes: number;
}

/** The v1 answer (X-CFF-Request-Version: v1): the handler's result as text and its status. */
interface InvokeAnswerJson {
  result?: unknown;
  status?: unknown;
}

export function createFunctionInvoker(options: FunctionInvokerOptions): FunctionInvoker {
  const client = buildSdkClient(
    "FunctionGraph",
    FunctionGraphClient.newBuilder(),
    {
      auth: options.auth,
      timeoutMs: options.timeoutMs,
      maxBodyBytes: options.maxAnswerBytes,
      ...(options.endpoint ? { endpoint: options.endpoint } : { region: options.region }),
    },
    FunctionGraphRegion,
    options.timeoutMs,
  );
  const urn = functionUrn({
    region: options.region,
    projectId: options.auth.projectId,
    name: options.functionName,
  });
  return async (event: object) => {
    let answer: InvokeAnswerJson;
    try {
      answer = (await client.invokeFunction(
        new InvokeFunctionRequest()
          .withFunctionUrn(urn)
          .withXCFFRequestVersion("v1")
          .withBody(event as Record<string, object>),
      )) as unknown as InvokeAnswerJson;
    } catch (error) {
      throw new FunctionInvokeError(invokeFailure(error));
    }
    if (answer === null || typeof answer !== "object" || typeof answer.result !== "string") {
      throw new FunctionInvokeError("the invoke answer has no result text (not the v1 format)");
    }
    if (answer.status !== 200) {
      throw new FunctionInvokeError(`the function failed: ${functionError(answer.result)}`);
    }
    return answer.result;
  };
}

/** What went wrong with the call, and what to do about it. */
function invokeFailure(error: unknown): string {
  const e = error as {
    httpStatusCode?: unknown;
    errorCode?: unknown;
    errorMsg?: unknown;
    message?: unknown;
  };
  const status = Number(e.httpStatusCode);
  const code = typeof e.errorCode === "string" ? ` ${e.errorCode}` : "";
  if (status === 404) return `not found (HTTP 404${code}): deploy it with infra deploy`;
  if (status === 429)
    return `throttled (HTTP 429${code}): FunctionGraph refused the invoke for now`;
  if (status === 401 || status === 403) {
    return `refused (HTTP ${status}${code}): the agency needs functiongraph:function:invoke on this function (infra/iam/README.md)`;
  }
  if (Number.isFinite(status) && status > 0) return `invoke failed (HTTP ${status}${code})`;
  const message = typeof e.message === "string" ? e.message : String(error);
  return /timeout|timed out/i.test(message)
    ? "no answer in time (the invoke timed out)"
    : `FunctionGraph unreachable: ${message}`;
}

/** The runtime's error text ({"errorMessage", "errorType"}) in one short line. */
function functionError(result: string): string {
  try {
    const parsed = JSON.parse(result) as { errorMessage?: unknown; errorType?: unknown };
    if (typeof parsed.errorMessage === "string") {
      const type = typeof parsed.errorType === "string" ? `${parsed.errorType}: ` : "";
      return clip(`${type}${parsed.errorMessage}`, 300);
    }
  } catch {
    // Not the runtime's JSON: the text itself, shortened.
  }
  return clip(result, 300);
}
