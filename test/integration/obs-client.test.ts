import type { LookupAddress, LookupOptions } from "node:dns";
import { inspect } from "node:util";
import type { Agent } from "undici-types";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Listening, listen, sendText } from "../../infra/local/http";
import { Iam } from "../../infra/local/iam";
import {
  DEFAULT_OBS_DOMAIN,
  type ObsRequestCounts,
  type ObsService,
  startObs,
} from "../../infra/local/obs";
import { timeScale } from "../../infra/local/service";
import {
  createObsClient,
  type ObsClient,
  type ObsClientOptions,
  ObsError,
} from "../../shared/state/obs-client";
import { decodeXmlText, xmlValues } from "../../shared/state/obs-xml";

/**
 * The fetch-based OBS client against the local OBS, whose signature check (infra/local/obs-signing.ts)
 * is the one the real esdk-obs-nodejs passes in local-obs.test.ts: V2 with x-amz-* headers in path
 * style on the IP endpoint, the OBS scheme with x-obs-* headers in virtual-host style on a name.
 */

const BUCKET = "clawwatch-state";
/** Keys that need percent-encoding in the path and entities in the listing XML. */
const ODD_KEYS = [
  "clawwatch/odd/a&b<c>\"q'.json",
  "clawwatch/odd/box 1/ü ñ+%25.json",
  "clawwatch/odd/semi;colon=eq?and#hash.json",
];

let iam: Iam;
let obs: ObsService;
let loopback: Agent;
const clients: ObsClient[] = [];

beforeAll(async () => {
  iam = new Iam();
  obs = await startObs({ iam, time: timeScale(1), buckets: [BUCKET] });
  loopback = await loopbackAgent();
});

afterEach(() => obs.reset());

afterAll(async () => {
  for (const client of clients) client.close();
  await loopback?.close();
  await obs?.close();
});

/**
 * An undici Agent whose DNS answers 127.0.0.1 for every name, so `<bucket>.obs.clawwatch.test`
 * reaches the emulator. Node does not export undici's Agent class; the global dispatcher, which
 * Node creates on the first fetch, is an instance of it.
 */
async function loopbackAgent(): Promise<Agent> {
  await fetch(obs.url).then((response) => response.arrayBuffer());
  const global = (globalThis as Record<symbol, unknown>)[Symbol.for("undici.globalDispatcher.1")];
  if (typeof global !== "object" || global === null) {
    throw new Error("this Node has no undici global dispatcher to borrow the Agent class from");
  }
  const AgentClass = global.constructor as new (options: Agent.Options) => Agent;
  const lookup = (
    _host: string,
    options: LookupOptions,
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    if (options.all) callback(null, [{ address: "127.0.0.1", family: 4 }]);
    else callback(null, "127.0.0.1", 4);
  };
  return new AgentClass({ connect: { lookup } });
}

const viaLoopback: typeof fetch = (input, init) =>
  fetch(input, { ...init, dispatcher: loopback } as RequestInit);

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

/** The OBS scheme: a host name, virtual-host style, resolved to the emulator. */
const obsScheme = (overrides: Partial<ObsClientOptions> = {}): Promise<ObsClient> =>
  client({ server: `http://${DEFAULT_OBS_DOMAIN}:${obs.port}`, fetch: viaLoopback, ...overrides });

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

/** Message, every cause, util.inspect: no secret anywhere. */
function expectClean(error: unknown, secrets: readonly string[]): void {
  const seen = [inspect(error, { depth: 8, showHidden: true })];
  for (let e: unknown = error; e instanceof Error; e = e.cause)
    seen.push(e.message, String(e.stack));
  for (const text of seen) for (const secret of secrets) expect(text).not.toContain(secret);
}

/** put, get, list (paged), copy and remove of plain and odd keys; returns the keys it listed. */
async function roundTrip(c: ObsClient, prefix: string): Promise<void> {
  const keys = [`${prefix}/state.json`, ...ODD_KEYS.map((k) => k.replace("clawwatch/odd", prefix))];
  for (const [i, key] of keys.entries()) await c.putText(BUCKET, key, `{"n":${i}}`);
  for (const [i, key] of keys.entries()) {
    expect(await c.getText(BUCKET, key)).toMatchObject({
      found: true,
      text: `{"n":${i}}`,
      contentType: "application/json",
    });
  }
  expect(await c.list(BUCKET, `${prefix}/`)).toEqual(
    [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
  );

  const from = keys[1] ?? "";
  await c.copy(BUCKET, from, `${prefix}/corrupt/copy.json`);
  const copied = (await obs.control("get-object", {
    bucket: BUCKET,
    key: `${prefix}/corrupt/copy.json`,
  })) as { body: string; contentType: string };
  expect(copied).toEqual(
    expect.objectContaining({ body: '{"n":1}', contentType: "application/json" }),
  );

  for (const key of keys) await c.remove(BUCKET, key);
  await c.remove(BUCKET, `${prefix}/corrupt/copy.json`);
  expect(await c.list(BUCKET, `${prefix}/`)).toEqual([]);
  expect(await c.getText(BUCKET, from)).toEqual({ found: false });
}

describe("V2 (AWS) scheme, path style, on the IP endpoint", () => {
  it("round-trips plain and odd keys, across list pages, signed AWS only", async () => {
    const c = await client({ listPageSize: 2 });
    await obs.control("clear-requests", {});
    await roundTrip(c, "v2");
    expect((await requests()).byScheme).toEqual({ AWS: expect.any(Number) });
  });

  it("keeps the content type given", async () => {
    const c = await client();
    await c.putText(BUCKET, "notes/readme.txt", "hello\n", "text/plain");
    expect(await c.getText(BUCKET, "notes/readme.txt")).toMatchObject({
      text: "hello\n",
      contentType: "text/plain",
    });
    await c.putText(BUCKET, "notes/empty.json", "");
    expect(await c.getText(BUCKET, "notes/empty.json")).toMatchObject({ found: true, text: "" });
  });

  it("pages with the marker: 5 keys at 2 per page is three GETs", async () => {
    const c = await client({ listPageSize: 2 });
    const keys = ["c", "a", "e", "b", "d"].map((n) => `pages/${n}&.json`);
    for (const key of keys) await c.putText(BUCKET, key, "{}");
    await obs.control("clear-requests", {});
    expect(await c.list(BUCKET, "pages/")).toEqual([...keys].sort());
    expect((await requests()).byMethod).toEqual({ GET: 3 });
  });

  it("signs temporary credentials with their security token, and is refused without it", async () => {
    const temporary = iam.issueTemporary();
    const agency = await client({
      ak: temporary.ak,
      sk: temporary.sk,
      securityToken: temporary.securityToken,
    });
    await agency.putText(BUCKET, "agency/v2.json", "{}");
    expect(await agency.getText(BUCKET, "agency/v2.json")).toMatchObject({ found: true });

    const noToken = await client({ ak: temporary.ak, sk: temporary.sk });
    const error = await obsError(noToken.getText(BUCKET, "agency/v2.json"));
    expect(error).toMatchObject({ status: 403, code: "InvalidAccessKeyId", attempts: 1 });
    expect(error.message).toContain("temporary (agency) keys also need their security token");
    expectClean(error, [temporary.sk, temporary.securityToken]);
  });

  it("reports a wrong secret key as SignatureDoesNotMatch, once, without the key", async () => {
    const c = await client({ sk: "WRONG-secret-key-0123456789" });
    const error = await obsError(c.putText(BUCKET, "x.json", "{}"));
    expect(error).toMatchObject({ kind: "http", status: 403, code: "SignatureDoesNotMatch" });
    expect(error.requestId).toMatch(/^[0-9A-F]{32}$/);
    expect(error.message).toContain("clock is right");
    expectClean(error, ["WRONG-secret-key-0123456789", iam.root.sk]);
  });

  it("reports a missing bucket as NoSuchBucket and a missing key as not found", async () => {
    const c = await client();
    expect(await c.getText(BUCKET, "none.json")).toEqual({ found: false });
    const error = await obsError(c.getText("no-such-bucket", "state.json"));
    expect(error).toMatchObject({ status: 404, code: "NoSuchBucket", bucket: "no-such-bucket" });
  });
});

describe("OBS scheme, virtual-host style, on a host name", () => {
  it("round-trips plain and odd keys, signed OBS only, with no extra request", async () => {
    const c = await obsScheme({ listPageSize: 2 });
    await obs.control("clear-requests", {});
    await roundTrip(c, "vhost");
    const counts = await requests();
    expect(counts.byScheme).toEqual({ OBS: counts.total });
  });

  it("signs temporary credentials with x-obs-security-token", async () => {
    const temporary = iam.issueTemporary();
    const agency = await obsScheme({
      ak: temporary.ak,
      sk: temporary.sk,
      securityToken: temporary.securityToken,
    });
    await agency.putText(BUCKET, "agency/obs.json", '{"ok":true}');
    expect(await agency.getText(BUCKET, "agency/obs.json")).toMatchObject({ text: '{"ok":true}' });
    expect(await agency.list(BUCKET, "agency/")).toContain("agency/obs.json");

    const otherToken = iam.issueTemporary().securityToken;
    const wrong = await obsScheme({
      ak: temporary.ak,
      sk: temporary.sk,
      securityToken: otherToken,
    });
    const error = await obsError(wrong.list(BUCKET, "agency/"));
    expect(error).toMatchObject({ status: 403, code: "InvalidAccessKeyId" });
    expectClean(error, [temporary.sk, temporary.securityToken, otherToken]);
  });

  it("is refused with a wrong secret key", async () => {
    const c = await obsScheme({ sk: "WRONG-secret-key-0123456789" });
    const error = await obsError(c.getText(BUCKET, "x.json"));
    expect(error).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
  });
});

describe("faults and retries", () => {
  it("retries 5xx with a pause, then throws with the attempts counted", async () => {
    const c = await client({ maxRetryCount: 2 });
    await obs.control("error", { status: 503 });
    await obs.control("clear-requests", {});
    const error = await obsError(c.getText(BUCKET, "state.json"));
    expect(error).toMatchObject({ status: 503, code: "ServiceUnavailable", attempts: 3 });
    expect(error.message).toContain("try again later");
    expect((await requests()).total).toBe(3);
  });

  it("gets through a single 500 or 429 on the retry", async () => {
    const c = await client();
    await obs.control("error", { status: 500, count: 1 });
    await obs.control("clear-requests", {});
    await c.putText(BUCKET, "after-500.json", "{}");
    expect((await requests()).byMethod).toEqual({ PUT: 2 });

    await obs.control("error", { status: 429, count: 1 });
    await obs.control("clear-requests", {});
    expect(await c.list(BUCKET, "after-500")).toEqual(["after-500.json"]);
    expect((await requests()).byMethod).toEqual({ GET: 2 });
  });

  it("does not retry a 403", async () => {
    const c = await client({ maxRetryCount: 3 });
    await obs.control("deny", { bucket: BUCKET, prefix: "locked/" });
    await obs.control("clear-requests", {});
    const error = await obsError(c.putText(BUCKET, "locked/x.json", "{}"));
    expect(error).toMatchObject({ status: 403, code: "AccessDenied", attempts: 1 });
    expect((await requests()).total).toBe(1);
  });

  it("aborts an attempt after timeoutSeconds and retries it", async () => {
    const c = await client({ timeoutSeconds: 0.2, maxRetryCount: 1 });
    await obs.control("latency", { ms: 600 });
    await obs.control("clear-requests", {});
    const error = await obsError(c.getText(BUCKET, "slow.json"));
    expect(error).toMatchObject({ kind: "timeout", status: undefined, attempts: 2 });
    expect(error.message).toContain("did not answer within 0.2 s");
    expect((error.cause as Error).name).toBe("TimeoutError");
    expect((await requests()).total).toBe(2);
  });

  it("reports a cut connection as a network error with the socket's code", async () => {
    const c = await obsScheme();
    await obs.control("down", {});
    const error = await obsError(c.copy(BUCKET, "a.json", "b.json"));
    expect(error).toMatchObject({ kind: "network", status: undefined, attempts: 2 });
    expect(error.message).toMatch(
      new RegExp(`could not reach OBS at ${DEFAULT_OBS_DOMAIN}:${obs.port} \\(\\w+\\)`),
    );
    expect(error.cause).toBeInstanceOf(Error);
    await obs.control("up", {});
    expect(await c.getText(BUCKET, "a.json")).toEqual({ found: false });
  });
});

describe("answers the emulator never gives", () => {
  let odd: Listening;
  let answer: (method: string, url: string) => { status: number; type: string; body: string };
  const seen: string[] = [];

  beforeAll(async () => {
    odd = await listen((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const { status, type, body } = answer(req.method ?? "", req.url ?? "");
      sendText(res, status, body, type);
    });
  });
  afterEach(() => {
    seen.length = 0;
  });
  afterAll(async () => {
    await odd?.close();
  });

  const xml = (inner: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${inner}`;

  it("decodes entities and CDATA, and pages on the last key when NextMarker is absent", async () => {
    answer = (_method, url) => ({
      status: 200,
      type: "application/xml",
      body: url.includes("marker=")
        ? xml(
            "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/z</Key></Contents></ListBucketResult>",
          )
        : xml(
            "<ListBucketResult><Name>b</Name><Prefix>p/</Prefix><IsTruncated>true</IsTruncated>" +
              "<Contents><Key>p/a&amp;b&#x3C;c&#60;d&apos;&quot;.json</Key><Owner><ID>x</ID></Owner></Contents>" +
              "<Contents>\n  <Key><![CDATA[p/<raw>&amp;]]></Key>\n</Contents></ListBucketResult>",
          ),
    });
    const c = await client({ server: odd.url });
    expect(await c.list(BUCKET, "p/")).toEqual([`p/a&b<c<d'".json`, "p/<raw>&amp;", "p/z"]);
    expect(seen[1]).toContain(`marker=${encodeURIComponent("p/<raw>&amp;")}`);
  });

  it("refuses a truncated page that gives no way to go on", async () => {
    answer = () => ({
      status: 200,
      type: "application/xml",
      body: xml("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"),
    });
    const c = await client({ server: odd.url });
    const error = await obsError(c.list(BUCKET, "p/"));
    expect(error.message).toContain("truncated page without a next marker");
  });

  it("retries a copy answered 200 with an Error document, then reports its code", async () => {
    answer = () => ({
      status: 200,
      type: "application/xml",
      body: xml(
        "<Error><Code>InternalError</Code><Message>copy failed &amp; rolled back</Message><RequestId>R1</RequestId></Error>",
      ),
    });
    const c = await client({ server: odd.url });
    const error = await obsError(c.copy(BUCKET, "a.json", "b.json"));
    expect(error).toMatchObject({ status: 200, code: "InternalError", attempts: 2 });
    expect(error.message).toContain('OBS said: "copy failed & rolled back"');
    expect(error.requestId).toBe("R1");
    expect(seen).toHaveLength(2);
  });

  it("treats a proxy's HTML 502 as a retryable HTTP error without a code", async () => {
    answer = () => ({
      status: 502,
      type: "text/html",
      body: "<html><body>Bad Gateway</body></html>",
    });
    const c = await client({ server: odd.url });
    const error = await obsError(c.getText(BUCKET, "state.json"));
    expect(error).toMatchObject({ kind: "http", status: 502, code: undefined, attempts: 2 });
  });
});

describe("refused before anything is sent", () => {
  it("refuses bad options, bucket names and keys, and a closed client", async () => {
    const base = { server: obs.url, ak: iam.root.ak, sk: iam.root.sk };
    for (const bad of [
      { timeoutSeconds: 0 },
      { timeoutSeconds: Number.NaN },
      { listPageSize: 0 },
    ]) {
      expect(await obsError(createObsClient({ ...base, ...bad }))).toMatchObject({
        kind: "config",
      });
    }
    const missing = await obsError(createObsClient({ ...base, sk: "" }));
    expect(missing.message).not.toContain(iam.root.ak);

    const c = await client();
    await obs.control("clear-requests", {});
    for (const bucket of ["Upper", "a", "evil.com/x", "b..c"]) {
      expect(await obsError(c.getText(bucket, "k"))).toMatchObject({ kind: "config" });
    }
    for (const key of ["", "a/../b", "./a", "a/."]) {
      expect(await obsError(c.putText(BUCKET, key, "{}"))).toMatchObject({ kind: "config" });
    }
    expect(await obsError(c.copy(BUCKET, "../x", "y"))).toMatchObject({ kind: "config" });
    c.close();
    const closed = await obsError(c.getText(BUCKET, "k"));
    expect(closed.message).toContain("client was closed");
    expect((await requests()).total).toBe(0);
  });
});

describe("the XML reader", () => {
  it("decodes the five entities and numeric references in one pass, and leaves others", () => {
    expect(decodeXmlText("&amp;lt; &lt;&gt;&quot;&apos; &#65;&#x42; &nbsp; &#xFFFFFFF;")).toBe(
      `&lt; <>"' AB &nbsp; &#xFFFFFFF;`,
    );
  });

  it("reads self-closing and attributed elements, and none from a different name", () => {
    expect(xmlValues('<a><Key/><Key x="1">k</Key><KeyMarker>no</KeyMarker></a>', "Key")).toEqual([
      "",
      "k",
    ]);
  });
});
