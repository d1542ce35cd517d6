import { setTimeout as sleep } from "node:timers/promises";
import { ClawwatchError } from "../errors";
import {
  type AnswerTooLargeError,
  BODY_LIMITS,
  readBoundedText,
  tooLargeIn,
} from "../runtime/bounded-body";
import {
  encodeKey,
  endpointOf,
  type ObsCredentials,
  type ObsEndpoint,
  type ObsRequestSpec,
  signRequest,
} from "./obs-request";
import { xmlBlocks, xmlRootIs, xmlValue } from "./obs-xml";

/**
 * The few OBS object calls the state store needs, over Node's global fetch with our own V2/OBS
 * header signing (see obs-request.ts). It replaced esdk-obs-nodejs, which cost ~320 KB of bundle
 * and needed seven work-arounds; what they protected is kept here on purpose:
 * - every call retries network errors, timeouts, 5xx, 429 and 408, with a growing pause;
 * - each attempt (answer body included) is bounded by `timeoutSeconds`, and a timed-out request
 *   is aborted, not left open;
 * - the content type sent is the one asked for;
 * - nothing is logged, and no key, token or signature reaches an error message.
 */

export interface ObsClientOptions {
  /** OBS endpoint: `https://obs.<region>.myhuaweicloud.com`, or `http://127.0.0.1:<port>` locally. */
  readonly server: string;
  readonly ak: string;
  readonly sk: string;
  /** Present with temporary (agency) credentials. */
  readonly securityToken?: string;
  /** How long one attempt may take, answer included, in seconds (> 0). */
  readonly timeoutSeconds?: number;
  /** Extra attempts after a network error, a timeout, a 5xx, a 429 or a 408. */
  readonly maxRetryCount?: number;
  /** The pause before retry n is n times this. */
  readonly retryDelayMs?: number;
  /** Keys per listObjects page (1-1000); lower it only to exercise pagination. */
  readonly listPageSize?: number;
  /**
   * Longest answer body read, object or list page (default BODY_LIMITS.obs). A longer one is cut
   * off and fails with an ObsError of kind "too-large"; it is not retried.
   */
  readonly maxBodyBytes?: number;
  /**
   * Default: the global fetch. Tests pass one with their own dispatcher, e.g. to resolve
   * `<bucket>.obs.<domain>` to 127.0.0.1.
   */
  readonly fetch?: typeof fetch;
}

/**
 * A watchdog must not spend its whole function timeout on a dead OBS: with these, one call
 * gives up after about 2 x 5 s.
 */
export const OBS_CLIENT_DEFAULTS = {
  timeoutSeconds: 5,
  maxRetryCount: 1,
  retryDelayMs: 200,
  listPageSize: 1000,
} as const;

export type GetTextResult =
  | { found: true; text: string; etag: string; contentType: string }
  | { found: false };

export interface ObsClient {
  /** 404 NoSuchKey is `{ found: false }`; anything else but 200 throws ObsError. */
  getText(bucket: string, key: string): Promise<GetTextResult>;
  /** JSON by default; the object keeps the content type given. */
  putText(bucket: string, key: string, text: string, contentType?: string): Promise<void>;
  /** Every key under `prefix`, following pagination. */
  list(bucket: string, prefix: string): Promise<string[]>;
  /** Deleting a key that does not exist succeeds, as on OBS. */
  remove(bucket: string, key: string): Promise<void>;
  /** Copies `from` to `to` in the same bucket, content type and metadata included. */
  copy(bucket: string, from: string, to: string): Promise<void>;
  close(): void;
}

export type ObsErrorKind = "http" | "network" | "timeout" | "config" | "too-large";

export interface ObsErrorDetails {
  readonly kind: ObsErrorKind;
  readonly operation: string;
  readonly bucket?: string;
  readonly key?: string;
  readonly status?: number;
  readonly code?: string;
  readonly requestId?: string;
  readonly attempts?: number;
}

/**
 * An OBS call failed. The message says what to check and never carries a key or token. Under the
 * base error but not a StateStoreError: the store wraps it into one that names the state it was
 * reading or writing.
 */
export class ObsError extends ClawwatchError {
  readonly kind: ObsErrorKind;
  readonly operation: string;
  readonly bucket: string | undefined;
  readonly key: string | undefined;
  /** HTTP status, when OBS answered. */
  readonly status: number | undefined;
  /** OBS error code (NoSuchBucket, SignatureDoesNotMatch, …), when OBS answered with one. */
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  readonly attempts: number;

  constructor(message: string, details: ObsErrorDetails, options?: { cause?: unknown }) {
    super(message, options);
    // Spelled out: the bundles are minified, and the base takes the (then mangled) class name.
    this.name = "ObsError";
    this.kind = details.kind;
    this.operation = details.operation;
    this.bucket = details.bucket;
    this.key = details.key;
    this.status = details.status;
    this.code = details.code;
    this.requestId = details.requestId;
    this.attempts = details.attempts ?? 0;
  }
}

export async function createObsClient(options: ObsClientOptions): Promise<ObsClient> {
  const settings = checkOptions(options);
  const credentials: ObsCredentials = {
    ak: options.ak,
    sk: options.sk,
    securityToken: options.securityToken,
  };
  const send: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));
  return new ObsTextClient(settings, credentials, send, [
    options.sk,
    options.securityToken,
    options.ak,
  ]);
}

interface Settings {
  readonly endpoint: ObsEndpoint;
  readonly host: string;
  readonly timeoutSeconds: number;
  readonly maxRetryCount: number;
  readonly retryDelayMs: number;
  readonly listPageSize: number;
  readonly maxBodyBytes: number;
}

function checkOptions(options: ObsClientOptions): Settings {
  const problem = (text: string): ObsError =>
    new ObsError(`OBS client not created: ${text}`, {
      kind: "config",
      operation: "createObsClient",
    });
  let url: URL;
  try {
    url = new URL(options.server);
  } catch {
    throw problem(
      "the OBS server must be a URL such as https://obs.cn-north-4.myhuaweicloud.com; check the configured endpoint",
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw problem(`the OBS server must start with https:// or http://, not ${url.protocol}`);
  }
  if (url.username !== "" || url.password !== "") {
    throw problem("the OBS server URL must not carry credentials; pass ak and sk instead");
  }
  if (!options.ak || !options.sk) {
    throw problem(
      "an access key and a secret key are required (in FunctionGraph: the agency's temporary keys from the context)",
    );
  }
  const timeoutSeconds = options.timeoutSeconds ?? OBS_CLIENT_DEFAULTS.timeoutSeconds;
  const maxRetryCount = options.maxRetryCount ?? OBS_CLIENT_DEFAULTS.maxRetryCount;
  const retryDelayMs = options.retryDelayMs ?? OBS_CLIENT_DEFAULTS.retryDelayMs;
  const listPageSize = options.listPageSize ?? OBS_CLIENT_DEFAULTS.listPageSize;
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw problem("timeoutSeconds must be a number of seconds > 0");
  }
  if (!Number.isInteger(maxRetryCount) || maxRetryCount < 0) {
    throw problem("maxRetryCount must be a whole number >= 0");
  }
  if (!Number.isFinite(retryDelayMs) || retryDelayMs < 0) {
    throw problem("retryDelayMs must be a number >= 0");
  }
  if (!Number.isInteger(listPageSize) || listPageSize < 1 || listPageSize > 1000) {
    throw problem("listPageSize must be a whole number from 1 to 1000");
  }
  const maxBodyBytes = options.maxBodyBytes ?? BODY_LIMITS.obs;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw problem("maxBodyBytes must be a whole number of bytes >= 1");
  }
  return {
    endpoint: endpointOf(url),
    host: url.host,
    timeoutSeconds,
    maxRetryCount,
    retryDelayMs,
    listPageSize,
    maxBodyBytes,
  };
}

interface Operation {
  readonly name: string;
  readonly bucket: string;
  readonly key?: string;
}

/** An answer from OBS, body read; error fields filled from the Error XML when there is one. */
interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
  readonly code: string | undefined;
  readonly message: string | undefined;
  readonly requestId: string | undefined;
}

type Accept = (answer: Answer) => boolean;
type Outcome =
  | { answer: Answer }
  | { failure: unknown; timedOut: boolean }
  | { tooLarge: AnswerTooLargeError };

const JSON_TYPE = "application/json";
const ok200: Accept = (answer) => answer.status === 200;
/** OBS bucket names: 3-63 of a-z 0-9 . -; they become part of a host name here. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

class ObsTextClient implements ObsClient {
  private closed = false;

  constructor(
    private readonly settings: Settings,
    private readonly credentials: ObsCredentials,
    private readonly send: typeof fetch,
    private readonly secrets: readonly (string | undefined)[],
  ) {}

  async getText(bucket: string, key: string): Promise<GetTextResult> {
    const answer = await this.call(
      { name: "getObject", bucket, key },
      { method: "GET", bucket, key },
      (a) => a.status === 200 || (a.status === 404 && a.code === "NoSuchKey"),
    );
    if (answer.status === 404) return { found: false };
    return {
      found: true,
      text: answer.body,
      etag: answer.headers.get("etag") ?? "",
      contentType: answer.headers.get("content-type") ?? "",
    };
  }

  async putText(bucket: string, key: string, text: string, contentType = JSON_TYPE): Promise<void> {
    await this.call(
      { name: "putObject", bucket, key },
      { method: "PUT", bucket, key, contentType, body: text },
      ok200,
    );
  }

  async list(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let marker = "";
    for (;;) {
      const answer = await this.call(
        { name: "listObjects", bucket, key: prefix },
        {
          method: "GET",
          bucket,
          query: {
            prefix,
            "max-keys": String(this.settings.listPageSize),
            ...(marker === "" ? {} : { marker }),
          },
        },
        ok200,
      );
      const page = xmlBlocks(answer.body, "Contents").map((item) => xmlValue(item, "Key") ?? "");
      keys.push(...page);
      if (xmlValue(answer.body, "IsTruncated") !== "true") return keys;
      const next = xmlValue(answer.body, "NextMarker") || page.at(-1) || "";
      if (next === "" || next === marker) {
        throw new ObsError(
          `OBS listObjects of ${bucket}/${prefix} returned a truncated page without a next marker; check the OBS endpoint (is it really OBS?)`,
          { kind: "http", operation: "listObjects", bucket, key: prefix, status: 200 },
        );
      }
      marker = next;
    }
  }

  async remove(bucket: string, key: string): Promise<void> {
    await this.call(
      { name: "deleteObject", bucket, key },
      { method: "DELETE", bucket, key },
      (a) => a.status === 204 || a.status === 200,
    );
  }

  async copy(bucket: string, from: string, to: string): Promise<void> {
    checkKey({ name: "copyObject", bucket, key: from }, from);
    await this.call(
      { name: "copyObject", bucket, key: from },
      {
        method: "PUT",
        bucket,
        key: to,
        vendorHeaders: {
          "copy-source": `/${bucket}/${encodeKey(from)}`,
          "metadata-directive": "COPY",
        },
      },
      // A copy that fails late still answers 200, with an Error document as its body.
      (a) => a.status === 200 && !xmlRootIs(a.body, "Error"),
    );
  }

  close(): void {
    this.closed = true;
  }

  /** One OBS call with retries on network errors, timeouts, 5xx, 429 and 408. */
  private async call(operation: Operation, spec: ObsRequestSpec, accept: Accept): Promise<Answer> {
    if (this.closed) {
      throw new ObsError(
        `OBS ${operation.name} refused: this client was closed; create a new one`,
        {
          kind: "config",
          operation: operation.name,
          bucket: operation.bucket,
          key: operation.key,
        },
      );
    }
    checkBucket(operation);
    if (spec.key !== undefined) checkKey(operation, spec.key);
    const attempts = this.settings.maxRetryCount + 1;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(spec);
      // The same object is as large the second time: not retried.
      if ("tooLarge" in outcome) throw tooLargeError(operation, outcome.tooLarge, attempt);
      if ("answer" in outcome) {
        const { answer } = outcome;
        if (accept(answer)) return answer;
        if (!isRetryable(answer) || attempt >= attempts) {
          throw this.httpError(operation, answer, attempt);
        }
      } else if (attempt >= attempts) {
        throw this.networkError(operation, outcome, attempt);
      }
      await sleep(this.settings.retryDelayMs * attempt);
    }
  }

  private async attempt(spec: ObsRequestSpec): Promise<Outcome> {
    // Signed per attempt: the date must be fresh on a retry.
    const request = signRequest(this.settings.endpoint, spec, this.credentials);
    const signal = AbortSignal.timeout(this.settings.timeoutSeconds * 1000);
    try {
      const response = await this.send(request.url, {
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        signal,
      });
      const body = await readBoundedText(response, this.settings.maxBodyBytes);
      return { answer: readAnswer(response.status, response.headers, body) };
    } catch (failure) {
      const tooLarge = tooLargeIn(failure);
      if (tooLarge) return { tooLarge };
      return { failure, timedOut: signal.aborted };
    }
  }

  private httpError(operation: Operation, answer: Answer, attempts: number): ObsError {
    const { status, code, requestId } = answer;
    const said = answer.message ? ` OBS said: "${answer.message}".` : "";
    const message =
      `OBS ${operation.name} of ${target(operation)} failed: HTTP ${status}${code ? ` ${code}` : ""} ` +
      `after ${attempts} attempt${attempts === 1 ? "" : "s"}; ${advice(status, code)}.${said}` +
      (requestId ? ` Request id: ${requestId}.` : "");
    return new ObsError(this.redact(message), {
      kind: "http",
      operation: operation.name,
      bucket: operation.bucket,
      key: operation.key,
      status,
      code,
      requestId,
      attempts,
    });
  }

  private networkError(
    operation: Operation,
    outcome: { failure: unknown; timedOut: boolean },
    attempts: number,
  ): ObsError {
    const what = outcome.timedOut
      ? `OBS at ${this.settings.host} did not answer within ${this.settings.timeoutSeconds} s`
      : `could not reach OBS at ${this.settings.host} (${failureReason(outcome.failure)})`;
    const message =
      `OBS ${operation.name} of ${target(operation)} failed: ${what}, ${attempts} attempt${attempts === 1 ? "" : "s"}; ` +
      "check the OBS endpoint and this function's network path to it (the public network: the function must not have VPC access).";
    return new ObsError(
      this.redact(message),
      {
        kind: outcome.timedOut ? "timeout" : "network",
        operation: operation.name,
        bucket: operation.bucket,
        key: operation.key,
        attempts,
      },
      { cause: outcome.failure },
    );
  }

  private redact(text: string): string {
    let clean = text;
    for (const secret of this.secrets) {
      if (secret && secret.length >= 4) clean = clean.split(secret).join("[redacted]");
    }
    return clean;
  }
}

function readAnswer(status: number, headers: Headers, body: string): Answer {
  const isError = status >= 300 || xmlRootIs(body, "Error");
  const requestId =
    headers.get("x-obs-request-id") ??
    headers.get("x-amz-request-id") ??
    (isError ? xmlValue(body, "RequestId") : undefined);
  return {
    status,
    headers,
    body,
    code: (isError ? xmlValue(body, "Code") : undefined) || undefined,
    message: (isError ? xmlValue(body, "Message") : undefined) || undefined,
    requestId: requestId || undefined,
  };
}

function isRetryable(answer: Answer): boolean {
  const { status } = answer;
  // A 200 carrying an Error document is a copy that failed inside OBS: worth another try.
  return status >= 500 || status === 429 || status === 408 || (status === 200 && !!answer.code);
}

function checkBucket(operation: Operation): void {
  if (BUCKET_NAME.test(operation.bucket) && !operation.bucket.includes("..")) return;
  throw new ObsError(
    `OBS ${operation.name} not sent: "${operation.bucket}" is not a valid bucket name (3-63 of a-z, 0-9, "." and "-"); check state.bucket`,
    { kind: "config", operation: operation.name, bucket: operation.bucket, key: operation.key },
  );
}

/** `.` and `..` segments would be folded away by the URL parser and reach another object. */
function checkKey(operation: Operation, key: string): void {
  if (key !== "" && !key.split("/").some((part) => part === "." || part === "..")) return;
  throw new ObsError(
    `OBS ${operation.name} not sent: the object key "${key}" is empty or has a "." or ".." segment; use another key`,
    { kind: "config", operation: operation.name, bucket: operation.bucket, key },
  );
}

function tooLargeError(
  operation: Operation,
  error: AnswerTooLargeError,
  attempts: number,
): ObsError {
  return new ObsError(
    `OBS ${operation.name} of ${target(operation)} failed: the ${error.message}; nothing in clawwatch's OBS prefix should be that large, so check who wrote it`,
    {
      kind: "too-large",
      operation: operation.name,
      bucket: operation.bucket,
      key: operation.key,
      ...(error.status === undefined ? {} : { status: error.status }),
      attempts,
    },
  );
}

const target = (operation: Operation): string =>
  operation.key === undefined ? operation.bucket : `${operation.bucket}/${operation.key}`;

/** undici nests the socket error: TypeError("fetch failed") → Error { code: "ECONNRESET" }. */
function failureReason(failure: unknown): string {
  let innermost = "";
  for (let item = failure, depth = 0; depth < 5; depth++) {
    if (!(item instanceof Error)) return innermost || String(item);
    const code = (item as NodeJS.ErrnoException).code;
    if (typeof code === "string" && code !== "") return code;
    innermost = item.message;
    item = item.cause;
  }
  return innermost;
}

function advice(status: number, code: string | undefined): string {
  switch (code) {
    case "SignatureDoesNotMatch":
      return "check that the secret key belongs to this access key, and that this machine's clock is right";
    case "InvalidAccessKeyId":
      return "check the access key; temporary (agency) keys also need their security token, and they expire";
    case "RequestTimeTooSkewed":
      return "this machine's clock is more than 15 minutes off; fix the time (NTP)";
    case "AccessDenied":
      return "check the bucket name and the agency's OBS permissions (get, put, list and delete under the product's prefix)";
    case "NoSuchBucket":
      return "check the bucket name, and that the OBS endpoint is in the bucket's region";
    case "NoSuchKey":
      return "the object does not exist";
  }
  if (status >= 500 || status === 429) {
    return "OBS is failing or throttling; the state was left as it was, try again later";
  }
  if (status === 403) return "check the bucket name and the agency's OBS permissions";
  return "check the bucket, the key and the OBS endpoint";
}
