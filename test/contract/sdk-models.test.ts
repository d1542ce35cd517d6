import { describe, expect, it } from "vitest";
import { USER_DATA_LIMIT_BYTES } from "../../infra/bootstrap/user-data";
import { envLimitFor, MAX_ENV_VARS, MEMORY_SIZES, RUNTIME } from "../../infra/deploy/functions";
import { JOB_STATUSES } from "../../shared/cloud/ecs.lazy";
import { checkObsExchange } from "./obs-models";
import type { Exchange } from "./recorder";
import { DOCUMENTED_ENUM_ADDITIONS, loadModel, operationsFor, validate } from "./sdk-models";

/**
 * The model reader itself (it must see what the SDK declares, or every contract test passes
 * vacuously), and the product's enums and limits against the SDK and Huawei's docs.
 */

describe("the SDK model reader", () => {
  it("reads required fields from the constructor, types and enums from the .d.ts", () => {
    const body = loadModel("functiongraph", "CreateFunctionRequestBody");
    const required = [...body.fields.values()].filter((f) => f.required).map((f) => f.wire);
    expect(required.sort()).toEqual(
      ["func_name", "handler", "memory_size", "package", "runtime", "timeout"].sort(),
    );
    expect(body.fields.get("func_code")?.type).toEqual({ kind: "model", name: "FuncCode" });
    const status = loadModel("ecs", "ShowJobResponse").fields.get("status")?.type;
    expect(status).toMatchObject({ kind: "enum", values: ["SUCCESS", "RUNNING", "FAIL", "INIT"] });
    const task = loadModel("ecs", "ServerDetail").fields.get("OS-EXT-STS:task_state");
    expect(task).toMatchObject({ type: { kind: "string" }, required: true });
  });

  it("finds the operation of a request from the ParamCreater, several for one URL", () => {
    const ops = operationsFor("ecs", "POST", "/v1/p/cloudservers/action").map((o) => o.name);
    expect(ops.sort()).toEqual(["batchRebootServers", "batchStartServers", "batchStopServers"]);
    const [show] = operationsFor("ecs", "GET", "/v1/p/cloudservers/abc");
    expect(show).toMatchObject({
      name: "showServer",
      url: "/v1/{project_id}/cloudservers/{server_id}",
    });
    expect(operationsFor("ecs", "GET", "/v1/p/cloudservers/abc/extra")).toEqual([]);
  });

  it("reports unknown and missing fields, wrong types and values outside an enum", () => {
    expect(
      validate("ecs", "BatchRebootServersRequestBody", {
        reboot: { type: "GENTLE", servers: [{ id: 1 }] },
        extra: true,
      }),
    ).toEqual([
      '$.reboot.type: "GENTLE" is not one of BatchRebootSeversOptionTypeEnum ["SOFT","HARD"]',
      "$.reboot.servers[0].id: must be a string, got number",
      "$.extra: not a field of BatchRebootServersRequestBody",
    ]);
    expect(validate("ecs", "BatchStartServersRequestBody", {})).toEqual([
      "$.os-start: required by BatchStartServersRequestBody, missing",
    ]);
    // An answer may carry null for a field the API always returns; a request may not.
    expect(validate("ecs", "ServerId", { id: null })).toEqual([
      "$.id: required by ServerId, missing",
    ]);
    expect(validate("ecs", "ServerId", { id: null }, { side: "response" })).toEqual([]);
  });
});

describe("the product's enums and limits against the SDK and the docs", () => {
  it("job statuses are exactly the SDK's ShowJob status enum", () => {
    const type = loadModel("ecs", "ShowJobResponse").fields.get("status")?.type;
    expect(type?.kind === "enum" ? [...type.values].sort() : []).toEqual([...JOB_STATUSES].sort());
  });

  it("the runtime, memory sizes, env and user_data limits match the SDK and its docs", () => {
    const body = loadModel("functiongraph", "CreateFunctionRequestBody");
    const runtime = body.fields.get("runtime")?.type;
    const known = runtime?.kind === "enum" ? runtime.values : [];
    // Node.js20.15 is newer than this SDK's enum: documented, and listed as such.
    expect(
      known.includes(RUNTIME) || DOCUMENTED_ENUM_ADDITIONS.Runtime?.values.includes(RUNTIME),
    ).toBe(true);
    // Go SDK CreateFunctionRequestBody.memory_size: "128、256、…、4096", user_data "最多定义20个，
    // 总长度不超过4KB"; ECS ReinstallSeverMetadata.user_data "注入内容最大长度32KB" (before base64).
    expect(MEMORY_SIZES[0]).toBe(128);
    expect(MEMORY_SIZES.at(-1)).toBe(4096);
    expect(MAX_ENV_VARS).toBe(20);
    expect(Math.max(envLimitFor("local-1"), envLimitFor("cn-north-4"))).toBeLessThanOrEqual(4096);
    expect(USER_DATA_LIMIT_BYTES).toBe(32 * 1024);
  });
});

describe("the OBS model reader (esdk-obs-nodejs lib/obsModel.js, lib/v2Model.js)", () => {
  const exchange = (over: Partial<Exchange>): Exchange => ({
    method: "GET",
    path: "/bucket",
    query: new URLSearchParams("prefix=a&max-keys=10"),
    headers: { authorization: "AWS ak:sig", "x-amz-date": "now" },
    body: Buffer.alloc(0),
    status: 200,
    responseHeaders: {},
    responseBody: Buffer.from(
      "<ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>",
    ),
    ...over,
  });

  it("accepts what the SDK's model has and names what it has not", () => {
    expect(checkObsExchange(exchange({}))).toEqual({ operation: "ListObjects", problems: [] });
    const bad = checkObsExchange(
      exchange({
        query: new URLSearchParams("prefix=a&page=2"),
        headers: { authorization: "OBS ak:sig", "x-obs-date": "now", "x-obs-mystery": "1" },
        responseBody: Buffer.from(
          "<ListBucketResult><Name>b</Name><Bogus/><Contents><Key>k</Key><Colour>red</Colour></Contents></ListBucketResult>",
        ),
      }),
    );
    expect(bad.problems).toEqual([
      "ListObjects (OBS): query page: not a parameter of ListObjects",
      "ListObjects (OBS): header x-obs-mystery: not a header of ListObjects",
      "ListObjects (OBS): answer <Bogus>: not an element of ListObjectsOutput",
      "ListObjects (OBS): answer <Contents><Colour>: not in the SDK's Contents",
    ]);
    const copy = checkObsExchange(
      exchange({
        method: "PUT",
        path: "/b/k",
        query: new URLSearchParams(),
        headers: { authorization: "AWS a:s", "x-amz-copy-source": "/b/j" },
        responseBody: Buffer.from(
          "<CopyObjectResult><ETag>e</ETag><LastModified>t</LastModified></CopyObjectResult>",
        ),
      }),
    );
    expect(copy).toEqual({ operation: "CopyObject", problems: [] });
  });
});
