import type { ApigEvent, ApigResult } from "../runtime/context";
import type { WebhookRequest, WebhookResponse } from "./webhook";

/**
 * FunctionGraph's APIG trigger: a base64 body and lower-case headers in, `{statusCode, headers,
 * body, isBase64Encoded}` out. Anything malformed becomes an empty request, which the gate
 * rejects; this never throws.
 */
export function requestFromApig(event: ApigEvent | null | undefined): WebhookRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event?.headers ?? {})) {
    if (typeof value === "string") headers[name.toLowerCase()] = value;
  }
  const raw = typeof event?.body === "string" ? event.body : "";
  // APIG sends base64 unless told otherwise; only an explicit false means plain text.
  const body =
    event?.isBase64Encoded === false ? Buffer.from(raw, "utf8") : Buffer.from(raw, "base64");
  return { method: event?.httpMethod ?? "POST", headers, body };
}

export function apigResult(response: WebhookResponse): ApigResult {
  return {
    statusCode: response.status,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(response.body),
    isBase64Encoded: false,
  };
}
