import { createHmac } from "node:crypto";
import type { Credential, Iam } from "./iam";
import { MAX_SKEW_MS, safeEqual } from "./signing";

/**
 * OBS header authentication, V2 style, in its two spellings:
 * `Authorization: AWS ak:sig` with x-amz-* headers and `Authorization: OBS ak:sig` with x-obs-*.
 * sig = base64(HMAC-SHA1(SK, StringToSign)), where StringToSign is
 * VERB \n Content-MD5 \n Content-Type \n Date \n <x-amz-/x-obs- headers> <canonical resource>.
 */
export type ObsScheme = "AWS" | "OBS";

/** Header values per lower-cased name, every occurrence kept (node's `req.headersDistinct`). */
export type DistinctHeaders = Record<string, string[] | undefined>;

export interface SignedRequest {
  readonly method: string;
  /** Path and query exactly as they came over the wire. */
  readonly url: string;
  readonly headers: DistinctHeaders;
  /** Virtual-host style: the bucket named by the Host header (the resource then starts with it). */
  readonly hostBucket?: string;
}

export type ObsAuthResult =
  | { ok: true; credential: Credential; scheme: ObsScheme }
  | {
      ok: false;
      status: 400 | 403;
      code: string;
      message: string;
      /** Extra elements for the error XML (e.g. RequestTime and ServerTime when skewed). */
      details?: Record<string, string>;
    };

/**
 * Query parameters that belong to the canonical resource (OBS API reference, "Authentication
 * of Signature in a Header"; the same list esdk-obs-nodejs signs). Everything else (prefix,
 * marker, max-keys, …) is left out of the signature.
 */
export const SIGNED_SUB_RESOURCES: ReadonlySet<string> = new Set([
  "acl",
  "append",
  "attname",
  "backtosource",
  "bucketstatus",
  "cors",
  "customdomain",
  "delete",
  "deletebucket",
  "directcoldaccess",
  "encryption",
  "inventory",
  "length",
  "lifecycle",
  "location",
  "logging",
  "metadata",
  "mirrorbacktosource",
  "modify",
  "name",
  "notification",
  "object-lock",
  "obsalias",
  "obsbucketalias",
  "obscompresspolicy",
  "obsworkflowtriggerpolicy",
  "partnumber",
  "policy",
  "policystatus",
  "position",
  "publicaccessblock",
  "quota",
  "rename",
  "replication",
  "requestpayment",
  "response-cache-control",
  "response-content-disposition",
  "response-content-encoding",
  "response-content-language",
  "response-content-type",
  "response-expires",
  "restore",
  "retention",
  "storageclass",
  "storageinfo",
  "storagepolicy",
  "tagging",
  "torrent",
  "truncate",
  "uploadid",
  "uploads",
  "versionid",
  "versioning",
  "versions",
  "website",
  "x-image-process",
  "x-image-save-bucket",
  "x-image-save-object",
  "x-obs-security-token",
  "x-oss-process",
  "x-workflow-execution-state",
  "x-workflow-execution-type",
  "x-workflow-graph-name",
  "x-workflow-limit",
  "x-workflow-next-marker",
  "x-workflow-prefix",
  "x-workflow-start",
  "x-workflow-template-name",
]);

const prefixOf = (scheme: ObsScheme): string => (scheme === "OBS" ? "x-obs-" : "x-amz-");

function first(headers: DistinctHeaders, name: string): string | undefined {
  return headers[name]?.[0];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `/bucket/key` as sent, then the signed sub-resources, sorted, values decoded. */
export function canonicalResource(url: string, hostBucket?: string): string {
  const queryAt = url.indexOf("?");
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const query = queryAt < 0 ? "" : url.slice(queryAt + 1);
  const resource = hostBucket === undefined ? path : `/${hostBucket}${path}`;
  const subResources = query
    .split("&")
    .filter((part) => part !== "")
    .sort()
    .flatMap((part) => {
      const eq = part.indexOf("=");
      const name = safeDecode(eq < 0 ? part : part.slice(0, eq));
      if (!SIGNED_SUB_RESOURCES.has(name.toLowerCase())) return [];
      const value = eq < 0 ? "" : safeDecode(part.slice(eq + 1));
      return [value === "" ? name : `${name}=${value}`];
    });
  return subResources.length === 0 ? resource : `${resource}?${subResources.join("&")}`;
}

export function stringToSign(request: SignedRequest, scheme: ObsScheme): string {
  const prefix = prefixOf(scheme);
  const hasOwnDate = request.headers[`${prefix}date`] !== undefined;
  const canonicalHeaders = Object.keys(request.headers)
    .map((name) => name.toLowerCase())
    .filter((name) => name.startsWith(prefix))
    .sort()
    .map((name) => `${name}:${(request.headers[name] ?? []).map((v) => v.trim()).join(",")}\n`)
    .join("");
  return [
    request.method,
    first(request.headers, "content-md5") ?? "",
    first(request.headers, "content-type") ?? "",
    hasOwnDate ? "" : (first(request.headers, "date") ?? ""),
    `${canonicalHeaders}${canonicalResource(request.url, request.hostBucket)}`,
  ].join("\n");
}

export function signV2(sk: string, text: string): string {
  return createHmac("sha1", sk).update(text, "utf8").digest("base64");
}

const denied = (
  status: 400 | 403,
  code: string,
  message: string,
  details?: Record<string, string>,
): ObsAuthResult => ({ ok: false, status, code, message, ...(details ? { details } : {}) });

/** Checks a request's Authorization header the way OBS does (order: key, token, clock, signature). */
export function verifyObsRequest(
  request: SignedRequest,
  iam: Iam,
  now = Date.now(),
): ObsAuthResult {
  const authorization = first(request.headers, "authorization");
  if (authorization === undefined) {
    return denied(403, "AccessDenied", "Access Denied: the request carries no signature.");
  }
  const m = /^(AWS|OBS) ([^:\s]+):(\S+)$/.exec(authorization);
  if (!m) {
    return denied(
      400,
      "InvalidArgument",
      "Authorization header is invalid: expected 'OBS <AK>:<signature>' or 'AWS <AK>:<signature>'.",
    );
  }
  const scheme = m[1] as ObsScheme;
  const ak = m[2] ?? "";
  const signature = m[3] ?? "";
  const prefix = prefixOf(scheme);
  const brand = scheme === "OBS" ? "OBS" : "AWS";

  const credential = iam.lookup(ak, now);
  if (!credential) {
    return denied(
      403,
      "InvalidAccessKeyId",
      `The ${brand} Access Key Id you provided does not exist in our records.`,
    );
  }
  const token = first(request.headers, `${prefix}security-token`);
  if (token !== credential.securityToken) {
    // A temporary AK without its token (or a token that does not belong to the AK) is unknown to OBS.
    return denied(403, "InvalidAccessKeyId", "The security token is invalid.");
  }

  const dateText =
    first(request.headers, `${prefix}date`) ?? first(request.headers, "date") ?? undefined;
  const date = dateText === undefined ? Number.NaN : Date.parse(dateText);
  if (Number.isNaN(date)) {
    return denied(
      403,
      "AccessDenied",
      `${brand} authentication requires a valid Date or ${prefix}date header`,
    );
  }
  if (Math.abs(now - date) > MAX_SKEW_MS) {
    return denied(
      403,
      "RequestTimeTooSkewed",
      "The difference between the request time and the server's time is too large.",
      {
        RequestTime: dateText ?? "",
        ServerTime: new Date(now).toISOString(),
        MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
      },
    );
  }

  const expected = signV2(credential.sk, stringToSign(request, scheme));
  if (!safeEqual(expected, signature)) {
    return denied(
      403,
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    );
  }
  return { ok: true, credential, scheme };
}
