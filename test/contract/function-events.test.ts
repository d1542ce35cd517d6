import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lookupGateway } from "../../infra/deploy/apig";
import { createFunctionGraphClient } from "../../infra/deploy/fgs-client";
import {
  ensureApig,
  ensureTimer,
  listTriggers,
  type Target,
  upsertFunction,
} from "../../infra/deploy/functions";
import { startFunctionGraph } from "../../infra/local/functiongraph";
import { Iam } from "../../infra/local/iam";
import { timeScale } from "../../infra/local/service";

/**
 * What a function receives from the local FunctionGraph (TIMER event, APIG event, context) and
 * how its APIG answer is used, against Huawei's published examples. Source quotes:
 * the steering repo's shared/reference/huawei-cloud-facts.md §5 — FunctionGraph Developer Guide "Developing
 * an Event Function" (functiongraph_02_0410) and "Node.js function context", and the sample
 * events timer_event.json / apig_base64_event.json; copied in infra/local/docs/contracts.md.
 */

/** The published TIMER sample, key for key. */
const TIMER_SAMPLE = {
  version: "v1.0",
  time: "2023-06-01T08:30:00+08:00",
  trigger_type: "TIMER",
  trigger_name: "Timer_001",
  user_event: '{"message": "timer triggered event", "topic":"test"}',
};

/** The published APIG sample's keys (apig_base64_event.json). */
const APIG_SAMPLE_KEYS = [
  "body",
  "headers",
  "httpMethod",
  "isBase64Encoded",
  "path",
  "pathParameters",
  "queryStringParameters",
  "requestContext",
];

/** The context methods the Node.js developer guide documents. */
const DOCUMENTED_CONTEXT = [
  "getAccessKey",
  "getAlias",
  "getCPUNumber",
  "getFunctionName",
  "getLogger",
  "getMemorySize",
  "getPackage",
  "getProjectID",
  "getRemainingTimeInMilliSeconds",
  "getRequestID",
  "getRunningTimeInSeconds",
  "getSecretKey",
  "getSecurityAccessKey",
  "getSecuritySecretKey",
  "getSecurityToken",
  "getToken",
  "getUserData",
  "getVersion",
];

const FN = "contract-probe";
let dir: string;
let fg: Awaited<ReturnType<typeof startFunctionGraph>>;
let target: Target;

interface Report {
  event: Record<string, unknown>;
  context: { methods: string[]; returns: Record<string, string>; userData: unknown };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "clawwatch-contract-fn-"));
  const { buildFunctions } = (await import(pathToFileURL(resolve("build.mjs")).href)) as {
    buildFunctions: (o: {
      srcDir: string;
      outDir: string;
      names: string[];
    }) => Promise<{ name: string; zipPath: string }[]>;
  };
  const [built] = await buildFunctions({
    srcDir: resolve("test/fixtures/functions"),
    outDir: join(dir, "dist"),
    names: ["contract"],
  });
  if (!built) throw new Error("the contract fixture was not built");
  const iam = new Iam();
  fg = await startFunctionGraph({ iam, time: timeScale(0.001), dataDir: join(dir, "fg") });
  const auth = { ...iam.root, projectId: iam.projectId };
  target = {
    client: createFunctionGraphClient({ auth, endpoint: fg.url }),
    api: { endpoint: fg.url, auth },
    region: iam.region,
    projectId: iam.projectId,
  };
  await upsertFunction(target, {
    name: FN,
    zipPath: built.zipPath,
    env: { CONTRACT_VALUE: "plain" },
    secrets: {},
    agency: "",
    memoryMb: 256,
    timeoutSeconds: 10,
  });
}, 60_000);

afterAll(async () => {
  await fg?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("what a function receives, against Huawei's published examples", () => {
  it("a TIMER event has the sample's keys, types and time format; user_event is the configured string", async () => {
    await ensureTimer(target, FN, { name: "contract_timer", rate: "1d" });
    const fired = (await fg.control("fire-timer", { functionName: FN, wait: true })) as {
      invocations: { status: string; result: string }[];
    };
    const report = JSON.parse(fired.invocations[0]?.result ?? "{}") as Report;
    const event = report.event;
    expect(Object.keys(event).sort()).toEqual(Object.keys(TIMER_SAMPLE).sort());
    for (const [k, v] of Object.entries(TIMER_SAMPLE)) expect(typeof event[k]).toBe(typeof v);
    expect(event).toMatchObject({
      version: "v1.0",
      trigger_type: "TIMER",
      trigger_name: "contract_timer",
    });
    // RFC 3339 with whole seconds and a numeric offset, as in the sample.
    expect(String(event.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    expect(typeof event.user_event).toBe("string");
  });

  it("an APIG event has the sample's keys, lower-case headers and a base64 body; the answer passes through", async () => {
    const gateway = await lookupGateway(target.api, fg.apigInstance);
    await ensureApig(target, FN, "/contract", gateway, { protocol: "HTTP", name: "contract_api" });
    const trigger = (await listTriggers(target, FN)).find((t) => t.trigger_type_code !== "TIMER");
    const url = String(trigger?.event_data?.invoke_url ?? "");
    expect(url).toMatch(/\/contract$/);
    const sent = JSON.stringify({ name: "Ünïcode + spaces" });
    const res = await fetch(`${fg.apigUrl}/contract?responseType=html`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Mixed-Case": "Value" },
      body: sent,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-contract")).toBe("yes");
    expect(res.headers.get("content-type")).toBe("application/json");
    const report = (await res.json()) as Report;
    const event = report.event;
    expect(Object.keys(event).sort()).toEqual(expect.arrayContaining(APIG_SAMPLE_KEYS));
    expect(event).toMatchObject({
      httpMethod: "POST",
      path: "/contract",
      isBase64Encoded: true,
      queryStringParameters: { responseType: "html" },
    });
    expect(Buffer.from(String(event.body), "base64").toString("utf8")).toBe(sent);
    const headers = event.headers as Record<string, string>;
    expect(Object.keys(headers).every((h) => h === h.toLowerCase())).toBe(true);
    expect(headers["x-mixed-case"]).toBe("Value");
    const ctx = event.requestContext as Record<string, unknown>;
    for (const k of ["apiId", "requestId", "stage"]) expect(typeof ctx[k]).toBe("string");
  });

  it("the context has every documented method, each answering with a value, getUserData included", async () => {
    const fired = (await fg.control("fire-timer", { functionName: FN, wait: true })) as {
      invocations: { result: string }[];
    };
    const report = JSON.parse(fired.invocations[0]?.result ?? "{}") as Report;
    expect(report.context.methods).toEqual(expect.arrayContaining(DOCUMENTED_CONTEXT));
    for (const m of DOCUMENTED_CONTEXT) expect(report.context.returns[m]).not.toBe("undefined");
    expect(report.context.userData).toBe("plain");
  });

  it("the product uses only documented context methods", () => {
    const source = readFileSync(resolve("shared/runtime/context.ts"), "utf8");
    const iface = /export interface FunctionContext \{([\s\S]*?)\n\}/.exec(source)?.[1] ?? "";
    const used = [...iface.matchAll(/^\s+(get\w+)\(/gm)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(0);
    expect(DOCUMENTED_CONTEXT).toEqual(expect.arrayContaining(used));
  });
});
