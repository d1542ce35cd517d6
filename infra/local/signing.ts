import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Credential, Iam } from "./iam";

/** Requests signed more than 15 minutes off the server clock are rejected, as on Huawei Cloud. */
export const MAX_SKEW_MS = 15 * 60_000;

export type AuthResult =
  | { ok: true; credential: Credential }
  | { ok: false; status: 401 | 403; code: string; message: string };

const sha256hex = (data: string | Buffer): string =>
  createHash("sha256").update(data).digest("hex");

/** RFC 3986 percent-encoding of UTF-8 bytes, as the Huawei SDK signer does. */
function encode(value: string): string {
  return Buffer.from(value, "utf8")
    .toString("binary")
    .replace(
      /[^A-Za-z0-9\-_.~]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`,
    );
}

function canonicalQuery(rawQuery: string): string {
  const params = new URLSearchParams(rawQuery);
  const pairs: string[] = [];
  for (const key of [...new Set(params.keys())].sort()) {
    for (const value of params.getAll(key).sort()) pairs.push(`${encode(key)}=${encode(value)}`);
  }
  return pairs.join("&");
}

function parseSdkDate(value: string | undefined): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? "");
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
}

/** The canonical request of SDK-HMAC-SHA256 (see reference/huawei-cloud-facts.md §3). */
export function sdkCanonicalRequest(
  method: string,
  url: string,
  headers: Record<string, string | string[] | undefined>,
  signedHeaders: string,
  body: Buffer,
): string {
  const [rawPath = "/", rawQuery = ""] = url.split("?");
  let uri = rawPath.split("/").map(encode).join("/");
  if (!uri.endsWith("/")) uri += "/";
  const canonicalHeaders = signedHeaders
    .split(";")
    .map((name) => `${name}:${headers[name] ?? ""}\n`)
    .join("");
  const contentSha = headers["x-sdk-content-sha256"];
  const payload = typeof contentSha === "string" ? contentSha : sha256hex(body);
  return [method, uri, canonicalQuery(rawQuery), canonicalHeaders, signedHeaders, payload].join(
    "\n",
  );
}

const unauthorized = (code: string, message: string): AuthResult => ({
  ok: false,
  status: 401,
  code,
  message,
});

/** Verifies an `SDK-HMAC-SHA256` request (ECS, FunctionGraph) like the API gateway does. */
export function verifySdkHmac(
  req: IncomingMessage,
  body: Buffer,
  iam: Iam,
  now = Date.now(),
): AuthResult {
  const m =
    /^SDK-HMAC-SHA256\s+Access=([^,]+),\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]+)$/.exec(
      req.headers.authorization ?? "",
    );
  if (!m)
    return unauthorized("APIGW.0301", "Incorrect IAM authentication information: no signature");
  const [, ak = "", signedHeaders = "", signature = ""] = m;
  const names = signedHeaders.split(";");
  if (!names.includes("host") || !names.includes("x-sdk-date")) {
    return unauthorized(
      "APIGW.0301",
      "Incorrect IAM authentication information: host and x-sdk-date must be signed",
    );
  }
  const date = parseSdkDate(req.headers["x-sdk-date"] as string | undefined);
  if (date === undefined || Math.abs(now - date) > MAX_SKEW_MS) {
    return unauthorized(
      "APIGW.0301",
      "Incorrect IAM authentication information: request time skewed (x-sdk-date)",
    );
  }
  const credential = iam.lookup(ak, now);
  if (!credential)
    return unauthorized("APIGW.0301", "Incorrect IAM authentication information: unknown AK");
  if (credential.securityToken !== undefined) {
    if (
      req.headers["x-security-token"] !== credential.securityToken ||
      !names.includes("x-security-token")
    ) {
      return unauthorized(
        "APIGW.0301",
        "Incorrect IAM authentication information: security token missing or wrong",
      );
    }
  }
  const canonical = sdkCanonicalRequest(
    req.method ?? "GET",
    req.url ?? "/",
    req.headers,
    signedHeaders,
    body,
  );
  const stringToSign = ["SDK-HMAC-SHA256", req.headers["x-sdk-date"], sha256hex(canonical)].join(
    "\n",
  );
  const expected = createHmac("sha256", credential.sk).update(stringToSign).digest("hex");
  if (!safeEqual(expected, signature)) {
    return unauthorized(
      "APIGW.0301",
      "Incorrect IAM authentication information: verify aksk signature fail",
    );
  }
  return { ok: true, credential };
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The JSON error body API Gateway returns for a failed IAM signature check. */
export function apigErrorBody(result: Extract<AuthResult, { ok: false }>, requestId: string) {
  return { error_msg: result.message, error_code: result.code, request_id: requestId };
}
