import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { AKSKSigner } from "@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner";
import { type HuaweiAuth, normaliseEndpoint } from "../../shared/cloud/huawei-sdk";
import { ClawwatchError } from "../../shared/errors";

/** A Huawei API answered outside the SDK (no SDK for it here, or the SDK drops what we need). */
export class SignedRequestError extends ClawwatchError {}

/** Where signed requests go: a service endpoint and the key that signs them. */
export interface SignedEndpoint {
  endpoint: string;
  auth: HuaweiAuth;
}

export interface SignedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/**
 * One SDK-HMAC-SHA256 request signed by the Huawei SDK's own signer, with the headers the SDK
 * adds before signing (X-Project-Id, X-Security-Token): the APIG API has no SDK in this
 * repository, and FunctionGraph's sync invoke answers its log in a header the SDK drops.
 */
export async function signedRequest(
  target: SignedEndpoint,
  call: {
    method: "GET" | "POST";
    path: string;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    body?: unknown;
    timeoutMs: number;
  },
): Promise<SignedResponse> {
  const base = normaliseEndpoint(target.endpoint);
  const query = new URLSearchParams(call.query ?? {}).toString().replace(/\+/g, "%20");
  const url = `${base}${call.path}${query ? `?${query}` : ""}`;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "X-Project-Id": target.auth.projectId,
    ...(target.auth.securityToken ? { "X-Security-Token": target.auth.securityToken } : {}),
    ...call.headers,
  };
  const signed = AKSKSigner.sign(
    {
      endpoint: url,
      method: call.method,
      headers,
      queryParams: call.query ?? {},
      ...(call.body === undefined ? {} : { data: call.body }),
    },
    { getAk: () => target.auth.ak, getSk: () => target.auth.sk } as never,
  ) as Record<string, string>;
  const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
  return send(url, call.method, signed, payload, call.timeoutMs);
}

function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  payload: string | undefined,
  timeoutMs: number,
): Promise<SignedResponse> {
  const request = url.startsWith("https:") ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy(new SignedRequestError(`${method} ${hostOf(url)}: answer over 8 MB`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () =>
      req.destroy(new SignedRequestError(`${method} ${hostOf(url)}: no answer in ${timeoutMs} ms`)),
    );
    req.on("error", (cause) =>
      reject(
        cause instanceof SignedRequestError
          ? cause
          : new SignedRequestError(`${method} ${hostOf(url)} failed: ${cause.message}`, { cause }),
      ),
    );
    req.end(payload);
  });
}

function hostOf(url: string): string {
  return new URL(url).host;
}

/** `{error_code, error_msg}` or `{error: {code, message}}`, as Huawei APIs answer errors. */
export function apiErrorOf(text: string): { code: string; message: string } {
  try {
    const body = JSON.parse(text) as {
      error_code?: string;
      error_msg?: string;
      error?: { code?: string; message?: string };
    };
    return {
      code: body.error_code ?? body.error?.code ?? "",
      message: body.error_msg ?? body.error?.message ?? "",
    };
  } catch {
    return { code: "", message: text.slice(0, 200) };
  }
}
