import { createHmac } from "node:crypto";
import { isIP } from "node:net";

/**
 * Addressing and header signing for OBS, in the two spellings of the V2 scheme that OBS accepts
 * (reference §6; infra/local/obs-signing.ts verifies both):
 * - `Authorization: AWS ak:sig` with x-amz-* headers, path style `/<bucket>/<key>`: used on an IP
 *   endpoint (the local cloud), where no `<bucket>.<host>` name can resolve;
 * - `Authorization: OBS ak:sig` with x-obs-* headers, virtual-host style `<bucket>.<host>`: used on
 *   real endpoints such as `obs.<region>.myhuaweicloud.com`.
 * sig = base64(HMAC-SHA1(SK, VERB \n Content-MD5 \n Content-Type \n Date \n headers resource)).
 * The request is dated by x-amz-date / x-obs-date (Date then stays empty in the string to sign):
 * fetch treats `Date` as its own business, an x- header it sends as given.
 */
export type ObsScheme = "AWS" | "OBS";

export interface ObsEndpoint {
  readonly protocol: string;
  /** host[:port] of the configured server. */
  readonly host: string;
  readonly scheme: ObsScheme;
  readonly pathStyle: boolean;
}

export interface ObsCredentials {
  readonly ak: string;
  readonly sk: string;
  /** Temporary (agency) credentials only. */
  readonly securityToken?: string | undefined;
}

export interface ObsRequestSpec {
  readonly method: "GET" | "PUT" | "DELETE";
  readonly bucket: string;
  readonly key?: string;
  /** Plain (unsigned) parameters such as prefix, marker, max-keys; no sub-resources. */
  readonly query?: Readonly<Record<string, string>>;
  /** Vendor headers without their prefix, e.g. `{ "copy-source": "/b/k" }`. */
  readonly vendorHeaders?: Readonly<Record<string, string>>;
  readonly contentType?: string;
  readonly body?: string;
}

export interface SignedObsRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

export function endpointOf(server: URL): ObsEndpoint {
  const hostname = server.hostname.replace(/^\[|\]$/g, "");
  const pathStyle = isIP(hostname) !== 0 || hostname === "localhost";
  return {
    protocol: server.protocol,
    host: server.host,
    scheme: pathStyle ? "AWS" : "OBS",
    pathStyle,
  };
}

/**
 * Each path segment percent-encoded; `/` stays, as OBS keys use it for folders. `!'()*` are
 * encoded too (encodeURIComponent leaves them): esdk-obs-nodejs sends and signs them as
 * %21%27%28%29%2A, so a key with them has the same canonical resource as the official SDK's
 * (test/contract/obs-signature.test.ts; infra/local/docs/contracts.md).
 */
export function encodeKey(key: string): string {
  return key
    .split("/")
    .map((segment) =>
      encodeURIComponent(segment).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join("/");
}

export function signRequest(
  endpoint: ObsEndpoint,
  spec: ObsRequestSpec,
  credentials: ObsCredentials,
  now: Date = new Date(),
): SignedObsRequest {
  const key = spec.key === undefined ? "" : encodeKey(spec.key);
  const base = endpoint.pathStyle
    ? `${endpoint.protocol}//${endpoint.host}/${spec.bucket}${key === "" ? "" : `/${key}`}`
    : `${endpoint.protocol}//${spec.bucket}.${endpoint.host}/${key}`;
  const query = Object.entries(spec.query ?? {})
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join("&");
  const url = new URL(query === "" ? base : `${base}?${query}`);
  // Signed as the URL parser will send it, so an encoding quirk cannot break the signature.
  const resource = endpoint.pathStyle ? url.pathname : `/${spec.bucket}${url.pathname}`;

  const prefix = endpoint.scheme === "OBS" ? "x-obs-" : "x-amz-";
  const vendor: Record<string, string> = { [`${prefix}date`]: now.toUTCString() };
  if (credentials.securityToken) vendor[`${prefix}security-token`] = credentials.securityToken;
  for (const [name, value] of Object.entries(spec.vendorHeaders ?? {})) {
    vendor[`${prefix}${name.toLowerCase()}`] = value;
  }
  const canonicalHeaders = Object.keys(vendor)
    .sort()
    .map((name) => `${name}:${(vendor[name] ?? "").trim()}\n`)
    .join("");
  const stringToSign = [
    spec.method,
    "",
    spec.contentType ?? "",
    "",
    `${canonicalHeaders}${resource}`,
  ].join("\n");
  const signature = createHmac("sha1", credentials.sk)
    .update(stringToSign, "utf8")
    .digest("base64");

  return {
    url: url.href,
    method: spec.method,
    headers: {
      ...vendor,
      ...(spec.contentType === undefined ? {} : { "content-type": spec.contentType }),
      authorization: `${endpoint.scheme} ${credentials.ak}:${signature}`,
    },
    ...(spec.body === undefined ? {} : { body: spec.body }),
  };
}
