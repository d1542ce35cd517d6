import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { ClientRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SdkObsClient from "esdk-obs-nodejs";

/**
 * esdk-obs-nodejs 3.26.8 with its traps worked around, plus the few typed calls the state
 * store needs. Traps (read from the SDK source, each covered by test/integration/local-obs.test.ts):
 * - construction finishes a tick later: calls in the same tick reject (`reading 'signature'`),
 *   and with signature negotiation on, such a failure leaves that bucket locked forever;
 * - negotiation costs one extra unsigned HEAD per bucket, so it is turned off;
 * - HTTP errors never reject and are never retried; only network errors are, without a pause;
 * - `timeout` is whole seconds (0.5 becomes 0, which means no timeout at all) and a timed-out
 *   request is left open;
 * - a string Body always goes out as application/json, whatever ContentType says;
 * - `initLog()` would log requests; it is never called here.
 */

export interface ObsClientOptions {
  /** OBS endpoint: `https://obs.<region>.myhuaweicloud.com`, or `http://127.0.0.1:<port>` locally. */
  readonly server: string;
  readonly ak: string;
  readonly sk: string;
  /** Present with temporary (agency) credentials. */
  readonly securityToken?: string;
  /** How long one attempt may wait on a silent socket, in whole seconds (>= 1). */
  readonly timeoutSeconds?: number;
  /** Extra attempts after a network error, a timeout, a 5xx or a 429. */
  readonly maxRetryCount?: number;
  /** The pause before retry n is n times this. */
  readonly retryDelayMs?: number;
  /** Keys per listObjects page (1-1000); lower it only to exercise pagination. */
  readonly listPageSize?: number;
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
  /** The configured SDK client, ready to use, for calls this layer does not cover (createBucket…). */
  readonly sdk: SdkObsClient;
  /** 404 NoSuchKey is `{ found: false }`; anything else but 200 throws ObsError. */
  getText(bucket: string, key: string): Promise<GetTextResult>;
  /** JSON by default; any other content type is uploaded from a temporary file (see putText). */
  putText(bucket: string, key: string, text: string, contentType?: string): Promise<void>;
  /** Every key under `prefix`, following pagination. */
  list(bucket: string, prefix: string): Promise<string[]>;
  /** Deleting a key that does not exist succeeds, as on OBS. */
  remove(bucket: string, key: string): Promise<void>;
  /** Copies `from` to `to` in the same bucket, content type and metadata included. */
  copy(bucket: string, from: string, to: string): Promise<void>;
  close(): void;
}

export type ObsErrorKind = "http" | "network" | "timeout" | "config";

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

/** An OBS call failed. The message says what to check and never carries a key or token. */
export class ObsError extends Error {
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
  // Options are checked first: the SDK reports a bad one as an unhandled rejection from its
  // constructor, which ends the process.
  const sdk = new SdkObsClient({
    access_key_id: options.ak,
    secret_access_key: options.sk,
    ...(options.securityToken ? { security_token: options.securityToken } : {}),
    server: settings.server,
    // OBS's own scheme on a real (virtual-host) endpoint; the SDK itself switches to V2 with
    // path style on an IP endpoint such as the local emulator, where no bucket DNS exists.
    signature: "obs",
    is_signature_negotiation: false,
    // Retries happen in `call` below, for HTTP 5xx too and with a pause.
    max_retry_count: 0,
    timeout: settings.timeoutSeconds,
  });
  await new Promise<void>((resolve) => setImmediate(resolve));
  return new ObsTextClient(sdk, settings, [options.sk, options.securityToken, options.ak]);
}

interface Settings {
  readonly server: string;
  readonly host: string;
  readonly timeoutSeconds: number;
  readonly maxRetryCount: number;
  readonly retryDelayMs: number;
  readonly listPageSize: number;
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
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) {
    throw problem("timeoutSeconds must be a whole number >= 1 (the SDK reads 0.5 as no timeout)");
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
  return {
    server: `${url.protocol}//${url.host}`,
    host: url.host,
    timeoutSeconds,
    maxRetryCount,
    retryDelayMs,
    listPageSize,
  };
}

type Hook = (request: ClientRequest) => void;
type Send<T> = (hook: Hook) => Promise<SdkObsClient.Result<T>>;
type Accept = (msg: SdkObsClient.CommonMsg) => boolean;

interface Operation {
  readonly name: string;
  readonly bucket: string;
  readonly key?: string;
}

const JSON_TYPE = "application/json";
const ok200: Accept = (msg) => msg.Status === 200;

class ObsTextClient implements ObsClient {
  private closed = false;

  constructor(
    readonly sdk: SdkObsClient,
    private readonly settings: Settings,
    private readonly secrets: readonly (string | undefined)[],
  ) {}

  async getText(bucket: string, key: string): Promise<GetTextResult> {
    const result = await this.call(
      { name: "getObject", bucket, key },
      (msg) => msg.Status === 200 || (msg.Status === 404 && msg.Code === "NoSuchKey"),
      (hook) => this.sdk.getObject({ Bucket: bucket, Key: key, RequestHook: hook }),
    );
    const object = result.InterfaceResult;
    if (result.CommonMsg.Status === 404 || !object) return { found: false };
    return {
      found: true,
      // The SDK leaves Content out for an empty object.
      text: object.Content ?? "",
      etag: object.ETag ?? "",
      contentType: object.ContentType ?? "",
    };
  }

  async putText(bucket: string, key: string, text: string, contentType = JSON_TYPE): Promise<void> {
    const operation = { name: "putObject", bucket, key };
    if (contentType.toLowerCase() === JSON_TYPE) {
      await this.call(operation, ok200, (hook) =>
        this.sdk.putObject({ Bucket: bucket, Key: key, Body: text, RequestHook: hook }),
      );
      return;
    }
    // With a Body the SDK always sends application/json; only a file upload keeps ContentType.
    const dir = await mkdtemp(join(tmpdir(), "clawwatch-obs-"));
    try {
      const file = join(dir, "body");
      await writeFile(file, text, "utf8");
      await this.call(operation, ok200, (hook) =>
        this.sdk.putObject({
          Bucket: bucket,
          Key: key,
          SourceFile: file,
          ContentType: contentType,
          ContentLength: Buffer.byteLength(text, "utf8"),
          RequestHook: hook,
        }),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async list(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let marker = "";
    for (;;) {
      const result = await this.call({ name: "listObjects", bucket, key: prefix }, ok200, (hook) =>
        this.sdk.listObjects({
          Bucket: bucket,
          Prefix: prefix,
          MaxKeys: this.settings.listPageSize,
          ...(marker === "" ? {} : { Marker: marker }),
          RequestHook: hook,
        }),
      );
      const page = result.InterfaceResult;
      if (!page) return keys;
      for (const item of page.Contents) keys.push(item.Key);
      if (page.IsTruncated !== "true") return keys;
      const next = page.NextMarker || page.Contents.at(-1)?.Key || "";
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
      (msg) => msg.Status === 204 || msg.Status === 200,
      (hook) => this.sdk.deleteObject({ Bucket: bucket, Key: key, RequestHook: hook }),
    );
  }

  async copy(bucket: string, from: string, to: string): Promise<void> {
    await this.call({ name: "copyObject", bucket, key: from }, ok200, (hook) =>
      // A fresh input per attempt: copyObject URL-encodes CopySource in place.
      this.sdk.copyObject({
        Bucket: bucket,
        Key: to,
        CopySource: `${bucket}/${from}`,
        MetadataDirective: "COPY",
        RequestHook: hook,
      }),
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sdk.close();
  }

  /** One OBS call with retries on network errors, timeouts, 5xx and 429. */
  private async call<T>(
    operation: Operation,
    accept: Accept,
    send: Send<T>,
  ): Promise<SdkObsClient.Result<T>> {
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
    const attempts = this.settings.maxRetryCount + 1;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(send);
      if ("result" in outcome) {
        const msg = outcome.result.CommonMsg;
        if (accept(msg)) return outcome.result;
        if (!isRetryableStatus(msg.Status) || attempt >= attempts) {
          throw this.httpError(operation, msg, attempt);
        }
      } else if (attempt >= attempts) {
        throw this.networkError(operation, outcome.failure, attempt);
      }
      await new Promise((resolve) => setTimeout(resolve, this.settings.retryDelayMs * attempt));
    }
  }

  private async attempt<T>(
    send: Send<T>,
  ): Promise<{ result: SdkObsClient.Result<T> } | { failure: unknown }> {
    const sent: { request?: ClientRequest } = {};
    try {
      return { result: await send((request) => Object.assign(sent, { request })) };
    } catch (failure) {
      // The SDK reports a timeout but leaves the request open; nobody will read its answer.
      sent.request?.destroy();
      return { failure };
    }
  }

  private httpError(operation: Operation, msg: SdkObsClient.CommonMsg, attempts: number): ObsError {
    const code = msg.Code || undefined;
    const said = msg.Message ? ` OBS said: "${msg.Message}".` : "";
    const message =
      `OBS ${operation.name} of ${target(operation)} failed: HTTP ${msg.Status}${code ? ` ${code}` : ""} ` +
      `after ${attempts} attempt${attempts === 1 ? "" : "s"}; ${advice(msg.Status, code)}.${said}` +
      (msg.RequestId ? ` Request id: ${msg.RequestId}.` : "");
    return new ObsError(this.redact(message), {
      kind: "http",
      operation: operation.name,
      bucket: operation.bucket,
      key: operation.key,
      status: msg.Status,
      code,
      requestId: msg.RequestId || undefined,
      attempts,
    });
  }

  private networkError(operation: Operation, failure: unknown, attempts: number): ObsError {
    const reason = failureReason(failure);
    const timedOut = reason === "ETIMEDOUT";
    const what = timedOut
      ? `OBS at ${this.settings.host} did not answer within ${this.settings.timeoutSeconds} s`
      : `could not reach OBS at ${this.settings.host} (${reason})`;
    const message =
      `OBS ${operation.name} of ${target(operation)} failed: ${what}, ${attempts} attempt${attempts === 1 ? "" : "s"}; ` +
      "check the OBS endpoint and this function's network path to it (VPC access, NAT, security group).";
    return new ObsError(
      this.redact(message),
      {
        kind: timedOut ? "timeout" : "network",
        operation: operation.name,
        bucket: operation.bucket,
        key: operation.key,
        attempts,
      },
      { cause: failure },
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

const target = (operation: Operation): string =>
  operation.key === undefined ? operation.bucket : `${operation.bucket}/${operation.key}`;

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

function failureReason(failure: unknown): string {
  if (failure instanceof Error) {
    const code = (failure as NodeJS.ErrnoException).code;
    return typeof code === "string" ? code : failure.message;
  }
  return String(failure);
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
