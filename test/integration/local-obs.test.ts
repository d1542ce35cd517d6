import { createHash, createHmac } from "node:crypto";
import type { LookupAddress, LookupOptions } from "node:dns";
import { Agent, request } from "node:http";
import { inspect } from "node:util";
import SdkObsClient from "esdk-obs-nodejs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Iam, repositoryAgencyPolicy } from "../../infra/local/iam";
import {
  DEFAULT_OBS_DOMAIN,
  type ObsObjectSummary,
  type ObsRequestCounts,
  type ObsService,
  startObs,
} from "../../infra/local/obs";
import { ControlError, timeScale } from "../../infra/local/service";
import {
  createObsClient,
  type ObsClient,
  type ObsClientOptions,
  ObsError,
} from "../../shared/state/obs-client";

const BUCKET = "clawwatch-state";

let iam: Iam;
let obs: ObsService;
const clients: ObsClient[] = [];
const raws: SdkObsClient[] = [];
const agents: Agent[] = [];

beforeAll(async () => {
  iam = new Iam();
  obs = await startObs({ iam, time: timeScale(1), buckets: [BUCKET] });
});

afterEach(() => obs.reset());

afterAll(async () => {
  for (const client of clients) client.close();
  for (const raw of raws) raw.close();
  for (const agent of agents) agent.destroy();
  await obs.close();
});

async function client(overrides: Partial<ObsClientOptions> = {}): Promise<ObsClient> {
  const created = await createObsClient({
    server: obs.url,
    ak: iam.root.ak,
    sk: iam.root.sk,
    retryDelayMs: 10,
    ...overrides,
  });
  clients.push(created);
  return created;
}

async function rawClient(options: Partial<SdkObsClient.Options> = {}): Promise<SdkObsClient> {
  const raw = new SdkObsClient({
    access_key_id: iam.root.ak,
    secret_access_key: iam.root.sk,
    server: obs.url,
    ...options,
  });
  await new Promise<void>((resolve) => setImmediate(resolve));
  raws.push(raw);
  return raw;
}

/** Resolves every host name to 127.0.0.1, so the SDK can use virtual-host style locally. */
function loopbackAgent(): Agent {
  const lookup = (
    _host: string,
    options: LookupOptions,
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    if (options.all) callback(null, [{ address: "127.0.0.1", family: 4 }]);
    else callback(null, "127.0.0.1", 4);
  };
  const agent = new Agent({ lookup });
  agents.push(agent);
  return agent;
}

const requests = async (): Promise<ObsRequestCounts> =>
  (await obs.control("requests", {})) as ObsRequestCounts;

async function obsError(promise: Promise<unknown>): Promise<ObsError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ObsError) return error;
    throw error;
  }
  throw new Error("expected the call to fail with an ObsError");
}

const md5Etag = (text: string): string =>
  `"${createHash("md5").update(text, "utf8").digest("hex")}"`;

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A request signed by hand with an independent V2 implementation (HMAC-SHA1 over
 * VERB, Content-MD5, Content-Type, Date, x-amz-/x-obs- headers, resource).
 */
function handSigned(options: {
  method: string;
  path: string;
  date: Date;
  sk: string;
  scheme?: "AWS" | "OBS";
  headers?: Record<string, string>;
  body?: string;
  hostBucket?: string;
}): Promise<RawResponse> {
  const scheme = options.scheme ?? "AWS";
  const prefix = scheme === "OBS" ? "x-obs-" : "x-amz-";
  const headers: Record<string, string> = { date: options.date.toUTCString(), ...options.headers };
  const signedHeaders = Object.keys(headers)
    .filter((name) => name.startsWith(prefix))
    .sort()
    .map((name) => `${name}:${headers[name]}\n`)
    .join("");
  const resource = options.hostBucket ? `/${options.hostBucket}${options.path}` : options.path;
  const stringToSign = [
    options.method,
    headers["content-md5"] ?? "",
    headers["content-type"] ?? "",
    headers[`${prefix}date`] ? "" : (headers.date ?? ""),
    `${signedHeaders}${resource}`,
  ].join("\n");
  const signature = createHmac("sha1", options.sk).update(stringToSign).digest("base64");
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: obs.port,
        method: options.method,
        path: options.path,
        headers: {
          ...headers,
          ...(options.hostBucket ? { host: `${options.hostBucket}.${DEFAULT_OBS_DOMAIN}` } : {}),
          authorization: `${scheme} ${iam.root.ak}:${signature}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

describe("the product's OBS client against the local OBS", () => {
  it("round-trips text, lists across pages, copies and removes", async () => {
    const c = await client({ listPageSize: 2 });
    const state = JSON.stringify({ version: 1, failures: 2 });

    await c.putText(BUCKET, "clawwatch/box-1/state.json", state);
    const read = await c.getText(BUCKET, "clawwatch/box-1/state.json");
    expect(read).toEqual({
      found: true,
      text: state,
      etag: md5Etag(state),
      contentType: "application/json",
    });

    const keys = ["c", "a", "e", "b", "d"].map((n) => `clawwatch/box-1/commands/${n}.json`);
    for (const key of keys) await c.putText(BUCKET, key, "{}");
    await obs.control("clear-requests", {});
    expect(await c.list(BUCKET, "clawwatch/box-1/commands/")).toEqual([...keys].sort());
    // 5 keys at 2 per page: three listObjects requests, each marker taken from the previous page.
    expect((await requests()).byMethod).toEqual({ GET: 3 });

    await c.copy(BUCKET, "clawwatch/box-1/state.json", "clawwatch/box-1/corrupt/state.json");
    const copied = (await obs.control("get-object", {
      bucket: BUCKET,
      key: "clawwatch/box-1/corrupt/state.json",
    })) as { body: string; contentType: string };
    expect(copied).toMatchObject({ body: state, contentType: "application/json" });

    await c.remove(BUCKET, "clawwatch/box-1/state.json");
    expect(await c.getText(BUCKET, "clawwatch/box-1/state.json")).toEqual({ found: false });
    await c.remove(BUCKET, "clawwatch/box-1/state.json");
    expect(await c.list(BUCKET, "clawwatch/box-2/")).toEqual([]);
  });

  it("reports a missing key as not found and a missing bucket as an ObsError", async () => {
    const c = await client();
    expect(await c.getText(BUCKET, "no/such/key.json")).toEqual({ found: false });

    const error = await obsError(c.getText("no-such-bucket", "state.json"));
    expect(error).toMatchObject({ status: 404, code: "NoSuchBucket", kind: "http" });
    expect(error.message).toContain("check the bucket name");
    expect(error.requestId).toMatch(/^[0-9A-F]{32}$/);
  });

  it("keeps a non-JSON content type, which a raw putObject with a Body cannot", async () => {
    const c = await client();
    await c.putText(BUCKET, "notes/readme.txt", "hello\n", "text/plain");
    expect(await c.getText(BUCKET, "notes/readme.txt")).toMatchObject({
      found: true,
      text: "hello\n",
      contentType: "text/plain",
    });

    const sdk = await rawClient();
    const put = await sdk.putObject({
      Bucket: BUCKET,
      Key: "notes/raw.txt",
      Body: "hello",
      ContentType: "text/plain",
    });
    expect(put.CommonMsg.Status).toBe(200);
    const head = await sdk.getObjectMetadata({ Bucket: BUCKET, Key: "notes/raw.txt" });
    expect(head.InterfaceResult?.ContentType).toBe("application/json");
  });

  it("serves metadata, ETag, LastModified and delimiter listings to the raw SDK", async () => {
    const c = await client();
    const sdk = await rawClient();
    const key = "meta/a b+c!.json";
    const put = await sdk.putObject({
      Bucket: BUCKET,
      Key: key,
      Body: '{"x":1}',
      Metadata: { owner: "watchdog" },
    });
    expect(put.InterfaceResult?.ETag).toBe(md5Etag('{"x":1}'));

    const get = await sdk.getObject({ Bucket: BUCKET, Key: key });
    expect(get.CommonMsg.Status).toBe(200);
    expect(get.InterfaceResult).toMatchObject({
      Content: '{"x":1}',
      ContentType: "application/json",
      ETag: md5Etag('{"x":1}'),
      Metadata: { owner: "watchdog" },
    });
    expect(Date.parse(get.InterfaceResult?.LastModified ?? "")).not.toBeNaN();

    const head = await sdk.getObjectMetadata({ Bucket: BUCKET, Key: key });
    expect(head.InterfaceResult).toMatchObject({
      ContentLength: "7",
      Metadata: { owner: "watchdog" },
    });

    const copy = await sdk.copyObject({
      Bucket: BUCKET,
      Key: "meta/copy.json",
      CopySource: `${BUCKET}/${key}`,
    });
    expect(copy.CommonMsg.Status).toBe(200);
    expect(copy.InterfaceResult?.ETag).toBe(md5Etag('{"x":1}'));

    await c.putText(BUCKET, "top.json", "{}");
    const listed = await sdk.listObjects({ Bucket: BUCKET, Delimiter: "/", MaxKeys: 1000 });
    expect(listed.InterfaceResult?.CommonPrefixes.map((p) => p.Prefix)).toEqual(
      expect.arrayContaining(["meta/"]),
    );
    expect(listed.InterfaceResult?.Contents.map((o) => o.Key)).toContain("top.json");
    expect(listed.InterfaceResult?.IsTruncated).toBe("false");

    const missing = await sdk.getObjectMetadata({ Bucket: BUCKET, Key: "meta/none" });
    expect(missing.CommonMsg).toMatchObject({ Status: 404, Code: "NoSuchKey" });
  });

  it("answers If-None-Match with 304 and a failed If-Match with 412", async () => {
    const c = await client();
    const sdk = await rawClient();
    await c.putText(BUCKET, "cond.json", "{}");
    const etag = md5Etag("{}").replaceAll('"', "");

    const same = await sdk.getObject({ Bucket: BUCKET, Key: "cond.json", IfNoneMatch: etag });
    expect(same.CommonMsg.Status).toBe(304);
    const other = await sdk.getObject({ Bucket: BUCKET, Key: "cond.json", IfMatch: "0123" });
    expect(other.CommonMsg).toMatchObject({ Status: 412, Code: "PreconditionFailed" });
    const match = await sdk.getObject({ Bucket: BUCKET, Key: "cond.json", IfMatch: etag });
    expect(match.CommonMsg.Status).toBe(200);
    // The SDK URL-encodes header values: a quoted ETag arrives as %22…%22 and matches nothing.
    const quoted = await sdk.getObject({
      Bucket: BUCKET,
      Key: "cond.json",
      IfNoneMatch: `"${etag}"`,
    });
    expect(quoted.CommonMsg.Status).toBe(200);
  });

  it("creates, heads and refuses to re-create buckets", async () => {
    const raw = await rawClient();
    expect((await raw.createBucket({ Bucket: "fresh-bucket" })).CommonMsg.Status).toBe(200);
    expect((await raw.createBucket({ Bucket: "fresh-bucket" })).CommonMsg).toMatchObject({
      Status: 409,
      Code: "BucketAlreadyOwnedByYou",
    });
    expect((await raw.headBucket({ Bucket: "fresh-bucket" })).CommonMsg.Status).toBe(200);
    expect((await raw.headBucket({ Bucket: "missing-bucket" })).CommonMsg).toMatchObject({
      Status: 404,
      Code: "NoSuchBucket",
    });
    raw.close();
  });
});

describe("signature checks", () => {
  it("rejects a wrong secret key with 403 SignatureDoesNotMatch in the real XML shape", async () => {
    const wrongSk = "WRONGSECRETKEY0123456789";
    const c = await client({ sk: wrongSk });
    const error = await obsError(c.getText(BUCKET, "state.json"));
    expect(error).toMatchObject({ status: 403, code: "SignatureDoesNotMatch", attempts: 1 });
    expect(error.message).toContain("check that the secret key belongs to this access key");
    expect(error.message).not.toContain(wrongSk);

    const raw = await handSigned({
      method: "GET",
      path: `/${BUCKET}/state.json`,
      date: new Date(),
      sk: wrongSk,
    });
    expect(raw.status).toBe(403);
    const requestId = raw.headers["x-amz-request-id"];
    expect(raw.body).toMatch(
      new RegExp(
        `<Error><Code>SignatureDoesNotMatch</Code><Message>[^<]+</Message><RequestId>${requestId}</RequestId><HostId>[^<]+</HostId></Error>$`,
      ),
    );
  });

  it("signs sub-resources in the query as the SDK does (a wrong resource would be a 403)", async () => {
    const c = await client();
    const sdk = await rawClient();
    await c.putText(BUCKET, "sub.json", "{}");
    const versioned = await sdk.getObject({ Bucket: BUCKET, Key: "sub.json", VersionId: "v 1" });
    expect(versioned.CommonMsg).toMatchObject({ Status: 501, Code: "NotImplemented" });
    // The hand signer signs path and query verbatim: right for a sub-resource such as ?acl…
    const acl = await handSigned({
      method: "GET",
      path: `/${BUCKET}/sub.json?acl`,
      date: new Date(),
      sk: iam.root.sk,
    });
    expect(acl.body).toContain("<Code>NotImplemented</Code>");
    // …and wrong for an ordinary parameter, which OBS leaves out of the resource.
    const prefix = await handSigned({
      method: "GET",
      path: `/${BUCKET}/sub.json?prefix=x`,
      date: new Date(),
      sk: iam.root.sk,
    });
    expect(prefix.status).toBe(403);
    expect(prefix.body).toContain("<Code>SignatureDoesNotMatch</Code>");
  });

  it("rejects an unknown access key with 403 InvalidAccessKeyId", async () => {
    const c = await client({ ak: "UNKNOWNAK0000000000" });
    const error = await obsError(c.putText(BUCKET, "state.json", "{}"));
    expect(error).toMatchObject({ status: 403, code: "InvalidAccessKeyId" });
    expect(error.message).toContain("check the access key");
  });

  it("allows an agency's key only the repository policy's prefix, AccessDenied elsewhere", async () => {
    iam.setAgency("clawwatch-watchdog", [repositoryAgencyPolicy(BUCKET, "watchdog")]);
    const temporary = iam.issueTemporary("clawwatch-watchdog");
    const agency = await client({
      ak: temporary.ak,
      sk: temporary.sk,
      securityToken: temporary.securityToken,
    });
    await agency.putText(BUCKET, "clawwatch/boxes/a/state.json", "{}");
    expect(await agency.getText(BUCKET, "clawwatch/boxes/a/state.json")).toMatchObject({
      found: true,
      text: "{}",
    });
    const outside = await obsError(agency.putText(BUCKET, "elsewhere/state.json", "{}"));
    expect(outside).toMatchObject({ status: 403, code: "AccessDenied" });
    expect(iam.deniedCalls().at(-1)).toMatchObject({
      agency: "clawwatch-watchdog",
      action: "obs:object:PutObject",
      resource: `OBS:*:*:object:${BUCKET}/elsewhere/state.json`,
    });
  });

  it("accepts temporary credentials only together with their security token", async () => {
    const temporary = iam.issueTemporary();
    const withToken = await client({
      ak: temporary.ak,
      sk: temporary.sk,
      securityToken: temporary.securityToken,
    });
    await withToken.putText(BUCKET, "agency.json", "{}");
    expect(await withToken.getText(BUCKET, "agency.json")).toMatchObject({
      found: true,
      text: "{}",
    });

    const withoutToken = await client({ ak: temporary.ak, sk: temporary.sk });
    expect(await obsError(withoutToken.getText(BUCKET, "agency.json"))).toMatchObject({
      status: 403,
      code: "InvalidAccessKeyId",
    });

    const otherToken = iam.issueTemporary().securityToken;
    const wrongToken = await client({
      ak: temporary.ak,
      sk: temporary.sk,
      securityToken: otherToken,
    });
    const error = await obsError(wrongToken.getText(BUCKET, "agency.json"));
    expect(error).toMatchObject({ status: 403, code: "InvalidAccessKeyId" });
    expect(error.message).not.toContain(otherToken);
  });

  it("rejects a request signed 20 minutes ago with 403 RequestTimeTooSkewed", async () => {
    await obs.control("put-object", { bucket: BUCKET, key: "skew.json", body: "{}" });
    const path = `/${BUCKET}/skew.json`;
    const fresh = await handSigned({ method: "GET", path, date: new Date(), sk: iam.root.sk });
    expect(fresh).toMatchObject({ status: 200, body: "{}" });

    const old = new Date(Date.now() - 20 * 60_000);
    const skewed = await handSigned({ method: "GET", path, date: old, sk: iam.root.sk });
    expect(skewed.status).toBe(403);
    expect(skewed.body).toContain("<Code>RequestTimeTooSkewed</Code>");
    expect(skewed.body).toContain(`<RequestTime>${old.toUTCString()}</RequestTime>`);
  });

  it("verifies the OBS scheme: by hand with x-obs-date, and from the SDK in virtual-host style", async () => {
    const body = "hello obs";
    const put = await handSigned({
      method: "PUT",
      path: "/hand.txt",
      hostBucket: BUCKET,
      scheme: "OBS",
      date: new Date(Date.now() - 60 * 60_000), // ignored: x-obs-date takes its place
      sk: iam.root.sk,
      headers: {
        "content-type": "text/plain",
        "x-obs-date": new Date().toUTCString(),
        "x-obs-meta-purpose": "test",
      },
      body,
    });
    expect(put.status).toBe(200);
    expect(put.headers.etag).toBe(md5Etag(body));
    expect(put.headers["x-obs-request-id"]).toMatch(/^[0-9A-F]{32}$/);
    const view = (await obs.control("get-object", { bucket: BUCKET, key: "hand.txt" })) as {
      contentType: string;
      metadata: Record<string, string>;
    };
    expect(view).toMatchObject({ contentType: "text/plain", metadata: { purpose: "test" } });

    // With a host name the SDK negotiates (unsigned HEAD ?apiversion), then signs with OBS.
    const raw = await rawClient({
      server: `http://${DEFAULT_OBS_DOMAIN}:${obs.port}`,
      http_agent: loopbackAgent(),
    });
    await obs.control("clear-requests", {});
    const sdkPut = await raw.putObject({
      Bucket: BUCKET,
      Key: "vhost.json",
      Body: "{}",
      Metadata: { a: "b" },
    });
    expect(sdkPut.CommonMsg.Status).toBe(200);
    expect(await requests()).toEqual({
      total: 2,
      byMethod: { HEAD: 1, PUT: 1 },
      byScheme: { anonymous: 1, OBS: 1 },
    });
    const sdkGet = await raw.getObject({ Bucket: BUCKET, Key: "vhost.json" });
    expect(sdkGet.InterfaceResult).toMatchObject({ Content: "{}", Metadata: { a: "b" } });
    expect(sdkGet.CommonMsg.RequestId).toMatch(/^[0-9A-F]{32}$/);
    const listed = await raw.listObjects({ Bucket: BUCKET, Prefix: "vhost" });
    expect(listed.InterfaceResult?.Contents.map((o) => o.Key)).toEqual(["vhost.json"]);
    raw.close();
  });
});

describe("faults", () => {
  it("answers with 5xx while `error` is set; the client retries, then throws", async () => {
    const c = await client({ maxRetryCount: 2 });
    await obs.control("error", { status: 503 });
    await obs.control("clear-requests", {});
    const error = await obsError(c.getText(BUCKET, "state.json"));
    expect(error).toMatchObject({ status: 503, code: "ServiceUnavailable", attempts: 3 });
    expect(error.message).toContain("try again later");
    expect((await requests()).total).toBe(3);

    await obs.control("error", { status: 500, count: 1 });
    await obs.control("clear-requests", {});
    await c.putText(BUCKET, "after-error.json", "{}");
    expect((await requests()).byMethod).toEqual({ PUT: 2 });
  });

  it("delays answers with `latency`; past the timeout the client gives up", async () => {
    const c = await client({ timeoutSeconds: 0.5, maxRetryCount: 0 });
    await c.putText(BUCKET, "slow.json", "{}");
    await obs.control("latency", { ms: 100 });
    expect(await c.getText(BUCKET, "slow.json")).toMatchObject({ found: true });

    await obs.control("latency", { ms: 1_000 });
    const error = await obsError(c.getText(BUCKET, "slow.json"));
    expect(error).toMatchObject({ kind: "timeout", status: undefined, attempts: 1 });
    expect(error.message).toContain("did not answer within 0.5 s");
    expect((error.cause as Error).name).toBe("TimeoutError");
  });

  it("resets connections while `down`, with a network cause, until `up`", async () => {
    const c = await client();
    await obs.control("down", {});
    const error = await obsError(c.getText(BUCKET, "state.json"));
    expect(error).toMatchObject({
      kind: "network",
      status: undefined,
      code: undefined,
      attempts: 2,
    });
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.message).toContain(`could not reach OBS at 127.0.0.1:${obs.port}`);

    await obs.control("up", {});
    expect(await c.getText(BUCKET, "state.json")).toEqual({ found: false });
  });

  it("refuses signed requests under a `deny` rule with AccessDenied", async () => {
    const c = await client();
    await obs.control("deny", { bucket: BUCKET, prefix: "clawwatch/" });
    const error = await obsError(c.putText(BUCKET, "clawwatch/x.json", "{}"));
    expect(error).toMatchObject({ status: 403, code: "AccessDenied" });
    expect(error.message).toContain("the agency's OBS permissions");
    await c.putText(BUCKET, "elsewhere.json", "{}");
  });
});

describe("SDK traps", () => {
  it("a client is usable as soon as createObsClient resolves; a raw one is not in its first tick", async () => {
    const c = await createObsClient({ server: obs.url, ak: iam.root.ak, sk: iam.root.sk });
    clients.push(c);
    expect(await c.getText(BUCKET, "first-tick.json")).toEqual({ found: false });

    const raw = new SdkObsClient({
      access_key_id: iam.root.ak,
      secret_access_key: iam.root.sk,
      server: obs.url,
    });
    await expect(raw.getObject({ Bucket: BUCKET, Key: "first-tick.json" })).rejects.toThrow(
      "reading 'signature'",
    );
  });

  it("with negotiation on, a first-tick failure leaves the bucket locked (why it is off)", async () => {
    const raw = new SdkObsClient({
      access_key_id: iam.root.ak,
      secret_access_key: iam.root.sk,
      server: `http://${DEFAULT_OBS_DOMAIN}:${obs.port}`,
      http_agent: loopbackAgent(),
    });
    await expect(raw.getObject({ Bucket: BUCKET, Key: "x" })).rejects.toThrow(
      "reading 'signature'",
    );
    const never = raw.getObject({ Bucket: BUCKET, Key: "x" }).then(() => "answered");
    const timer = new Promise((resolve) => setTimeout(() => resolve("still waiting"), 300));
    expect(await Promise.race([never, timer])).toBe("still waiting");
  });

  it("prints nothing, and puts no key or token in errors, when calls fail", async () => {
    const temporary = iam.issueTemporary();
    const printed: string[] = [];
    const stdoutWrite = process.stdout.write;
    const stderrWrite = process.stderr.write;
    const tap =
      (original: typeof process.stdout.write, stream: NodeJS.WriteStream) =>
      (...args: Parameters<typeof process.stdout.write>): boolean => {
        printed.push(String(args[0]));
        return original.apply(stream, args);
      };
    process.stdout.write = tap(stdoutWrite, process.stdout) as typeof process.stdout.write;
    process.stderr.write = tap(stderrWrite, process.stderr) as typeof process.stderr.write;
    const errors: unknown[] = [];
    try {
      const wrongSk = await client({
        ak: temporary.ak,
        sk: "BADSECRET",
        securityToken: temporary.securityToken,
      });
      errors.push(await obsError(wrongSk.getText(BUCKET, "x.json")));
      const noToken = await client({ ak: temporary.ak, sk: temporary.sk });
      errors.push(await obsError(noToken.putText(BUCKET, "x.json", "{}")));
      const good = await client({
        ak: temporary.ak,
        sk: temporary.sk,
        securityToken: temporary.securityToken,
      });
      await obs.control("error", { status: 500 });
      errors.push(await obsError(good.list(BUCKET, "")));
      await obs.control("down", {});
      errors.push(await obsError(good.copy(BUCKET, "a", "b")));
      const raw = await rawClient({
        access_key_id: temporary.ak,
        secret_access_key: temporary.sk,
        security_token: temporary.securityToken,
      });
      errors.push(await raw.getObject({ Bucket: BUCKET, Key: "x.json" }).catch((e: unknown) => e));
    } finally {
      process.stdout.write = stdoutWrite;
      process.stderr.write = stderrWrite;
    }
    expect(errors).toHaveLength(5);
    const everything = [
      ...printed,
      ...errors.map((e) => `${String(e)}\n${inspect(e, { depth: 5 })}`),
    ].join("\n");
    for (const secret of [temporary.sk, temporary.securityToken, iam.root.sk]) {
      expect(everything).not.toContain(secret);
    }
    expect(printed.join("")).toBe("");
  });

  it("refuses bad options with an ObsError, never an unhandled rejection", async () => {
    const base = { server: obs.url, ak: iam.root.ak, sk: iam.root.sk };
    await expect(createObsClient({ ...base, server: "obs.example.com" })).rejects.toThrow(
      /must be a URL/,
    );
    await expect(createObsClient({ ...base, server: "ftp://127.0.0.1" })).rejects.toThrow(ObsError);
    await expect(createObsClient({ ...base, timeoutSeconds: 0 })).rejects.toThrow(
      /timeoutSeconds must be a number of seconds > 0/,
    );
    const missing = await obsError(createObsClient({ ...base, sk: "" }));
    expect(missing).toMatchObject({ kind: "config" });
    expect(missing.message).not.toContain(iam.root.ak);
  });
});

describe("control actions", () => {
  it("plants, lists and shows objects; counts requests", async () => {
    await obs.control("put-object", {
      bucket: BUCKET,
      key: "clawwatch/box-9/state.json",
      body: "{not json",
      contentType: "text/plain",
    });
    const c = await client();
    expect(await c.getText(BUCKET, "clawwatch/box-9/state.json")).toMatchObject({
      found: true,
      text: "{not json",
      contentType: "text/plain",
    });
    const objects = (await obs.control("objects", {
      bucket: BUCKET,
      prefix: "clawwatch/box-9/",
    })) as ObsObjectSummary[];
    expect(objects).toEqual([
      expect.objectContaining({
        key: "clawwatch/box-9/state.json",
        size: 9,
        etag: md5Etag("{not json"),
      }),
    ]);
    expect(await requests()).toMatchObject({
      total: 1,
      byMethod: { GET: 1 },
      byScheme: { AWS: 1 },
    });
    await obs.control("clear-requests", {});
    expect((await requests()).total).toBe(0);
  });

  it("rejects unknown actions and bad parameters with a ControlError", async () => {
    await expect(obs.control("explode", {})).rejects.toThrow(ControlError);
    await expect(obs.control("error", { status: 200 })).rejects.toThrow(/HTTP error status/);
    await expect(obs.control("get-object", { bucket: BUCKET, key: "none" })).rejects.toMatchObject({
      status: 404,
    });
    await expect(
      obs.control("put-object", { bucket: "no-bucket", key: "k", body: "" }),
    ).rejects.toThrow(/create-bucket/);
  });
});
