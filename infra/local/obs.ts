import { createHash, randomBytes } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { type Listening, listen, sleep } from "./http";
import type { Iam } from "./iam";
import { type ObsScheme, SIGNED_SUB_RESOURCES, verifyObsRequest } from "./obs-signing";
import { isValidBucketName, type ObjectSummary, ObsStore, type StoredObject } from "./obs-store";
import { copyObjectResultXml, errorXml, listAllMyBucketsXml, listBucketResultXml } from "./obs-xml";
import { ControlError, type LocalService, ServiceFaults, type TimeScale } from "./service";

/** What `HEAD /<bucket>?apiversion` answers in `x-obs-api`; the SDK picks the OBS scheme for >= 3.0. */
export const OBS_API_VERSION = "3.0";
/** Virtual-host requests carry `Host: <bucket>.<domain>`; path style is used on the IP endpoint. */
export const DEFAULT_OBS_DOMAIN = "obs.clawwatch.test";
const MAX_KEYS = 1000;

export interface ObsOptions {
  readonly iam: Iam;
  /** Accepted for symmetry with the other emulators; OBS has no emulated durations (latency is real ms). */
  readonly time: TimeScale;
  readonly port?: number;
  /** Buckets that exist from the start. */
  readonly buckets?: readonly string[];
  readonly domain?: string;
}

export interface ObsService extends LocalService {
  readonly port: number;
  readonly domain: string;
}

export type ObsObjectSummary = ObjectSummary;

export interface ObsRequestCounts {
  total: number;
  /** Per HTTP method: GET, PUT, HEAD, DELETE, … */
  byMethod: Record<string, number>;
  /** Per Authorization scheme: AWS, OBS, anonymous. */
  byScheme: Record<string, number>;
}

export const OBS_CONTROL_ACTIONS = [
  "latency",
  "error",
  "down",
  "up",
  "deny",
  "allow",
  "objects",
  "get-object",
  "put-object",
  "create-bucket",
  "requests",
  "clear-requests",
] as const;

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
  error?: { code: string; message: string; details?: Record<string, string> };
}

interface Target {
  bucket: string | undefined;
  key: string | undefined;
  hostBucket: string | undefined;
  query: Map<string, string>;
}

interface DenyRule {
  bucket: string | undefined;
  prefix: string;
}

const fail = (
  status: number,
  code: string,
  message: string,
  details?: Record<string, string>,
): Reply => ({ status, error: { code, message, ...(details ? { details } : {}) } });

export async function startObs(options: ObsOptions): Promise<ObsService> {
  const obs = new LocalObs(options.iam, options.domain ?? DEFAULT_OBS_DOMAIN);
  for (const bucket of options.buckets ?? []) obs.addBucket(bucket);
  await obs.start(options.port ?? 0);
  return obs;
}

class LocalObs implements ObsService {
  readonly name = "obs";
  private readonly store = new ObsStore();
  private readonly faults = new ServiceFaults();
  private readonly sockets = new Set<Socket>();
  private listening: Listening | undefined;
  private isDown = false;
  private denyRules: DenyRule[] = [];
  private counts: ObsRequestCounts = emptyCounts();

  constructor(
    private readonly iam: Iam,
    readonly domain: string,
  ) {}

  get url(): string {
    return this.started().url;
  }

  get port(): number {
    return this.started().port;
  }

  addBucket(name: string): void {
    if (!isValidBucketName(name)) {
      throw new ControlError(
        `"${name}" is not a valid OBS bucket name (3-63 lower-case letters, digits, '-' or '.')`,
      );
    }
    this.store.createBucket(name);
  }

  async start(port: number): Promise<void> {
    this.listening = await listen((req, res, body) => this.handle(req, res, body), port);
    this.listening.server.on("connection", (socket: Socket) => {
      // "down" means connections are reset as soon as they open, like a dead load balancer.
      if (this.isDown) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  async control(action: string, params: Record<string, unknown>): Promise<unknown> {
    switch (action) {
      case "latency": {
        const ms = Number(params.ms ?? 0);
        if (!Number.isFinite(ms) || ms < 0) throw new ControlError('"ms" must be a number >= 0');
        this.faults.apply(action, { ms });
        return { latencyMs: ms };
      }
      case "error": {
        const status = Number(params.status ?? 500);
        if (!Number.isInteger(status) || status < 400 || status > 599) {
          throw new ControlError(
            '"status" must be an HTTP error status (400-599), e.g. 500 or 503',
          );
        }
        this.faults.apply(action, { ...params, status });
        return { status, count: this.faults.forcedCount ?? null };
      }
      case "down":
        this.setDown(true);
        return { down: true };
      case "up":
        this.setDown(false);
        return { down: false };
      case "deny": {
        const rule = {
          bucket: optionalString(params, "bucket"),
          prefix: optionalString(params, "prefix") ?? "",
        };
        this.denyRules.push(rule);
        return { deny: this.denyRules };
      }
      case "allow":
        this.denyRules = [];
        return { deny: [] };
      case "objects":
        return this.store.summaries(
          optionalString(params, "bucket"),
          optionalString(params, "prefix"),
        );
      case "get-object":
        return this.viewObject(requiredString(params, "bucket"), requiredString(params, "key"));
      case "put-object":
        return this.plantObject(params);
      case "create-bucket": {
        const bucket = requiredString(params, "bucket");
        this.addBucket(bucket);
        return { bucket };
      }
      case "requests":
        return structuredClone(this.counts);
      case "clear-requests":
        this.counts = emptyCounts();
        return { cleared: true };
      default:
        throw new ControlError(
          `Unknown OBS control action "${action}". Use one of: ${OBS_CONTROL_ACTIONS.join(", ")}.`,
          404,
        );
    }
  }

  reset(): void {
    this.faults.reset();
    this.setDown(false);
    this.denyRules = [];
    this.counts = emptyCounts();
  }

  async close(): Promise<void> {
    await this.listening?.close();
  }

  private started(): Listening {
    if (!this.listening)
      throw new Error("The OBS emulator is not listening yet: await startObs().");
    return this.listening;
  }

  private setDown(down: boolean): void {
    this.isDown = down;
    if (down) for (const socket of this.sockets) socket.destroy();
  }

  private viewObject(bucket: string, key: string) {
    const object = this.store.get(bucket, key);
    if (!object) throw new ControlError(`No object "${key}" in bucket "${bucket}".`, 404);
    return {
      bucket,
      key,
      body: object.body.toString("utf8"),
      contentType: object.contentType,
      etag: object.etag,
      metadata: object.metadata,
      lastModified: object.lastModified.toISOString(),
    };
  }

  private plantObject(params: Record<string, unknown>) {
    const bucket = requiredString(params, "bucket");
    const key = requiredString(params, "key");
    const body = params.body;
    if (typeof body !== "string") throw new ControlError('"body" must be a string');
    const stored = this.store.put(bucket, key, {
      body: Buffer.from(body, "utf8"),
      contentType: optionalString(params, "contentType") ?? "application/octet-stream",
      metadata: {},
    });
    if (!stored) {
      throw new ControlError(
        `No bucket "${bucket}": pass it in startObs({ buckets }) or use create-bucket first.`,
        404,
      );
    }
    return { bucket, key, size: stored.body.length, etag: stored.etag };
  }

  private async handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const scheme = dialectOf(req.headers);
    this.count(req);
    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);
    if (this.isDown || res.destroyed) {
      req.socket.destroy();
      return;
    }
    let reply: Reply;
    try {
      reply = this.route(req, body, scheme);
    } catch (error) {
      reply = fail(500, "InternalError", `We encountered an internal error: ${String(error)}`);
    }
    send(res, req.method === "HEAD", scheme, reply);
  }

  private count(req: IncomingMessage): void {
    const method = req.method ?? "GET";
    const scheme = /^(AWS|OBS) /.exec(req.headers.authorization ?? "")?.[1] ?? "anonymous";
    this.counts.total += 1;
    this.counts.byMethod[method] = (this.counts.byMethod[method] ?? 0) + 1;
    this.counts.byScheme[scheme] = (this.counts.byScheme[scheme] ?? 0) + 1;
  }

  private route(req: IncomingMessage, body: Buffer, scheme: ObsScheme): Reply {
    const forced = this.faults.takeForcedStatus();
    if (forced !== undefined) return forcedReply(forced);

    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const target = parseTarget(url, req.headers.host, this.domain);
    if (!target) return fail(400, "InvalidURI", "Couldn't parse the specified URI.");
    if (method === "HEAD" && target.query.has("apiversion")) return this.apiVersion(target);

    const auth = verifyObsRequest(
      { method, url, headers: req.headersDistinct, hostBucket: target.hostBucket },
      this.iam,
    );
    if (!auth.ok) return fail(auth.status, auth.code, auth.message, auth.details);

    const unsupported = [...target.query.keys()].find(
      (name) =>
        SIGNED_SUB_RESOURCES.has(name.toLowerCase()) && !name.toLowerCase().startsWith("response-"),
    );
    if (unsupported !== undefined) {
      return fail(
        501,
        "NotImplemented",
        `The local OBS emulator does not implement the "${unsupported}" sub-resource.`,
      );
    }
    if (target.bucket === undefined) {
      if (method !== "GET") return methodNotAllowed(method);
      return xmlReply(200, listAllMyBucketsXml(scheme, this.store.bucketList()));
    }
    if (this.isDenied(target.bucket, target.key ?? ""))
      return fail(403, "AccessDenied", "Access Denied");
    const iamAction = obsAction(method, target.key);
    if (iamAction) {
      const resource =
        target.key === undefined
          ? `OBS:*:*:bucket:${target.bucket}`
          : `OBS:*:*:object:${target.bucket}/${target.key}`;
      // OBS answers a request its IAM policies do not allow as any other refusal: 403
      // AccessDenied "Access Denied" (OBS API reference, error codes).
      if (!this.iam.authorize(auth.credential, iamAction, resource).allowed)
        return fail(403, "AccessDenied", "Access Denied");
    }
    if (target.key === undefined) return this.bucketRequest(method, target, scheme);
    return this.objectRequest(method, target.bucket, target.key, req.headers, body, scheme);
  }

  /** The SDK's unsigned signature negotiation (`HEAD /<bucket>?apiversion`). */
  private apiVersion(target: Target): Reply {
    if (target.bucket !== undefined && !this.store.hasBucket(target.bucket)) {
      return noSuchBucket(target.bucket);
    }
    return { status: 200, headers: { "x-obs-api": OBS_API_VERSION } };
  }

  private isDenied(bucket: string, key: string): boolean {
    return this.denyRules.some(
      (rule) =>
        (rule.bucket === undefined || rule.bucket === bucket) && key.startsWith(rule.prefix),
    );
  }

  private bucketRequest(method: string, target: Target, scheme: ObsScheme): Reply {
    const bucket = target.bucket ?? "";
    switch (method) {
      case "PUT":
        if (!isValidBucketName(bucket)) {
          return fail(400, "InvalidBucketName", "The specified bucket is not valid.", {
            BucketName: bucket,
          });
        }
        if (!this.store.createBucket(bucket)) {
          return fail(
            409,
            "BucketAlreadyOwnedByYou",
            "Your previous request to create the named bucket succeeded and you already own it.",
            { BucketName: bucket },
          );
        }
        return { status: 200, headers: { location: `/${bucket}` } };
      case "HEAD":
        if (!this.store.hasBucket(bucket)) return noSuchBucket(bucket);
        return {
          status: 200,
          headers: {
            "x-obs-api": OBS_API_VERSION,
            [`${prefixOf(scheme)}bucket-location`]: this.iam.region,
          },
        };
      case "GET":
        return this.listObjects(bucket, target.query, scheme);
      case "DELETE": {
        const outcome = this.store.deleteBucket(bucket);
        if (outcome === "missing") return noSuchBucket(bucket);
        if (outcome === "not-empty") {
          return fail(409, "BucketNotEmpty", "The bucket you tried to delete is not empty.", {
            BucketName: bucket,
          });
        }
        return { status: 204 };
      }
      default:
        return methodNotAllowed(method);
    }
  }

  private listObjects(bucket: string, query: Map<string, string>, scheme: ObsScheme): Reply {
    const maxKeysText = query.get("max-keys") ?? String(MAX_KEYS);
    if (!/^\d+$/.test(maxKeysText)) {
      return fail(400, "InvalidArgument", "max-keys must be a non-negative integer.", {
        ArgumentName: "max-keys",
        ArgumentValue: maxKeysText,
      });
    }
    const request = {
      prefix: query.get("prefix") ?? "",
      marker: query.get("marker") ?? "",
      maxKeys: Math.min(Number(maxKeysText), MAX_KEYS),
      delimiter: query.get("delimiter") ?? "",
    };
    const page = this.store.list(bucket, request);
    if (!page) return noSuchBucket(bucket);
    return xmlReply(200, listBucketResultXml(scheme, bucket, request, page));
  }

  private objectRequest(
    method: string,
    bucket: string,
    key: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
    scheme: ObsScheme,
  ): Reply {
    if (!this.store.hasBucket(bucket)) return noSuchBucket(bucket);
    switch (method) {
      case "PUT": {
        const copySource = headerText(headers["x-amz-copy-source"] ?? headers["x-obs-copy-source"]);
        if (copySource !== undefined)
          return this.copyObject(bucket, key, copySource, headers, scheme);
        return this.putObject(bucket, key, headers, body);
      }
      case "GET":
      case "HEAD":
        return this.getObject(bucket, key, headers, scheme, method === "GET");
      case "DELETE":
        this.store.delete(bucket, key);
        return { status: 204 };
      default:
        return methodNotAllowed(method);
    }
  }

  private putObject(
    bucket: string,
    key: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
  ): Reply {
    const md5 = headerText(headers["content-md5"]);
    if (md5 !== undefined && md5 !== createHash("md5").update(body).digest("base64")) {
      return fail(
        400,
        "BadDigest",
        "The Content-MD5 you specified did not match what we received.",
      );
    }
    const stored = this.store.put(bucket, key, {
      body,
      contentType: headerText(headers["content-type"]) ?? "application/octet-stream",
      metadata: metadataOf(headers),
    });
    return { status: 200, headers: { etag: stored?.etag ?? "" } };
  }

  private copyObject(
    bucket: string,
    key: string,
    copySource: string,
    headers: IncomingHttpHeaders,
    scheme: ObsScheme,
  ): Reply {
    const source = parseCopySource(copySource);
    if (!source) {
      return fail(
        400,
        "InvalidArgument",
        "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.",
      );
    }
    if (!this.store.hasBucket(source.bucket)) return noSuchBucket(source.bucket);
    if (this.isDenied(source.bucket, source.key)) return fail(403, "AccessDenied", "Access Denied");
    const original = this.store.get(source.bucket, source.key);
    if (!original) return noSuchKey(source.key);
    const directive = (
      headerText(headers["x-amz-metadata-directive"] ?? headers["x-obs-metadata-directive"]) ??
      "COPY"
    ).toUpperCase();
    if (directive === "COPY" && source.bucket === bucket && source.key === key) {
      return fail(
        400,
        "InvalidRequest",
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata.",
      );
    }
    const replace = directive === "REPLACE";
    const stored = this.store.put(bucket, key, {
      body: original.body,
      contentType: replace
        ? (headerText(headers["content-type"]) ?? "application/octet-stream")
        : original.contentType,
      metadata: replace ? metadataOf(headers) : { ...original.metadata },
    });
    if (!stored) return noSuchBucket(bucket);
    return xmlReply(200, copyObjectResultXml(scheme, stored.etag, stored.lastModified));
  }

  private getObject(
    bucket: string,
    key: string,
    headers: IncomingHttpHeaders,
    scheme: ObsScheme,
    withBody: boolean,
  ): Reply {
    const object = this.store.get(bucket, key);
    if (!object) return noSuchKey(key);
    const refused = checkPreconditions(headers, object);
    if (refused) return refused;
    const metaPrefix = `${prefixOf(scheme)}meta-`;
    const meta = Object.fromEntries(
      Object.entries(object.metadata).map(([name, value]) => [`${metaPrefix}${name}`, value]),
    );
    return {
      status: 200,
      headers: {
        "content-type": object.contentType,
        "content-length": String(object.body.length),
        etag: object.etag,
        "last-modified": object.lastModified.toUTCString(),
        "accept-ranges": "bytes",
        ...meta,
      },
      ...(withBody ? { body: object.body } : {}),
    };
  }
}

function emptyCounts(): ObsRequestCounts {
  return { total: 0, byMethod: {}, byScheme: {} };
}

const prefixOf = (scheme: ObsScheme): string => (scheme === "OBS" ? "x-obs-" : "x-amz-");

/** OBS answers in the dialect it was spoken to: x-obs-* headers for OBS-signed requests. */
function dialectOf(headers: IncomingHttpHeaders): ObsScheme {
  if ((headers.authorization ?? "").startsWith("OBS ")) return "OBS";
  if ((headers.authorization ?? "").startsWith("AWS ")) return "AWS";
  return Object.keys(headers).some((name) => name.startsWith("x-obs-")) ? "OBS" : "AWS";
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** Path style `/<bucket>/<key>` or virtual-host style `Host: <bucket>.<domain>` + `/<key>`. */
function parseTarget(url: string, host: string | undefined, domain: string): Target | undefined {
  const queryAt = url.indexOf("?");
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const query = new Map<string, string>();
  for (const part of (queryAt < 0 ? "" : url.slice(queryAt + 1)).split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = safeDecode(eq < 0 ? part : part.slice(0, eq));
    const value = safeDecode(eq < 0 ? "" : part.slice(eq + 1));
    if (name === undefined || value === undefined) return undefined;
    query.set(name, value);
  }
  const hostname = (host ?? "").replace(/:\d+$/, "").toLowerCase();
  const suffix = `.${domain.toLowerCase()}`;
  const hostBucket =
    hostname.endsWith(suffix) && hostname.length > suffix.length
      ? hostname.slice(0, -suffix.length)
      : undefined;
  const rest = path.replace(/^\//, "");
  let bucketPart: string;
  let keyPart: string;
  if (hostBucket !== undefined) {
    bucketPart = hostBucket;
    keyPart = rest;
  } else {
    const slash = rest.indexOf("/");
    bucketPart = slash < 0 ? rest : rest.slice(0, slash);
    keyPart = slash < 0 ? "" : rest.slice(slash + 1);
  }
  const bucket = safeDecode(bucketPart);
  const key = safeDecode(keyPart);
  if (bucket === undefined || key === undefined) return undefined;
  return {
    bucket: bucket === "" ? undefined : bucket,
    key: key === "" ? undefined : key,
    hostBucket,
    query,
  };
}

/** `x-amz-copy-source: bucket%2Fkey` (the SDK encodes the whole value), optionally `?versionId=`. */
function parseCopySource(value: string): { bucket: string; key: string } | undefined {
  const withoutVersion = value.replace(/\?versionId=.*$/, "");
  const decoded = safeDecode(withoutVersion)?.replace(/^\//, "");
  if (decoded === undefined) return undefined;
  const slash = decoded.indexOf("/");
  if (slash <= 0 || slash === decoded.length - 1) return undefined;
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

function metadataOf(headers: IncomingHttpHeaders): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const m = /^x-(?:amz|obs)-meta-(.+)$/.exec(name);
    const text = headerText(value);
    if (m?.[1] && text !== undefined) metadata[m[1]] = text;
  }
  return metadata;
}

const unquote = (etag: string): string => etag.trim().replace(/^W\//, "").replace(/^"|"$/g, "");

function etagMatches(condition: string, etag: string): boolean {
  return condition
    .split(",")
    .some((candidate) => candidate.trim() === "*" || unquote(candidate) === unquote(etag));
}

/** HTTP dates have whole seconds; compare Last-Modified at that precision. */
const wholeSeconds = (date: Date): number => Math.floor(date.getTime() / 1000) * 1000;

/** RFC 7232 order: If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since. */
function checkPreconditions(headers: IncomingHttpHeaders, object: StoredObject): Reply | undefined {
  const preconditionFailed = (condition: string): Reply =>
    fail(
      412,
      "PreconditionFailed",
      "At least one of the pre-conditions you specified did not hold",
      {
        Condition: condition,
      },
    );
  const notModified: Reply = {
    status: 304,
    headers: { etag: object.etag, "last-modified": object.lastModified.toUTCString() },
  };
  const modified = wholeSeconds(object.lastModified);
  const ifMatch = headerText(headers["if-match"]);
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, object.etag)) return preconditionFailed("If-Match");
  } else {
    const since = Date.parse(headerText(headers["if-unmodified-since"]) ?? "");
    if (!Number.isNaN(since) && modified > since) return preconditionFailed("If-Unmodified-Since");
  }
  const ifNoneMatch = headerText(headers["if-none-match"]);
  if (ifNoneMatch !== undefined)
    return etagMatches(ifNoneMatch, object.etag) ? notModified : undefined;
  const since = Date.parse(headerText(headers["if-modified-since"]) ?? "");
  if (!Number.isNaN(since) && modified <= since) return notModified;
  return undefined;
}

function forcedReply(status: number): Reply {
  if (status === 503) return fail(503, "ServiceUnavailable", "Please reduce your request rate.");
  if (status >= 500)
    return fail(status, "InternalError", "We encountered an internal error. Please try again.");
  if (status === 403) return fail(403, "AccessDenied", "Access Denied");
  return fail(status, "BadRequest", "Invalid request parameters.");
}

const noSuchBucket = (bucket: string): Reply =>
  fail(404, "NoSuchBucket", "The specified bucket does not exist", { BucketName: bucket });

const noSuchKey = (key: string): Reply =>
  fail(404, "NoSuchKey", "The specified key does not exist.", { Key: key });

const methodNotAllowed = (method: string): Reply =>
  fail(405, "MethodNotAllowed", "The specified method is not allowed against this resource.", {
    Method: method,
  });

const xmlReply = (status: number, xml: string): Reply => ({
  status,
  headers: { "content-type": "application/xml" },
  body: xml,
});

function send(res: ServerResponse, isHead: boolean, scheme: ObsScheme, reply: Reply): void {
  const prefix = prefixOf(scheme);
  const requestId = randomBytes(16).toString("hex").toUpperCase();
  const hostId = randomBytes(24).toString("base64");
  const headers: Record<string, string> = {
    server: "OBS",
    date: new Date().toUTCString(),
    [`${prefix}request-id`]: requestId,
    [`${prefix}id-2`]: hostId,
    ...reply.headers,
  };
  let body = reply.body;
  if (reply.error) {
    const { code, message, details } = reply.error;
    if (isHead) {
      // A HEAD answer has no body: the SDK reads the code from these headers instead.
      headers[`${prefix}error-code`] = code;
      headers[`${prefix}error-message`] = message;
    } else {
      headers["content-type"] = "application/xml";
      body = errorXml(code, message, requestId, hostId, details);
    }
  }
  const payload = body === undefined ? undefined : Buffer.from(body);
  if (payload !== undefined) headers["content-length"] = String(payload.length);
  else if (
    headers["content-length"] === undefined &&
    reply.status !== 204 &&
    reply.status !== 304
  ) {
    headers["content-length"] = "0";
  }
  res.writeHead(reply.status, headers);
  res.end(isHead ? undefined : payload);
}

function optionalString(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new ControlError(`"${name}" must be a string`);
  return value;
}

function requiredString(params: Record<string, unknown>, name: string): string {
  const value = optionalString(params, name);
  if (value === undefined || value === "") throw new ControlError(`"${name}" is required`);
  return value;
}

/**
 * The IAM action of an OBS request (OBS permission guide, "OBS Actions": obs:bucket:ListBucket,
 * obs:bucket:HeadBucket, obs:object:GetObject (GET and HEAD), obs:object:PutObject (PUT, copy
 * too), obs:object:DeleteObject; bucket create/delete are obs:bucket:CreateBucket/DeleteBucket).
 */
function obsAction(method: string, key: string | undefined): string | undefined {
  if (key === undefined) {
    return {
      GET: "obs:bucket:ListBucket",
      HEAD: "obs:bucket:HeadBucket",
      PUT: "obs:bucket:CreateBucket",
      DELETE: "obs:bucket:DeleteBucket",
    }[method];
  }
  if (method === "GET" || method === "HEAD") return "obs:object:GetObject";
  if (method === "PUT") return "obs:object:PutObject";
  if (method === "DELETE") return "obs:object:DeleteObject";
  return undefined;
}
