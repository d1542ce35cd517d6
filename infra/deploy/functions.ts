import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  ApigTriggerFuncInfo,
  CreateFunctionRequest,
  CreateFunctionRequestBody,
  CreateFunctionTriggerRequest,
  CreateFunctionTriggerRequestBody,
  DeleteFunctionRequest,
  DeleteFunctionTriggerRequest,
  FuncCode,
  type FunctionGraphClient,
  FuncVpc,
  ListFunctionTriggersRequest,
  ShowFunctionConfigRequest,
  TriggerEventDataRequestBody,
  UpdateFunctionCodeRequest,
  UpdateFunctionCodeRequestBody,
  UpdateFunctionConfigRequest,
  UpdateFunctionConfigRequestBody,
  UpdateFunctionMaxInstanceConfigRequest,
  UpdateFunctionMaxInstanceConfigRequestBody,
} from "@huaweicloud/huaweicloud-sdk-functiongraph";
import { functionUrn } from "../../shared/cloud/fgs-urn";
import { ClawwatchError } from "../../shared/errors";
import type { DedicatedGateway } from "./apig";
import { decodeInvocationLog } from "./fgs-client";
import { apiErrorOf, type SignedEndpoint, signedRequest } from "./signed";

export class DeployError extends ClawwatchError {}

export interface FunctionSpec {
  name: string;
  zipPath: string;
  /** Plain env vars (user_data). */
  env: Record<string, string>;
  /** Encrypted env vars: every secret goes here, never in `env`. */
  secrets: Record<string, string>;
  agency: string;
  memoryMb: number;
  timeoutSeconds: number;
  maxInstances?: number;
  /** VPC access: the function gets a port in this subnet (and loses default public egress). */
  vpc?: { vpcId: string; subnetId: string };
  description?: string;
}

export interface Target {
  client: FunctionGraphClient;
  /** The same FunctionGraph endpoint and key, for the calls made outside the SDK (sync invoke). */
  api: SignedEndpoint;
  region: string;
  projectId: string;
}

export type Change = "created" | "updated" | "unchanged";

export const RUNTIME = "Node.js20.15";
/**
 * FunctionGraph's limit for user_data and encrypted_user_data together: 4,096 characters only
 * in the regions Huawei lists, 2,048 elsewhere (cn-north-4 included), and at most 20 variables
 * (shared/reference/huawei-cloud-facts.md §4; CreateFunction's user_data: "最多定义20个"). No
 * public list of the 4 KB regions was found: add one here when Huawei confirms it. local-1 is
 * the local cloud, which plays a listed region.
 */
const ENV_4096_REGIONS: ReadonlySet<string> = new Set(["local-1"]);
export const MAX_ENV_VARS = 20;

/**
 * The memory sizes FunctionGraph takes (MB): "取值范围为：128、256、512、768、1024、1280、1536、1792、
 * 2048、2560、3072、3584、4096" (CreateFunction memory_size, as Huawei's SDK models document it).
 */
export const MEMORY_SIZES: readonly number[] = [
  128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
];

/** Everything FunctionGraph would refuse in a spec, checked before any API call. */
export function checkFunctionSpec(
  spec: Pick<FunctionSpec, "name" | "env" | "secrets" | "memoryMb">,
  region: string,
): void {
  if (!MEMORY_SIZES.includes(spec.memoryMb)) {
    throw new DeployError(
      `${spec.name}: ${spec.memoryMb} MB is not a FunctionGraph memory size; use one of ${MEMORY_SIZES.join(", ")}`,
    );
  }
  checkEnvLimit(spec, region);
}

export function envLimitFor(region: string): number {
  return ENV_4096_REGIONS.has(region) ? 4096 : 2048;
}

/** The function's configuration as ShowFunctionConfig answers it (snake_case JSON). */
export interface FunctionConfigJson {
  func_urn?: string;
  func_name?: string;
  runtime?: string;
  memory_size?: number;
  timeout?: number;
  user_data?: string;
  encrypted_user_data?: string;
  xrole?: string;
  digest?: string;
  code_size?: number;
  last_modified?: string;
  description?: string;
  func_vpc?: { vpc_id?: string; subnet_id?: string } | null;
  strategy_config?: { concurrency?: number };
}

export interface TriggerJson {
  trigger_id?: string;
  trigger_type_code?: string;
  trigger_status?: string;
  event_data?: {
    name?: string;
    path?: string;
    invoke_url?: string;
    schedule_type?: string;
    schedule?: string;
  };
}

export function urnOf(target: Target, functionName: string): string {
  return functionUrn({ region: target.region, projectId: target.projectId, name: functionName });
}

/** Characters the environment takes against the limit (both JSON texts, the stricter reading). */
export function envSize(spec: Pick<FunctionSpec, "env" | "secrets">): number {
  return JSON.stringify(spec.env).length + JSON.stringify(spec.secrets).length;
}

/** Fails before any API call when the environment would not fit this region's limits. */
export function checkEnvLimit(
  spec: Pick<FunctionSpec, "name" | "env" | "secrets">,
  region: string,
): void {
  const size = envSize(spec);
  const limit = envLimitFor(region);
  const count = Object.keys(spec.env).length + Object.keys(spec.secrets).length;
  if (size <= limit && count <= MAX_ENV_VARS) return;
  const largest = Object.entries({ ...spec.env, ...spec.secrets })
    .map(([name, value]) => ({ name, chars: value.length }))
    .sort((a, b) => b.chars - a.chars)
    .slice(0, 3)
    .map((v) => `${v.name} ${v.chars}`)
    .join(", ");
  const problem =
    size > limit
      ? `environment variables total ${size} characters; FunctionGraph allows ${limit} in ${region}`
      : `${count} environment variables; FunctionGraph allows ${MAX_ENV_VARS}`;
  throw new DeployError(
    `${spec.name}: ${problem} (largest: ${largest}). ` +
      "Shorten the config: put settings shared by every box in boxDefaults and drop defaults you did not change",
  );
}

/** Creates the function or brings its code and config up to date; safe to run again. */
export async function upsertFunction(target: Target, spec: FunctionSpec): Promise<Change> {
  checkFunctionSpec(spec, target.region);
  const urn = urnOf(target, spec.name);
  const zipBytes = await readFile(spec.zipPath);
  const zip = zipBytes.toString("base64");
  const existing = await showFunction(target, spec.name);
  let change: Change;
  if (!existing) {
    const body = new CreateFunctionRequestBody()
      .withFuncName(spec.name)
      .withPackage("default")
      .withRuntime(RUNTIME)
      .withHandler("index.handler")
      .withMemorySize(spec.memoryMb)
      .withTimeout(spec.timeoutSeconds)
      .withCodeType("zip")
      .withCodeFilename("index.zip")
      .withFuncCode(new FuncCode().withFile(zip))
      .withUserData(JSON.stringify(spec.env))
      .withEncryptedUserData(JSON.stringify(spec.secrets))
      .withXrole(spec.agency)
      .withType("v2");
    if (spec.vpc) body.withFuncVpc(funcVpc(spec.vpc));
    if (spec.description) body.withDescription(spec.description);
    await sdk("create function", () =>
      target.client.createFunction(new CreateFunctionRequest().withBody(body)),
    );
    change = "created";
  } else {
    // Comparing the digest first avoids uploading megabytes just to be told "same code".
    const digest = createHash("sha512").update(zipBytes).digest("hex");
    const codeChanged = existing.digest === digest ? false : await updateCode(target, urn, zip);
    const configChanged = configDiffers(existing, spec);
    if (configChanged) await updateConfig(target, urn, spec);
    change = codeChanged || configChanged ? "updated" : "unchanged";
  }
  const concurrency = existing?.strategy_config?.concurrency;
  if (spec.maxInstances !== undefined && concurrency !== spec.maxInstances) {
    await setMaxInstances(target, urn, spec.maxInstances);
    if (change === "unchanged") change = "updated";
  }
  return change;
}

/** What upsertFunction would do, without doing it: "create", or the parts it would update. */
export async function planFunction(
  target: Target,
  spec: FunctionSpec,
): Promise<{ exists: boolean; changes: string[] }> {
  checkFunctionSpec(spec, target.region);
  const existing = await showFunction(target, spec.name);
  if (!existing) return { exists: false, changes: ["create"] };
  const digest = createHash("sha512")
    .update(await readFile(spec.zipPath))
    .digest("hex");
  const changes = [
    ...(existing.digest === digest ? [] : ["code"]),
    ...(configDiffers(existing, spec) ? ["config"] : []),
    ...(spec.maxInstances !== undefined &&
    existing.strategy_config?.concurrency !== spec.maxInstances
      ? ["max instances"]
      : []),
  ];
  return { exists: true, changes };
}

/** The function's config, or undefined when there is no such function. */
export async function showFunction(
  target: Target,
  functionName: string,
): Promise<FunctionConfigJson | undefined> {
  try {
    const res: unknown = await target.client.showFunctionConfig(
      new ShowFunctionConfigRequest().withFunctionUrn(urnOf(target, functionName)),
    );
    return res as FunctionConfigJson;
  } catch (error) {
    if (Number((error as { httpStatusCode?: unknown }).httpStatusCode) === 404) return undefined;
    throw deployError("read function config", error);
  }
}

function funcVpc(vpc: { vpcId: string; subnetId: string }): FuncVpc {
  return new FuncVpc().withVpcId(vpc.vpcId).withSubnetId(vpc.subnetId);
}

function configDiffers(existing: FunctionConfigJson, spec: FunctionSpec): boolean {
  return (
    existing.memory_size !== spec.memoryMb ||
    existing.timeout !== spec.timeoutSeconds ||
    existing.xrole !== spec.agency ||
    existing.runtime !== RUNTIME ||
    existing.user_data !== JSON.stringify(spec.env) ||
    secretsDiffer(existing.encrypted_user_data, spec.secrets) ||
    (spec.vpc !== undefined &&
      (existing.func_vpc?.vpc_id !== spec.vpc.vpcId ||
        existing.func_vpc?.subnet_id !== spec.vpc.subnetId))
  );
}

/**
 * Only an answer that echoes the secrets as JSON can be compared; when the API hides or encrypts
 * them, a change of secrets shows in the plain env instead (the deploy CLI adds a fingerprint).
 */
function secretsDiffer(echoed: string | undefined, secrets: Record<string, string>): boolean {
  if (!echoed?.startsWith("{")) return false;
  return echoed !== JSON.stringify(secrets);
}

async function updateCode(target: Target, urn: string, zip: string): Promise<boolean> {
  try {
    await target.client.updateFunctionCode(
      new UpdateFunctionCodeRequest()
        .withFunctionUrn(urn)
        .withBody(
          new UpdateFunctionCodeRequestBody()
            .withCodeType("zip")
            .withCodeFilename("index.zip")
            .withFuncCode(new FuncCode().withFile(zip)),
        ),
    );
    return true;
  } catch (error) {
    // FunctionGraph refuses identical code with a "same code" error: nothing to do.
    if (/same code/i.test((error as { errorMsg?: string }).errorMsg ?? "")) return false;
    throw deployError("update function code", error);
  }
}

function updateConfig(target: Target, urn: string, spec: FunctionSpec) {
  const body = new UpdateFunctionConfigRequestBody()
    .withFuncName(spec.name)
    .withRuntime(RUNTIME)
    .withHandler("index.handler")
    .withMemorySize(spec.memoryMb)
    .withTimeout(spec.timeoutSeconds)
    .withUserData(JSON.stringify(spec.env))
    .withEncryptedUserData(JSON.stringify(spec.secrets))
    .withXrole(spec.agency);
  if (spec.vpc) body.withFuncVpc(funcVpc(spec.vpc));
  if (spec.description) body.withDescription(spec.description);
  return sdk("update function config", () =>
    target.client.updateFunctionConfig(
      new UpdateFunctionConfigRequest().withFunctionUrn(urn).withBody(body),
    ),
  );
}

function setMaxInstances(target: Target, urn: string, count: number) {
  return sdk("set max instances", () =>
    target.client.updateFunctionMaxInstanceConfig(
      new UpdateFunctionMaxInstanceConfigRequest()
        .withFunctionUrn(urn)
        .withBody(new UpdateFunctionMaxInstanceConfigRequestBody().withMaxInstanceNum(count)),
    ),
  );
}

/** Deletes the function (its triggers go with it); false when it did not exist. */
export async function deleteFunction(target: Target, functionName: string): Promise<boolean> {
  try {
    await target.client.deleteFunction(
      new DeleteFunctionRequest().withFunctionUrn(urnOf(target, functionName)),
    );
    return true;
  } catch (error) {
    if (Number((error as { httpStatusCode?: unknown }).httpStatusCode) === 404) return false;
    throw deployError("delete function", error);
  }
}

/** The function's triggers; empty when the function does not exist. */
export async function listTriggers(target: Target, functionName: string): Promise<TriggerJson[]> {
  let res: unknown;
  try {
    res = await target.client.listFunctionTriggers(
      new ListFunctionTriggersRequest().withFunctionUrn(urnOf(target, functionName)),
    );
  } catch (error) {
    if (Number((error as { httpStatusCode?: unknown }).httpStatusCode) === 404) return [];
    throw deployError("list triggers", error);
  }
  // The SDK hands a top-level JSON array back as `body` of its response object.
  if (Array.isArray(res)) return res as TriggerJson[];
  const body = (res as { body?: unknown }).body;
  return Array.isArray(body) ? (body as TriggerJson[]) : [];
}

export async function deleteTrigger(
  target: Target,
  functionName: string,
  trigger: TriggerJson,
): Promise<void> {
  if (!trigger.trigger_id || !trigger.trigger_type_code) return;
  await sdk("delete trigger", () =>
    target.client.deleteFunctionTrigger(
      new DeleteFunctionTriggerRequest()
        .withFunctionUrn(urnOf(target, functionName))
        .withTriggerTypeCode(trigger.trigger_type_code as string)
        .withTriggerId(trigger.trigger_id as string),
    ),
  );
}

/**
 * A TIMER trigger with this name at this rate. An existing one with another schedule is
 * replaced (FunctionGraph cannot change a timer's schedule type in place).
 */
export async function ensureTimer(
  target: Target,
  functionName: string,
  timer: { name: string; rate: string },
): Promise<Change> {
  const found = (await listTriggers(target, functionName)).find(
    (t) => t.trigger_type_code === "TIMER" && t.event_data?.name === timer.name,
  );
  if (
    found &&
    found.event_data?.schedule_type === "Rate" &&
    found.event_data.schedule === timer.rate &&
    found.trigger_status !== "DISABLED"
  ) {
    return "unchanged";
  }
  // Older deployments may not echo the schedule: keep those rather than churn them.
  if (found && found.event_data?.schedule === undefined) return "unchanged";
  if (found) await deleteTrigger(target, functionName, found);
  await sdk("create timer trigger", () =>
    target.client.createFunctionTrigger(
      new CreateFunctionTriggerRequest()
        .withFunctionUrn(urnOf(target, functionName))
        .withBody(
          new CreateFunctionTriggerRequestBody()
            .withTriggerTypeCode("TIMER")
            .withTriggerStatus("ACTIVE")
            .withEventData(
              new TriggerEventDataRequestBody()
                .withName(timer.name)
                .withScheduleType("Rate")
                .withSchedule(timer.rate)
                .withUserEvent("{}"),
            ),
        ),
    ),
  );
  return found ? "updated" : "created";
}

export interface ApigOptions {
  /** API name; Huawei Cloud wants 3-64 letters, digits and underscores. */
  name?: string;
  protocol?: "HTTPS" | "HTTP";
  /** How long the gateway waits for the function (ms, 1-60000). */
  timeoutMs?: number;
}

/** Both type codes of an HTTP trigger: the shared gateway's (older deployments) and the dedicated one's. */
export const APIG_TRIGGER_TYPES: readonly string[] = ["APIG", "DEDICATEDGATEWAY"];

/** The function's HTTP trigger on this path, of either gateway type. */
export function findApigTrigger(triggers: TriggerJson[], path: string): TriggerJson | undefined {
  return triggers.find(
    (t) => APIG_TRIGGER_TYPES.includes(t.trigger_type_code ?? "") && t.event_data?.path === path,
  );
}

/**
 * A DEDICATEDGATEWAY trigger on this path (Huawei's shared API Gateway is closed to new users);
 * returns its invoke URL. The event_data is what the SDK model requires (env_id,
 * func_info.timeout) plus what terraform-provider-huaweicloud sends for the same trigger
 * (instance_id, group_id, backend_type FUNCTION, sl_domain, type 1).
 */
export async function ensureApig(
  target: Target,
  functionName: string,
  path: string,
  gateway: DedicatedGateway,
  options: ApigOptions = {},
): Promise<{ change: Change; url: string }> {
  const found = findApigTrigger(await listTriggers(target, functionName), path);
  if (found?.event_data?.invoke_url)
    return { change: "unchanged", url: found.event_data.invoke_url };
  const body = new CreateFunctionTriggerRequestBody()
    .withTriggerTypeCode("DEDICATEDGATEWAY")
    .withTriggerStatus("ACTIVE")
    .withEventData(
      new TriggerEventDataRequestBody()
        .withName(options.name ?? `${functionName}-webhook`.replace(/[^A-Za-z0-9_]/g, "_"))
        .withPath(path)
        .withReqMethod("POST")
        .withAuth("NONE")
        .withMatchMode("NORMAL")
        .withType(1)
        .withProtocol(options.protocol ?? "HTTPS")
        .withBackendType("FUNCTION")
        .withInstanceId(gateway.instanceId)
        .withGroupId(gateway.groupId)
        .withEnvName(gateway.envName)
        .withEnvId(gateway.envId)
        .withSlDomain(gateway.slDomain)
        .withFuncInfo(new ApigTriggerFuncInfo().withTimeout(options.timeoutMs ?? 5_000)),
    );
  const res = (await sdk("create APIG trigger", () =>
    target.client.createFunctionTrigger(
      new CreateFunctionTriggerRequest()
        .withFunctionUrn(urnOf(target, functionName))
        .withBody(body),
    ),
  )) as unknown as TriggerJson;
  const url = res.event_data?.invoke_url;
  if (!url)
    throw new DeployError(
      "the APIG trigger was created but has no invoke URL; check it in the console",
    );
  return { change: "created", url };
}

/** What a sync invoke answers in the v1 format: the handler's result as text, and its log. */
interface InvokeAnswer {
  status?: number;
  result?: string;
  log?: string;
}

/**
 * Synchronous invoke; returns the handler's parsed result or throws with the function's error.
 * `X-CFF-Request-Version: v1` asks for the JSON answer (without it FunctionGraph answers in its
 * default text format, with no status to read); the log tail comes in the body and in the
 * `X-Cff-Function-Log` header, which the SDK drops, so this call is signed by hand.
 */
export async function invoke<T>(target: Target, functionName: string, event: unknown): Promise<T> {
  const urn = urnOf(target, functionName);
  let res: Awaited<ReturnType<typeof signedRequest>>;
  try {
    res = await signedRequest(target.api, {
      method: "POST",
      path: `/v2/${encodeURIComponent(target.projectId)}/fgs/functions/${urn}/invocations`,
      headers: { "X-Cff-Log-Type": "tail", "X-CFF-Request-Version": "v1" },
      body: event,
      timeoutMs: INVOKE_TIMEOUT_MS,
    });
  } catch (error) {
    throw deployError("invoke", error);
  }
  if (res.status !== 200) {
    const { code, message } = apiErrorOf(res.text);
    throw deployError("invoke", { httpStatusCode: res.status, errorCode: code, errorMsg: message });
  }
  const answer = invokeAnswerOf(functionName, res);
  const log = decodeInvocationLog(answer.log);
  if (answer.status !== 200) {
    const tail = log.split("\n").slice(-5).join("\n");
    throw new DeployError(`${functionName} failed: ${answer.result ?? "no result"}\n${tail}`);
  }
  return JSON.parse(answer.result || "null") as T;
}

/** Sync invokes wait for the function (up to its timeout, 60 s for the watchdog). */
const INVOKE_TIMEOUT_MS = 120_000;

/** The v1 answer, with the log from the body or, when the body has none, the X-Cff-Function-Log header. */
export function invokeAnswerOf(
  functionName: string,
  res: { text: string; headers: Record<string, string | string[] | undefined> },
): InvokeAnswer {
  const answer = parseAnswer(res.text, functionName);
  const header = res.headers["x-cff-function-log"];
  return { ...answer, log: answer.log || (typeof header === "string" ? header : "") };
}

function parseAnswer(text: string, functionName: string): InvokeAnswer {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new DeployError(
      `${functionName}: the invoke answer is not the v1 JSON format (X-CFF-Request-Version): ${text.slice(0, 200)}`,
    );
  }
  if (answer === null || typeof answer !== "object" || !("status" in answer)) {
    throw new DeployError(
      `${functionName}: the invoke answer has no status: ${text.slice(0, 200)}`,
    );
  }
  return answer as InvokeAnswer;
}

async function sdk<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw deployError(what, error);
  }
}

function deployError(what: string, error: unknown): DeployError {
  const e = error as {
    httpStatusCode?: unknown;
    errorCode?: string;
    errorMsg?: string;
    message?: string;
  };
  const detail = e.httpStatusCode
    ? `HTTP ${String(e.httpStatusCode)} ${e.errorCode ?? ""} ${e.errorMsg ?? ""}`.trim()
    : (e.errorMsg ?? e.message ?? "unreachable");
  const advice = /agency/i.test(e.errorMsg ?? "")
    ? "; attach infra/iam/<function>-agency-policy.json to that agency (infra/iam/README.md)"
    : Number(e.httpStatusCode) === 401 || Number(e.httpStatusCode) === 403
      ? "; check HUAWEICLOUD_SDK_AK/SK and that the user may manage FunctionGraph in this project"
      : "";
  return new DeployError(`FunctionGraph ${what} failed: ${detail}${advice}`, {
    cause: { status: e.httpStatusCode, code: e.errorCode },
  });
}
