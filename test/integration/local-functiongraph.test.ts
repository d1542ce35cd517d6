import { createHash, createHmac } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  ApigTriggerFuncInfo,
  AsyncInvokeFunctionRequest,
  CreateFunctionRequest,
  CreateFunctionRequestBody,
  CreateFunctionTriggerRequest,
  CreateFunctionTriggerRequestBody,
  DeleteFunctionRequest,
  DeleteFunctionTriggerRequest,
  FuncCode,
  type FunctionGraphClient,
  InvokeFunctionRequest,
  ListFunctionsRequest,
  ListFunctionTriggersRequest,
  ShowFunctionCodeRequest,
  ShowFunctionConfigRequest,
  ShowFunctionTriggerRequest,
  TriggerEventDataRequestBody,
  UpdateFunctionCodeRequest,
  UpdateFunctionCodeRequestBody,
  UpdateFunctionConfigRequest,
  UpdateFunctionConfigRequestBody,
  UpdateFunctionMaxInstanceConfigRequest,
  UpdateFunctionMaxInstanceConfigRequestBody,
  UpdateTriggerRequest,
  UpdateTriggerRequestBody,
} from "@huaweicloud/huaweicloud-sdk-functiongraph";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type DedicatedGateway, lookupGateway } from "../../infra/deploy/apig";
import { createFunctionGraphClient, decodeInvocationLog } from "../../infra/deploy/fgs-client";
import { upsertFunction } from "../../infra/deploy/functions";
import { signedRequest } from "../../infra/deploy/signed";
import { type FunctionGraphService, startFunctionGraph } from "../../infra/local/functiongraph";
import { Iam, repositoryAgencyPolicy } from "../../infra/local/iam";
import { timeScale } from "../../infra/local/service";
import { sdkCanonicalRequest } from "../../infra/local/signing";
import { requestHttps } from "../../infra/local/tls";
import { eventually } from "../support/eventually";

interface InvokeResult {
  request_id: string;
  result: string;
  log: string;
  status: number;
}
interface SdkError {
  httpStatusCode?: number | string;
  errorCode?: string;
  errorMsg?: string;
  message?: string;
}
interface TriggerJson {
  trigger_id: string;
  trigger_type_code: string;
  trigger_status: string;
  event_data: Record<string, unknown>;
}
interface FunctionConfigJson {
  func_urn: string;
  func_name: string;
  digest: string;
  user_data: string;
  timeout: number;
  strategy_config: { concurrency: number };
}

type BuildFunctions = (options: {
  srcDir: string;
  outDir: string;
  names?: string[];
}) => Promise<{ name: string; zipPath: string }[]>;

let dir: string;
let iam: Iam;
let fg: FunctionGraphService;
let client: FunctionGraphClient;
const zips: Record<string, string> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "clawwatch-fgs-"));
  const { buildFunctions }: { buildFunctions: BuildFunctions } = await import(
    pathToFileURL(resolve("build.mjs")).href
  );
  const built = await buildFunctions({
    srcDir: resolve("test/fixtures/functions"),
    outDir: join(dir, "dist"),
    names: ["echo", "probe"],
  });
  for (const fn of built) zips[fn.name] = readFileSync(fn.zipPath).toString("base64");
  iam = new Iam();
  // 1 emulated minute = 60 real ms.
  fg = await startFunctionGraph({ iam, time: timeScale(0.001), dataDir: join(dir, "fg") });
  client = clientFor({ ak: iam.root.ak, sk: iam.root.sk });
});

afterEach(() => fg.reset());

afterAll(async () => {
  await fg?.close();
  await rm(dir, { recursive: true, force: true });
});

function clientFor(
  keys: { ak: string; sk: string; securityToken?: string },
  options: { timeoutMs?: number; projectId?: string } = {},
): FunctionGraphClient {
  return createFunctionGraphClient({
    auth: { ...keys, projectId: options.projectId ?? iam.projectId },
    endpoint: `${fg.url}/`,
    timeoutMs: options.timeoutMs ?? 20_000,
  });
}

function zip(name: "echo" | "probe"): string {
  const file = zips[name];
  if (!file) throw new Error(`fixture ${name} was not built`);
  return file;
}

async function createFunction(
  name: string,
  code: "echo" | "probe",
  extra: { userData?: object; encrypted?: object; xrole?: string; timeout?: number } = {},
): Promise<string> {
  const body = new CreateFunctionRequestBody()
    .withFuncName(name)
    .withPackage("default")
    .withRuntime("Node.js20.15")
    .withHandler("index.handler")
    .withMemorySize(256)
    .withTimeout(extra.timeout ?? 30)
    .withCodeType("zip")
    .withCodeFilename("index.zip")
    .withFuncCode(new FuncCode().withFile(zip(code)))
    .withType("v2");
  if (extra.userData) body.withUserData(JSON.stringify(extra.userData));
  if (extra.encrypted) body.withEncryptedUserData(JSON.stringify(extra.encrypted));
  if (extra.xrole) body.withXrole(extra.xrole);
  const created = (await client.createFunction(
    new CreateFunctionRequest().withBody(body),
  )) as unknown as FunctionConfigJson;
  return created.func_urn;
}

async function invoke(urn: string, event: object, fgs = client): Promise<InvokeResult> {
  return (await fgs.invokeFunction(
    new InvokeFunctionRequest()
      .withFunctionUrn(urn)
      .withXCffLogType("tail")
      .withXCFFRequestVersion("v1")
      .withBody(event as never),
  )) as unknown as InvokeResult;
}

async function sdkError(call: Promise<unknown>): Promise<SdkError> {
  try {
    await call;
  } catch (error) {
    return error as SdkError;
  }
  throw new Error("expected the SDK call to fail");
}

const finished = (functionName: string, triggerType?: string) =>
  fg
    .invocations({ functionName })
    .filter((r) => (!triggerType || r.triggerType === triggerType) && r.status === "success");

/** Timer tests run one instance per function, like the watchdog: fast scaled timers must not
 * start a new worker for every tick that lands while the first one is still booting. */
async function oneInstance(urn: string): Promise<void> {
  await client.updateFunctionMaxInstanceConfig(
    new UpdateFunctionMaxInstanceConfigRequest()
      .withFunctionUrn(urn)
      .withBody(new UpdateFunctionMaxInstanceConfigRequestBody().withMaxInstanceNum(1)),
  );
}

async function createTimer(
  urn: string,
  name: string,
  schedule: { type: string; value: string },
  status = "ACTIVE",
  userEvent?: string,
): Promise<TriggerJson> {
  const data = new TriggerEventDataRequestBody()
    .withName(name)
    .withScheduleType(schedule.type)
    .withSchedule(schedule.value);
  if (userEvent !== undefined) data.withUserEvent(userEvent);
  return (await client.createFunctionTrigger(
    new CreateFunctionTriggerRequest()
      .withFunctionUrn(urn)
      .withBody(
        new CreateFunctionTriggerRequestBody()
          .withTriggerTypeCode("TIMER")
          .withTriggerStatus(status)
          .withEventData(data),
      ),
  )) as unknown as TriggerJson;
}

describe("local FunctionGraph: functions and the runner", () => {
  it("creates a function from a zip and runs it with a faithful context", async () => {
    const urn = await createFunction("probe-context", "probe", {
      userData: { PLAIN: "plain-value" },
      encrypted: { SECRET: "secret-value" },
      xrole: "clawwatch_agency",
    });
    expect(urn).toBe(fg.functionUrn("probe-context"));

    const res = await invoke(urn, { mode: "context", keys: ["PLAIN", "SECRET"] });
    expect(res.status).toBe(200);
    const ctx = JSON.parse(res.result);
    expect(ctx.requestId).toBe(res.request_id);
    expect(ctx.remainingFirst).toBeLessThanOrEqual(30_000);
    expect(ctx.remainingLater).toBeLessThan(ctx.remainingFirst);
    expect(ctx).toMatchObject({
      accessKey: "",
      secretKey: "",
      functionName: "probe-context",
      runningTimeInSeconds: 30,
      version: "latest",
      memorySize: 256,
      cpuNumber: 200,
      package: "default",
      projectId: iam.projectId,
      alias: "",
      userData: { PLAIN: "plain-value", SECRET: "secret-value" },
      runtimeFuncName: "probe-context",
    });
    // Encrypted variables reach the function through the context only.
    expect(ctx.env).toEqual({ PLAIN: "plain-value" });
    expect(JSON.parse(ctx.runtimeUserData)).toEqual({ PLAIN: "plain-value" });

    // The agency credentials are ones the local cloud accepts: call the API with them.
    const issued = iam.lookup(ctx.securityAccessKey);
    expect(issued?.sk).toBe(ctx.securitySecretKey);
    expect(issued?.securityToken).toBe(ctx.securityToken);
    const asAgency = clientFor({
      ak: ctx.securityAccessKey,
      sk: ctx.securitySecretKey,
      securityToken: ctx.securityToken,
    });
    // An agency key may only do what the agency's policies grant, FunctionGraph calls included.
    await expect(asAgency.listFunctions(new ListFunctionsRequest())).rejects.toMatchObject({
      httpStatusCode: 403,
      errorCode: "FSS.0403",
    });
    iam.setAgency("clawwatch_agency", [
      { Version: "1.1", Statement: [{ Effect: "Allow", Action: ["functiongraph:function:list"] }] },
    ]);
    const listed = (await asAgency.listFunctions(new ListFunctionsRequest())) as unknown as {
      count: number;
    };
    expect(listed.count).toBeGreaterThan(0);
    expect(iam.deniedCalls().map((d) => d.action)).toContain("functiongraph:function:list");

    const log = decodeInvocationLog(res.log);
    expect(log).toContain(`Start invoke request '${res.request_id}'`);
    expect(log).toContain("console line from the probe");
    expect(log).toMatch(new RegExp(`\\d{4}-\\d\\d-\\d\\dT\\S+ ${res.request_id} INFO logger info`));
    expect(log).toContain(`${res.request_id} WARN logger warn`);
    expect(log).toContain(`${res.request_id} ERROR logger error`);
    expect(log).toContain(`Finish invoke request '${res.request_id}'`);
    expect(log).not.toContain("secret-value");
  });

  it("keeps an instance warm; new config, new instance; no agency, empty credentials", async () => {
    const urn = await createFunction("probe-warm", "probe", { userData: { A: "1" } });
    const first = JSON.parse((await invoke(urn, { mode: "state" })).result);
    const second = JSON.parse((await invoke(urn, { mode: "state" })).result);
    expect(second).toEqual({ instanceTag: first.instanceTag, invocations: 2 });

    await client.updateFunctionConfig(
      new UpdateFunctionConfigRequest().withFunctionUrn(urn).withBody(
        new UpdateFunctionConfigRequestBody()
          .withFuncName("probe-warm")
          .withRuntime("Node.js20.15")
          .withHandler("index.handler")
          .withMemorySize(256)
          .withTimeout(20)
          .withUserData(JSON.stringify({ A: "2" })),
      ),
    );
    const config = (await client.showFunctionConfig(
      new ShowFunctionConfigRequest().withFunctionUrn(urn),
    )) as unknown as FunctionConfigJson;
    expect(config).toMatchObject({ timeout: 20, user_data: '{"A":"2"}' });

    const after = JSON.parse((await invoke(urn, { mode: "context", keys: ["A"] })).result);
    expect(after.env).toEqual({ A: "2" });
    expect(after.runningTimeInSeconds).toBe(20);
    expect(after.instanceTag).not.toBe(first.instanceTag);
    expect(after.invocations).toBe(1);
    expect([after.securityAccessKey, after.securitySecretKey, after.securityToken]).toEqual([
      "",
      "",
      "",
    ]);

    await fg.control("reclaim", { functionName: "probe-warm" });
    const cold = JSON.parse((await invoke(urn, { mode: "state" })).result);
    expect(cold.instanceTag).not.toBe(after.instanceTag);
  });

  it("updates code, and refuses the same code again like the real API", async () => {
    const urn = await createFunction("swap", "echo");
    expect(JSON.parse((await invoke(urn, { hi: 1 })).result)).toEqual({
      fixture: "echo",
      event: { hi: 1 },
    });
    const before = (await client.showFunctionCode(
      new ShowFunctionCodeRequest().withFunctionUrn(urn),
    )) as unknown as { digest: string };

    const update = () =>
      client.updateFunctionCode(
        new UpdateFunctionCodeRequest().withFunctionUrn(urn).withBody(
          new UpdateFunctionCodeRequestBody()
            .withCodeType("zip")
            .withCodeFilename("index.zip")
            .withFuncCode(new FuncCode().withFile(zip("probe"))),
        ),
      );
    await update();
    const state = JSON.parse((await invoke(urn, { mode: "state" })).result);
    expect(state.invocations).toBe(1);
    const after = (await client.showFunctionCode(
      new ShowFunctionCodeRequest().withFunctionUrn(urn),
    )) as unknown as { digest: string };
    expect(after.digest).not.toBe(before.digest);

    const same = await sdkError(update());
    expect(same.httpStatusCode).toBe(400);
    expect(same.errorMsg).toContain("same code");
  });

  it("rejects environment variables over 4096 characters or 20 variables with 400", async () => {
    const tooBig = await sdkError(
      createFunction("env-too-big", "echo", { userData: { BIG: "x".repeat(4_100) } }),
    );
    expect(tooBig).toMatchObject({ httpStatusCode: 400, errorCode: "FSS.1009" });

    const urn = await createFunction("env-ok", "echo", { userData: { A: "a" } });
    const split = await sdkError(
      client.updateFunctionConfig(
        new UpdateFunctionConfigRequest().withFunctionUrn(urn).withBody(
          new UpdateFunctionConfigRequestBody()
            .withFuncName("env-ok")
            .withRuntime("Node.js20.15")
            .withHandler("index.handler")
            .withMemorySize(256)
            .withTimeout(30)
            .withUserData(JSON.stringify({ A: "a".repeat(2_100) }))
            .withEncryptedUserData(JSON.stringify({ S: "s".repeat(2_100) })),
        ),
      ),
    );
    expect(split).toMatchObject({ httpStatusCode: 400, errorCode: "FSS.1009" });

    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`V${i}`, "v"]));
    const tooMany = await sdkError(createFunction("env-too-many", "echo", { userData: many }));
    expect(tooMany).toMatchObject({ httpStatusCode: 400, errorCode: "FSS.1009" });
    expect(tooMany.errorMsg).toContain("at most 20");
  });

  it("allows 2048 characters of environment outside Huawei's listed 4 KB regions", async () => {
    const north = new Iam(undefined, { region: "cn-north-4" });
    const other = await startFunctionGraph({
      iam: north,
      time: timeScale(0.001),
      dataDir: join(dir, "fg-north"),
    });
    try {
      const northClient = createFunctionGraphClient({
        auth: { ak: north.root.ak, sk: north.root.sk, projectId: north.projectId },
        endpoint: other.url,
        timeoutMs: 20_000,
      });
      const create = (name: string, chars: number) =>
        northClient.createFunction(
          new CreateFunctionRequest().withBody(
            new CreateFunctionRequestBody()
              .withFuncName(name)
              .withPackage("default")
              .withRuntime("Node.js20.15")
              .withHandler("index.handler")
              .withMemorySize(256)
              .withTimeout(30)
              .withCodeType("zip")
              .withCodeFilename("index.zip")
              .withFuncCode(new FuncCode().withFile(zip("echo")))
              .withUserData(JSON.stringify({ BIG: "x".repeat(chars) })),
          ),
        );
      const tooBig = await sdkError(create("north-big", 2_100));
      expect(tooBig).toMatchObject({ httpStatusCode: 400, errorCode: "FSS.1009" });
      expect(tooBig.errorMsg).toContain("the limit in this region is 2048");
      await expect(create("north-ok", 2_000)).resolves.toBeDefined();
    } finally {
      await other.close();
    }
  });

  it("validates requests and answers 404/409 with FunctionGraph's error bodies", async () => {
    const badTimeout = await sdkError(createFunction("bad-timeout", "echo", { timeout: 2 }));
    expect(badTimeout).toMatchObject({ httpStatusCode: 400, errorCode: "FSS.1008" });

    const noFilename = await sdkError(
      client.createFunction(
        new CreateFunctionRequest().withBody(
          new CreateFunctionRequestBody()
            .withFuncName("no-filename")
            .withRuntime("Node.js20.15")
            .withHandler("index.handler")
            .withMemorySize(256)
            .withTimeout(30)
            .withCodeType("zip")
            .withFuncCode(new FuncCode().withFile(zip("echo"))),
        ),
      ),
    );
    expect(noFilename).toMatchObject({ httpStatusCode: 400, errorCode: "FSS.0400" });
    expect(noFilename.errorMsg).toContain("code_filename");

    const urn = await createFunction("dupe", "echo");
    expect(await sdkError(createFunction("dupe", "echo"))).toMatchObject({
      httpStatusCode: 409,
      errorCode: "FSS.1061",
    });

    await client.deleteFunction(new DeleteFunctionRequest().withFunctionUrn(urn));
    const gone = await sdkError(
      client.showFunctionConfig(new ShowFunctionConfigRequest().withFunctionUrn(urn)),
    );
    expect(gone).toMatchObject({ httpStatusCode: 404, errorCode: "FSS.1051" });
  });

  it("takes only FunctionGraph's memory sizes (128 … 4096 MB)", async () => {
    const sized = (name: string, memory: number) =>
      client.createFunction(
        new CreateFunctionRequest().withBody(
          new CreateFunctionRequestBody()
            .withFuncName(name)
            .withPackage("default")
            .withRuntime("Node.js20.15")
            .withHandler("index.handler")
            .withMemorySize(memory)
            .withTimeout(30)
            .withCodeType("zip")
            .withCodeFilename("index.zip")
            .withFuncCode(new FuncCode().withFile(zip("echo"))),
        ),
      );
    for (const memory of [300, 8192]) {
      expect(await sdkError(sized(`mem-${memory}`, memory))).toMatchObject({
        httpStatusCode: 400,
        errorCode: "FSS.1007",
      });
    }
    await expect(sized("mem-768", 768)).resolves.toBeDefined();
  });

  it("gives VPC access only through an agency whose policy grants FunctionGraph's VPC actions", async () => {
    const zipPath = join(dir, "echo.zip");
    writeFileSync(zipPath, Buffer.from(zip("echo"), "base64"));
    const target = {
      client,
      api: { endpoint: fg.url, auth: { ...iam.root, projectId: iam.projectId } },
      region: iam.region,
      projectId: iam.projectId,
    };
    const spec = (name: string, agency: string) => ({
      name,
      zipPath,
      env: {},
      secrets: {},
      agency,
      memoryMb: 256,
      timeoutSeconds: 30,
      vpc: { vpcId: "vpc-1", subnetId: "subnet-1" },
    });
    // The policy the repository tells operators to attach to the gateway-probe function's agency.
    iam.setAgency("repo-agency", [repositoryAgencyPolicy("clawwatch-state", "probe")]);
    expect(await upsertFunction(target, spec("vpc-repo", "repo-agency"))).toBe("created");
    // The watchdog's has no VPC action any more: it stays on the public network.
    iam.setAgency("watchdog-agency", [repositoryAgencyPolicy("clawwatch-state", "watchdog")]);
    await expect(upsertFunction(target, spec("vpc-watchdog", "watchdog-agency"))).rejects.toThrow(
      /lacks the permissions VPC access needs/,
    );

    const vipsInstead = {
      Version: "1.1",
      Statement: [
        {
          Effect: "Allow",
          Action: [
            "vpc:ports:get",
            "vpc:ports:create",
            "vpc:vpcs:get",
            "vpc:subnets:get",
            "vpc:vips:delete",
          ],
        },
      ],
    };
    iam.setAgency("vips-agency", [vipsInstead]);
    await expect(upsertFunction(target, spec("vpc-vips", "vips-agency"))).rejects.toThrow(
      /HTTP 403 FSS.0403 .*lacks the permissions VPC access needs: vpc:ports:delete/,
    );
  });

  it("lists functions page by page", async () => {
    const all = (await client.listFunctions(new ListFunctionsRequest())) as unknown as {
      functions: FunctionConfigJson[];
      count: number;
    };
    expect(all.count).toBe(all.functions.length);
    expect(all.count).toBeGreaterThan(1);
    const page = (await client.listFunctions(
      new ListFunctionsRequest().withMarker("1").withMaxitems("1"),
    )) as unknown as { functions: FunctionConfigJson[]; next_marker: number; count: number };
    expect(page.functions.map((f) => f.func_name)).toEqual([all.functions[1]?.func_name]);
    expect(page).toMatchObject({ next_marker: 2, count: all.count });
  });

  it("runs async invocations and answers 202 with a request id", async () => {
    const urn = await createFunction("async-echo", "echo");
    const res = (await client.asyncInvokeFunction(
      new AsyncInvokeFunctionRequest().withFunctionUrn(urn).withBody({ job: "async" } as never),
    )) as unknown as { request_id: string; httpStatusCode: number };
    expect(res.httpStatusCode).toBe(202);
    const done = await eventually(
      () => finished("async-echo", "ASYNC").find((r) => r.requestId === res.request_id),
      "the async invocation",
    );
    expect(JSON.parse(done.result ?? "")).toEqual({ fixture: "echo", event: { job: "async" } });
  });

  it("reports a handler that throws as a failed invocation with the error in result", async () => {
    const urn = await createFunction("thrower", "probe");
    const res = await invoke(urn, { mode: "throw", message: "boom from the handler" });
    expect(res.status).not.toBe(200);
    const error = JSON.parse(res.result);
    expect(error.errorMessage).toContain("boom from the handler");
    expect(error.errorType).toBe("Error");
    expect(decodeInvocationLog(res.log)).toContain("about to throw");
    const [record] = fg.invocations({ functionName: "thrower" });
    expect(record).toMatchObject({ status: "failed", triggerType: "SYNC", errorCode: 4002 });
  });

  it("answers a sync invoke in the v0 text format unless v1 is asked for", async () => {
    const urn = await createFunction("versions", "echo");
    const v0 = (await client.invokeFunction(
      new InvokeFunctionRequest()
        .withFunctionUrn(urn)
        .withXCffLogType("tail")
        .withBody({
          hi: 0,
        } as never),
    )) as unknown as Partial<InvokeResult>;
    // The SDK finds no JSON to read: no status, no result, no log.
    expect(v0.status).toBeUndefined();
    expect(v0.result).toBeUndefined();

    const raw = await signedPost(
      `/fgs/functions/${urn}/invocations`,
      { hi: 0 },
      {
        "x-cff-log-type": "tail",
      },
    );
    expect(raw.status).toBe(200);
    expect(raw.headers["content-type"]).toContain("text/plain");
    expect(raw.headers["x-cff-response-version"]).toBe("v0");
    expect(JSON.parse(raw.body)).toEqual({ fixture: "echo", event: { hi: 0 } });
    expect(decodeInvocationLog(String(raw.headers["x-cff-function-log"]))).toContain(
      "Finish invoke request",
    );

    const v1 = await invoke(urn, { hi: 1 });
    expect(v1.status).toBe(200);
    expect(JSON.parse(v1.result)).toEqual({ fixture: "echo", event: { hi: 1 } });
    expect(decodeInvocationLog(v1.log)).toContain("Start invoke request");

    const bad = await signedPost(
      `/fgs/functions/${urn}/invocations`,
      {},
      {
        "x-cff-request-version": "v2",
      },
    );
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ error_code: "FSS.0400" });
  });

  it("stops a handler at its timeout and starts a fresh instance next time", async () => {
    const urn = await createFunction("sleeper", "probe", { timeout: 3 });
    const res = await invoke(urn, { mode: "sleep", ms: 60_000 });
    expect(res.status).not.toBe(200);
    expect(JSON.parse(res.result).errorMessage).toContain("timed out after 3s");
    const next = await invoke(urn, { mode: "state" });
    expect(JSON.parse(next.result).invocations).toBe(1);
    const records = fg.invocations({ functionName: "sleeper" });
    expect(records.map((r) => [r.status, r.coldStart])).toEqual([
      ["failed", true],
      ["success", true],
    ]);
  });

  it("serialises invocations at max instances 1, one warm instance per invocation otherwise", async () => {
    const urn = await createFunction("serial", "probe");
    const limited = (await client.updateFunctionMaxInstanceConfig(
      new UpdateFunctionMaxInstanceConfigRequest()
        .withFunctionUrn(urn)
        .withBody(new UpdateFunctionMaxInstanceConfigRequestBody().withMaxInstanceNum(1)),
    )) as unknown as FunctionConfigJson;
    expect(limited.strategy_config.concurrency).toBe(1);
    const serial = (
      await Promise.all([
        invoke(urn, { mode: "sleep", ms: 150 }),
        invoke(urn, { mode: "sleep", ms: 150 }),
      ])
    )
      .map((r) => JSON.parse(r.result) as { start: number; end: number; instanceTag: string })
      .sort((a, b) => a.start - b.start);
    const [first, second] = serial;
    expect(second?.start).toBeGreaterThanOrEqual(first?.end ?? Number.POSITIVE_INFINITY);
    expect(second?.instanceTag).toBe(first?.instanceTag);

    const parallelUrn = await createFunction("parallel", "probe");
    const parallel = await Promise.all([
      invoke(parallelUrn, { mode: "sleep", ms: 300 }),
      invoke(parallelUrn, { mode: "sleep", ms: 300 }),
    ]);
    const tags = parallel.map((r) => JSON.parse(r.result).instanceTag);
    expect(new Set(tags).size).toBe(2);
  });
});

describe("local FunctionGraph: TIMER triggers", () => {
  it("fires a Rate timer with the real event shape; DISABLED and deleted timers stay quiet", async () => {
    const tickUrn = await createFunction("ticker", "echo");
    const quietUrn = await createFunction("quiet", "echo");
    await oneInstance(tickUrn);
    await oneInstance(quietUrn);
    const tick = await createTimer(
      tickUrn,
      "every-minute",
      { type: "Rate", value: "1m" },
      "ACTIVE",
      '{"check":"health"}',
    );
    expect(tick).toMatchObject({
      trigger_type_code: "TIMER",
      trigger_status: "ACTIVE",
      event_data: { name: "every-minute", schedule_type: "Rate", schedule: "1m" },
    });
    const quiet = await createTimer(quietUrn, "held", { type: "Rate", value: "1m" }, "DISABLED");

    const fired = await eventually(() => {
      const done = finished("ticker", "TIMER");
      return done.length >= 3 && done;
    }, "three ticks");
    expect(finished("quiet")).toEqual([]);
    for (const record of fired) {
      const event = (JSON.parse(record.result ?? "") as { event: Record<string, unknown> }).event;
      expect(Object.keys(event).sort()).toEqual([
        "time",
        "trigger_name",
        "trigger_type",
        "user_event",
        "version",
      ]);
      expect(event).toMatchObject({
        version: "v1.0",
        trigger_type: "TIMER",
        trigger_name: "every-minute",
        user_event: '{"check":"health"}',
      });
      // The sample's format: whole seconds and an offset (test/contract/function-events.test.ts).
      expect(String(event.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);
      expect(Number.isNaN(Date.parse(String(event.time)))).toBe(false);
      expect(record.triggerName).toBe("every-minute");
    }

    // Re-enabling starts the clock; deleting stops it.
    await client.updateTrigger(
      new UpdateTriggerRequest()
        .withFunctionUrn(quietUrn)
        .withTriggerTypeCode("TIMER")
        .withTriggerId(quiet.trigger_id)
        .withBody(new UpdateTriggerRequestBody().withTriggerStatus("ACTIVE")),
    );
    await eventually(() => finished("quiet", "TIMER").length >= 1, "the re-enabled timer");
    await client.deleteFunctionTrigger(
      new DeleteFunctionTriggerRequest()
        .withFunctionUrn(tickUrn)
        .withTriggerTypeCode("TIMER")
        .withTriggerId(tick.trigger_id),
    );
    const ticksAtDelete = fg.invocations({ functionName: "ticker" }).length;
    const quietSoFar = finished("quiet", "TIMER").length;
    await eventually(
      () => finished("quiet", "TIMER").length >= quietSoFar + 3,
      "three more quiet ticks",
    );
    expect(fg.invocations({ functionName: "ticker" })).toHaveLength(ticksAtDelete);

    const listed = (await client.listFunctionTriggers(
      new ListFunctionTriggersRequest().withFunctionUrn(quietUrn),
    )) as unknown as TriggerJson[];
    expect(listed.map((t) => [t.trigger_id, t.trigger_status])).toEqual([
      [quiet.trigger_id, "ACTIVE"],
    ]);
    const shown = (await client.showFunctionTrigger(
      new ShowFunctionTriggerRequest()
        .withFunctionUrn(quietUrn)
        .withTriggerTypeCode("TIMER")
        .withTriggerId(quiet.trigger_id),
    )) as unknown as TriggerJson;
    expect(shown.event_data.name).toBe("held");
    await client.deleteFunction(new DeleteFunctionRequest().withFunctionUrn(quietUrn));
  });

  it("runs 6-field Cron and @every schedules, and rejects CRON casing with 400", async () => {
    const urn = await createFunction("cron-fn", "echo");
    await oneInstance(urn);
    await createTimer(urn, "every-30s", { type: "Cron", value: "*/30 * * * * *" });
    await createTimer(urn, "every-2m", { type: "Cron", value: "0 */2 * * * ?" });
    await createTimer(urn, "every-3m", { type: "Cron", value: "@every 3m" });
    await eventually(() => {
      const names = new Set(finished("cron-fn", "TIMER").map((r) => r.triggerName));
      return names.has("every-30s") && names.has("every-2m") && names.has("every-3m");
    }, "every cron timer");

    const casing = await sdkError(
      createTimer(urn, "shouty", { type: "CRON", value: "0 */5 * * * ?" }),
    );
    expect(casing).toMatchObject({ httpStatusCode: 400, errorCode: "FSS.1109" });
    const badRate = await sdkError(createTimer(urn, "zero", { type: "Rate", value: "0m" }));
    expect(badRate).toMatchObject({ httpStatusCode: 400, errorCode: "FSS.1109" });
    const fiveFields = await sdkError(
      createTimer(urn, "short", { type: "Cron", value: "*/5 * * * *" }),
    );
    expect(fiveFields).toMatchObject({ httpStatusCode: 400, errorCode: "FSS.1109" });
    // Deleting the function stops its timers, so they do not load the tests that follow.
    await client.deleteFunction(new DeleteFunctionRequest().withFunctionUrn(urn));
  });

  it("fires a timer on demand through the control API", async () => {
    const urn = await createFunction("daily", "echo");
    await createTimer(urn, "nightly", { type: "Rate", value: "1d" }, "ACTIVE", "manual");
    const fired = (await fg.control("fire-timer", { functionName: "daily", wait: true })) as {
      invocations: { status: string; triggerType: string; result: string }[];
    };
    expect(fired.invocations).toHaveLength(1);
    expect(fired.invocations[0]).toMatchObject({ status: "success", triggerType: "TIMER" });
    expect(JSON.parse(fired.invocations[0]?.result ?? "").event).toMatchObject({
      trigger_name: "nightly",
      user_event: "manual",
    });
  });
});

describe("local FunctionGraph: DEDICATEDGATEWAY triggers", () => {
  let invokeUrl: string;
  let apiId: string;
  let gateway: DedicatedGateway;

  /** event_data as terraform-provider-huaweicloud sends it for a dedicated gateway. */
  const dedicated = (name: string, path: string) =>
    new TriggerEventDataRequestBody()
      .withName(name)
      .withPath(path)
      .withAuth("NONE")
      .withType(1)
      .withProtocol("HTTPS")
      .withBackendType("FUNCTION")
      .withInstanceId(gateway.instanceId)
      .withGroupId(gateway.groupId)
      .withEnvName(gateway.envName)
      .withEnvId(gateway.envId)
      .withSlDomain(gateway.slDomain)
      .withFuncInfo(new ApigTriggerFuncInfo().withTimeout(5_000));
  const create = (urn: string, type: string, data: TriggerEventDataRequestBody) =>
    client.createFunctionTrigger(
      new CreateFunctionTriggerRequest()
        .withFunctionUrn(urn)
        .withBody(
          new CreateFunctionTriggerRequestBody()
            .withTriggerTypeCode(type)
            .withTriggerStatus("ACTIVE")
            .withEventData(data),
        ),
    );

  beforeAll(async () => {
    gateway = await lookupGateway(
      { endpoint: fg.url, auth: { ...iam.root, projectId: iam.projectId } },
      { ...fg.apigInstance },
    );
    expect(gateway).toMatchObject({
      envId: "DEFAULT_ENVIRONMENT_RELEASE_ID",
      // The debug domain is the HTTPS front Telegram can call (issue 16).
      slDomain: new URL(fg.apigHttpsUrl).host,
      boundDomains: [],
    });
    const urn = await createFunction("webhook", "probe");
    const trigger = (await create(
      urn,
      "DEDICATEDGATEWAY",
      dedicated("webhook_api", "/hooks").withReqMethod("ANY").withMatchMode("SWA"),
    )) as unknown as TriggerJson;
    expect(trigger.trigger_type_code).toBe("DEDICATEDGATEWAY");
    invokeUrl = String(trigger.event_data.invoke_url);
    apiId = trigger.trigger_id;
    // HTTPS on a port Telegram delivers webhooks to; the same routes answer over HTTP too.
    expect(invokeUrl).toBe(`${fg.apigHttpsUrl}/hooks`);
    expect(new URL(invokeUrl)).toMatchObject({ protocol: "https:", port: "8443" });
  });

  it("refuses the shared gateway's APIG type and a dedicated trigger without its required fields", async () => {
    const urn = await createFunction("webhook-strict", "probe");
    const shared = await sdkError(
      create(
        urn,
        "APIG",
        new TriggerEventDataRequestBody()
          .withName("shared_api")
          .withPath("/shared")
          .withAuth("NONE"),
      ),
    );
    expect(shared).toMatchObject({ httpStatusCode: 400, errorCode: "FSS.1107" });
    expect(shared.errorMsg).toContain("DEDICATEDGATEWAY");
    const without = async (field: string, data: TriggerEventDataRequestBody) => {
      const refused = await sdkError(create(urn, "DEDICATEDGATEWAY", data));
      expect(refused, field).toMatchObject({ httpStatusCode: 400, errorCode: "FSS.1107" });
      expect(refused.errorMsg, field).toContain(field);
    };
    const data = () => dedicated("strict_api", "/strict");
    await without("instance_id", data().withInstanceId("apig-someone-else"));
    await without("env_id", data().withEnvId(""));
    await without("sl_domain", data().withSlDomain("other.example.com"));
    await without("backend_type", data().withBackendType("HTTP"));
    await without("func_info.timeout", data().withFuncInfo(new ApigTriggerFuncInfo()));
  });

  it("answers the gateway lookups signed, with APIG's errors for unknown ids", async () => {
    const api = { endpoint: fg.url, auth: { ...iam.root, projectId: iam.projectId } };
    await expect(
      lookupGateway(api, { ...fg.apigInstance, instanceId: "apig-unknown" }),
    ).rejects.toThrow(/HTTP 404 APIG.3030/);
    await expect(lookupGateway(api, { ...fg.apigInstance, groupId: "nope" })).rejects.toThrow(
      /HTTP 404 APIG.3001/,
    );
    await expect(
      lookupGateway({ ...api, auth: { ...api.auth, sk: "wrong" } }, fg.apigInstance),
    ).rejects.toThrow(/HTTP 401 APIGW.0301/);
    await fg.control("apig-bind-domain", { domain: "hooks.example.test" });
    expect((await lookupGateway(api, fg.apigInstance)).boundDomains).toEqual([
      "hooks.example.test",
    ]);
  });

  it("turns a request into the APIG event and the function's result into the response", async () => {
    const payload = JSON.stringify({ update_id: 7, text: "héllo" });
    const res = await requestHttps(`${invokeUrl}/echo?chat=42`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "t0k" },
      body: payload,
      ca: [fg.apigCertificate],
    });
    expect(res.status).toBe(201);
    expect(res.headers["x-probe"]).toBe("apig");
    expect(res.headers["content-type"]).toBe("application/json");
    const echo = JSON.parse(res.body) as { headers: Record<string, string> };
    expect(echo).toMatchObject({
      method: "POST",
      path: "/hooks/echo",
      query: { chat: "42" },
      isBase64Encoded: true,
      body: payload,
      requestContext: { apiId, stage: "RELEASE" },
    });
    expect(echo.headers["x-telegram-bot-api-secret-token"]).toBe("t0k");
    expect(Object.keys(echo.headers).every((name: string) => name === name.toLowerCase())).toBe(
      true,
    );
    const [record] = fg.invocations({ functionName: "webhook" });
    expect(record).toMatchObject({ triggerType: "APIG", triggerName: "webhook_api" });
  });

  it("answers 502 when the function fails or returns a malformed result", async () => {
    const http = `${fg.apigUrl}/hooks`;
    const malformed = await fetch(`${http}/malformed`);
    expect(malformed.status).toBe(502);
    expect(await malformed.json()).toMatchObject({ error_code: "FSS.1206" });
    const thrown = await fetch(`${http}/throw`, { method: "POST", body: "{}" });
    expect(thrown.status).toBe(502);
    expect(await thrown.json()).toMatchObject({ error_code: "APIG.0202" });
  });

  it("answers 504 when the function outlives the backend timeout, 404 off any route", async () => {
    const urn = await createFunction("slow-webhook", "probe");
    await create(
      urn,
      "DEDICATEDGATEWAY",
      dedicated("slow_api", "/slow-hooks/slow").withFuncInfo(
        new ApigTriggerFuncInfo().withTimeout(100),
      ),
    );
    const slow = await fetch(`${fg.apigUrl}/slow-hooks/slow?ms=1500`);
    expect(slow.status).toBe(504);
    expect(await slow.json()).toMatchObject({ error_code: "APIG.0201" });

    const missing = await fetch(`${fg.apigUrl}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error_code: "APIG.0101" });
  });
});

describe("local FunctionGraph: signatures and faults", () => {
  it("answers 401 to a wrong AK/SK and 403 to another project", async () => {
    const wrong = await sdkError(
      clientFor({ ak: iam.root.ak, sk: "not-the-secret" }).listFunctions(
        new ListFunctionsRequest(),
      ),
    );
    expect(wrong).toMatchObject({ httpStatusCode: 401, errorCode: "APIGW.0301" });
    const otherProject = await sdkError(
      clientFor({ ak: iam.root.ak, sk: iam.root.sk }, { projectId: "other-project" }).listFunctions(
        new ListFunctionsRequest(),
      ),
    );
    expect(otherProject).toMatchObject({ httpStatusCode: 403, errorCode: "FSS.0403" });
  });

  it("answers 401 to a correctly signed request whose date is skewed", async () => {
    const now = await signedGet(new Date());
    expect(now.status).toBe(200);
    const skewed = await signedGet(new Date(Date.now() - 20 * 60_000));
    expect(skewed.status).toBe(401);
    expect(skewed.body).toMatchObject({ error_code: "APIGW.0301" });
    expect(String(skewed.body.error_msg)).toContain("skewed");
  });

  it("turns a forced 5xx into the SDK's ServerResponseException", async () => {
    await fg.control("error", { status: 503, count: 1 });
    const failed = await sdkError(client.listFunctions(new ListFunctionsRequest()));
    expect((failed as Error).constructor.name).toBe("ServerResponseException");
    expect(failed).toMatchObject({ httpStatusCode: 503, errorCode: "FSS.0503" });
    await expect(client.listFunctions(new ListFunctionsRequest())).resolves.toBeDefined();
  });

  it("delays answers with the latency control", async () => {
    const impatient = clientFor({ ak: iam.root.ak, sk: iam.root.sk }, { timeoutMs: 1_000 });
    await fg.control("latency", { ms: 5_000 });
    const slow = await sdkError(impatient.listFunctions(new ListFunctionsRequest()));
    expect(slow.httpStatusCode).toBeUndefined();
    expect(String(slow.errorMsg ?? slow.message)).toContain("timeout");
    fg.reset();
    await expect(impatient.listFunctions(new ListFunctionsRequest())).resolves.toBeDefined();
  });
});

/** A hand-signed GET, so the test controls X-Sdk-Date (the SDK always signs with "now"). */
async function signedGet(date: Date): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(`${fg.url}/v2/${iam.projectId}/fgs/functions`);
  const sdkDate = date.toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
  const headers: Record<string, string> = {
    "content-type": "application/json",
    host: url.host,
    "x-project-id": iam.projectId,
    "x-sdk-date": sdkDate,
  };
  const signed = Object.keys(headers).sort().join(";");
  const canonical = sdkCanonicalRequest("GET", url.pathname, headers, signed, Buffer.alloc(0));
  const stringToSign = [
    "SDK-HMAC-SHA256",
    sdkDate,
    createHash("sha256").update(canonical).digest("hex"),
  ].join("\n");
  const signature = createHmac("sha256", iam.root.sk).update(stringToSign).digest("hex");
  headers.authorization = `SDK-HMAC-SHA256 Access=${iam.root.ak}, SignedHeaders=${signed}, Signature=${signature}`;
  return new Promise((done, fail) => {
    const req = request(url, { method: "GET", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        done({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }),
      );
    });
    req.on("error", fail);
    req.end();
  });
}

/** A POST signed like the deploy tools sign theirs, answering the raw text and headers. */
async function signedPost(path: string, body: object, headers: Record<string, string> = {}) {
  const res = await signedRequest(
    { endpoint: fg.url, auth: { ak: iam.root.ak, sk: iam.root.sk, projectId: iam.projectId } },
    { method: "POST", path: `/v2/${iam.projectId}${path}`, headers, body, timeoutMs: 20_000 },
  );
  return { status: res.status, headers: res.headers, body: res.text };
}
