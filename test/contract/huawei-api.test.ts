import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RecordedFlows, recordFlows } from "./flows";
import { checkObsExchange } from "./obs-models";
import type { Exchange } from "./recorder";
import {
  type Operation,
  operationsFor,
  responseModelOf,
  type SdkService,
  validate,
} from "./sdk-models";

/**
 * Every request the infra CLI and the functions sent during real flows, and every answer the
 * local cloud gave, checked against the official Node SDK's generated models for that operation
 * (found from method + URL in the SDK's ParamCreater). A field the SDK does not know, a missing
 * required one, a wrong type or an enum value outside the SDK's list fails here.
 */

let flows: RecordedFlows;

beforeAll(async () => {
  flows = await recordFlows();
}, 120_000);

afterAll(async () => {
  await flows?.stop();
});

interface Checked {
  operation?: Operation;
  problems: string[];
}

function jsonOf(body: Buffer): unknown {
  return body.length === 0 ? undefined : JSON.parse(body.toString("utf8"));
}

/** The SDK operation this exchange is, and what breaks the SDK's models on either side. */
function check(service: SdkService, x: Exchange): Checked {
  const candidates = operationsFor(service, x.method, x.path);
  if (candidates.length === 0)
    return { problems: [`${x.method} ${x.path}: no ${service} SDK operation has this URL`] };
  const request = jsonOf(x.body);
  // Several operations share one URL (ECS os-start/reboot/os-stop on /cloudservers/action):
  // the body tells them apart, so the one whose body model it fits best is the operation.
  const scored = candidates.map((op) => ({
    op,
    problems: op.bodyModel ? validate(service, op.bodyModel, request) : [],
  }));
  scored.sort((a, b) => a.problems.length - b.problems.length);
  const best = scored[0] as (typeof scored)[number];
  const problems = [...best.problems];
  for (const key of x.query.keys()) {
    if (!best.op.query.includes(key))
      problems.push(`query ${key}: not a parameter of ${best.op.name}`);
  }
  // Operation headers (X-Cff-Log-Type, X-CFF-Request-Version, …) must be ones the SDK declares.
  for (const header of Object.keys(x.headers)) {
    if (header.startsWith("x-cff-") && !best.op.headers.includes(header))
      problems.push(`header ${header}: not a header of ${best.op.name}`);
  }
  if (x.status >= 200 && x.status < 300 && x.responseBody.length > 0) {
    const answer = jsonOf(x.responseBody);
    problems.push(
      ...validate(service, responseModelOf(best.op), answer, {
        unknownFields: true,
        side: "response",
      }).map((p) => `answer ${p}`),
    );
  }
  return { operation: best.op, problems: problems.map((p) => `${best.op.name}: ${p}`) };
}

function checkAll(service: SdkService, exchanges: Exchange[]) {
  const ops = new Set<string>();
  const problems = new Set<string>();
  for (const x of exchanges) {
    if (service === "functiongraph" && x.path.includes("/apigw/")) continue;
    const checked = check(service, x);
    if (checked.operation) ops.add(checked.operation.name);
    for (const p of checked.problems) problems.add(p);
  }
  return { ops, problems: [...problems] };
}

describe("requests and answers against the Huawei SDK models", () => {
  it("ECS: every call the CLI and the watchdog make, and every answer, fit the SDK", () => {
    const { ops, problems } = checkAll("ecs", flows.exchanges.ecs);
    expect(problems).toEqual([]);
    expect([...ops].sort()).toEqual(
      [
        "batchRebootServers",
        "batchStartServers",
        "createPostPaidServers",
        "deleteServers",
        "listServersDetails",
        "reinstallServerWithCloudInit",
        "showJob",
        "showServer",
      ].sort(),
    );
  });

  it("FunctionGraph: create, update code and config, triggers, invoke, delete fit the SDK", () => {
    const { ops, problems } = checkAll("functiongraph", flows.exchanges.functiongraph);
    expect(problems).toEqual([]);
    expect([...ops].sort()).toEqual(
      [
        "createFunction",
        "createFunctionTrigger",
        "deleteFunction",
        "deleteFunctionTrigger",
        "invokeFunction",
        "listFunctionTriggers",
        "showFunctionConfig",
        "updateFunctionCode",
        "updateFunctionConfig",
        "updateFunctionMaxInstanceConfig",
      ].sort(),
    );
  });

  it("VPC: security group and rule calls fit the SDK", () => {
    const { ops, problems } = checkAll("vpc", flows.exchanges.vpc);
    expect(problems).toEqual([]);
    expect([...ops].sort()).toEqual(
      [
        "createSecurityGroup",
        "createSecurityGroupRule",
        "deleteSecurityGroup",
        "listSecurityGroupRules",
        "listSecurityGroups",
      ].sort(),
    );
  });

  it("OBS: list, get, put, copy, delete fit esdk-obs-nodejs's operation models, both schemes", () => {
    const ops = new Set<string>();
    const problems = new Set<string>();
    for (const x of flows.exchanges.obs) {
      const checked = checkObsExchange(x);
      if (checked.operation) ops.add(checked.operation);
      for (const p of checked.problems) problems.add(p);
    }
    expect([...problems]).toEqual([]);
    expect([...ops].sort()).toEqual(
      ["CopyObject", "DeleteObject", "GetObject", "ListObjects", "PutObject"].sort(),
    );
  });

  it("every error answer has the shape the SDK core reads its code and message from", () => {
    // huaweicloud-sdk-core exception/ExceptionUtil.js: `error.code`/`error.message`, else
    // `error_code`/`error_msg`; anything else surfaces as an error without a code.
    const services = ["ecs", "functiongraph", "vpc"] as const;
    const errors = services.flatMap((s) => flows.exchanges[s].filter((x) => x.status >= 400));
    expect(errors.length).toBeGreaterThan(0);
    const unreadable = errors.filter((x) => {
      const body = jsonOf(x.responseBody) as Record<string, unknown> | undefined;
      const nested = body?.error as { code?: unknown; message?: unknown } | undefined;
      const code = nested?.code ?? body?.error_code;
      const message = nested?.message ?? body?.error_msg;
      return typeof code !== "string" || typeof message !== "string";
    });
    expect(unreadable.map((x) => `${x.status} ${x.method} ${x.path}`)).toEqual([]);
  });

  it("every SDK call is signed SDK-HMAC-SHA256 with the project header the SDK adds", () => {
    const sdkCalls = [
      ...flows.exchanges.ecs,
      ...flows.exchanges.functiongraph,
      ...flows.exchanges.vpc,
    ];
    const unsigned = sdkCalls.filter(
      (x) =>
        !/^SDK-HMAC-SHA256 Access=\S+, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/.test(
          x.headers.authorization ?? "",
        ) ||
        !/^\d{8}T\d{6}Z$/.test(x.headers["x-sdk-date"] ?? "") ||
        !x.headers["x-project-id"],
    );
    expect(unsigned.map((x) => `${x.method} ${x.path}`)).toEqual([]);
  });

  it("the watchdog's own calls carry its agency's temporary key (security token)", () => {
    const fromFunction = flows.exchanges.ecs.filter((x) => x.headers["x-security-token"]);
    expect(fromFunction.length).toBeGreaterThan(0);
    // OBS takes the token in the header family of the signature: x-obs- for "OBS ak:sig",
    // x-amz- for "AWS ak:sig" (OBS API Reference, "User Signature Authentication").
    const obsFromFunction = flows.exchanges.obs.filter(
      (x) => x.headers["x-obs-security-token"] || x.headers["x-amz-security-token"],
    );
    expect(obsFromFunction.length).toBeGreaterThan(0);
    const mixed = obsFromFunction.filter((x) => {
      const scheme = (x.headers.authorization ?? "").startsWith("OBS ") ? "obs" : "amz";
      return !x.headers[`x-${scheme}-security-token`];
    });
    expect(mixed.map((x) => `${x.method} ${x.path}`)).toEqual([]);
  });
});
