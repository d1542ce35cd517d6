import { createHash, randomUUID } from "node:crypto";
import { unzipSync } from "fflate";
import type { Schedule } from "./functiongraph-schedule";

/** An API error answered as FunctionGraph does: `{"error_code":"FSS.xxxx","error_msg":...}`. */
export class FgsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "FgsError";
  }
}

const invalid = (code: string, message: string) => new FgsError(400, code, message);

export type TriggerType = "TIMER" | "DEDICATEDGATEWAY";
export type TriggerStatus = "ACTIVE" | "DISABLED";

export interface ApigRoute {
  readonly path: string;
  readonly method: string;
  readonly matchMode: "NORMAL" | "SWA";
  readonly stage: string;
}

export interface TriggerRecord {
  readonly id: string;
  readonly type: TriggerType;
  status: TriggerStatus;
  eventData: Record<string, unknown>;
  readonly createdTime: string;
  lastUpdatedTime: string;
  /** TIMER only. */
  schedule?: Schedule;
  /** DEDICATEDGATEWAY only. */
  route?: ApigRoute;
}

export interface FunctionConfig {
  runtime: string;
  handler: string;
  memorySize: number;
  timeout: number;
  /** As sent: a JSON string of `{name: value}` (empty when none). */
  userDataRaw: string;
  encryptedUserDataRaw: string;
  userData: Record<string, string>;
  encryptedUserData: Record<string, string>;
  xrole: string;
  appXrole: string;
  description: string;
  /** VPC access (`func_vpc`): the function gets a port in this subnet through its agency. */
  vpc: { vpcId: string; subnetId: string } | undefined;
}

export interface FunctionCode {
  codeFilename: string;
  zip: Uint8Array;
  files: Record<string, Uint8Array>;
  digest: string;
}

export interface FunctionRecord {
  readonly funcId: string;
  readonly name: string;
  readonly pkg: string;
  /** Without the version suffix. */
  readonly urn: string;
  readonly createdAt: string;
  config: FunctionConfig;
  code: FunctionCode;
  maxInstanceNum: number;
  lastModified: string;
  /** Bumped on every code or config change: instances of an older generation are retired. */
  generation: number;
  readonly triggers: Map<string, TriggerRecord>;
}

export const RUNTIMES = [
  "Node.js6.10",
  "Node.js8.10",
  "Node.js10.16",
  "Node.js12.13",
  "Node.js14.18",
  "Node.js16.17",
  "Node.js18.15",
  "Node.js20.15",
] as const;
/**
 * memory_size: "取值范围为：128、256、512、768、1024、1280、1536、1792、2048、2560、3072、3584、4096。
 * 最小值为128，最大值为4096" (CreateFunction/UpdateFunctionConfig field docs in Huawei's SDKs,
 * e.g. huaweicloud-sdk-java-v3 CreateFunctionRequestBody, huaweicloud-sdk-go-v3
 * model_update_function_config_request_body.go).
 */
export const MEMORY_SIZES = [
  128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
] as const;
/**
 * The environment (user_data + encrypted_user_data) holds 4,096 characters only in the regions
 * Huawei lists; elsewhere, cn-north-4 included, 2,048 (shared/reference/huawei-cloud-facts.md
 * §4, correction of 2026-12-04; the console guide functiongraph_01_0154 still says 2,048, the
 * intl Notes and Constraints functiongraph_01_0150 says 4,096). No public list of the 4 KB
 * regions was found, so only the local region is one: it plays a listed region, which the
 * fleet tests need until issue 12 moves fleet config to OBS.
 */
const ENV_4096_REGIONS: ReadonlySet<string> = new Set(["local-1"]);
export const ENV_CHARS_DEFAULT = 2048;
export function envLimitFor(region: string): number {
  return ENV_4096_REGIONS.has(region) ? 4096 : ENV_CHARS_DEFAULT;
}
/**
 * "最多定义20个，总长度不超过4KB" (user_data, CreateFunction API reference; the same text in the
 * SDK models' field docs, e.g. huaweicloud-sdk-go-v3 model_create_function_request_body.go).
 * Counted over both fields together, the stricter reading.
 */
export const MAX_ENV_VARS = 20;
export const MAX_ZIP_BYTES = 50 * 1024 * 1024;
/** New functions may scale to this many instances until updateFunctionMaxInstanceConfig. */
export const DEFAULT_MAX_INSTANCES = 400;

export type Json = Record<string, unknown>;

export function asObject(value: unknown, what: string): Json {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalid("FSS.0400", `Invalid parameter: ${what} must be a JSON object`);
  }
  return value as Json;
}

function requiredString(body: Json, key: string, code: string): string {
  const value = body[key];
  if (typeof value !== "string" || value === "") {
    throw invalid(code, `Invalid parameter: ${key} is required and must be a non-empty string`);
  }
  return value;
}

function optionalString(body: Json, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string")
    throw invalid("FSS.0400", `Invalid parameter: ${key} must be a string`);
  return value;
}

export function validateFuncName(name: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,59}$/.test(name)) {
    throw invalid(
      "FSS.1002",
      "Invalid function name: use 1-60 letters, digits, underscores or hyphens, starting with a letter",
    );
  }
  return name;
}

function validateRuntime(runtime: string): string {
  if (!(RUNTIMES as readonly string[]).includes(runtime)) {
    throw invalid(
      "FSS.1005",
      `Invalid runtime ${runtime}: the local emulator runs Node.js functions only (${RUNTIMES.join(", ")})`,
    );
  }
  return runtime;
}

function validateHandler(handler: string): string {
  if (!/^[^.\s]+(\.[^.\s]+)*\.[A-Za-z_$][\w$]*$/.test(handler)) {
    throw invalid(
      "FSS.1003",
      `Invalid function handler ${handler}: use <file>.<export>, e.g. index.handler`,
    );
  }
  return handler;
}

function validateMemory(value: unknown): number {
  if (typeof value !== "number" || !(MEMORY_SIZES as readonly number[]).includes(value)) {
    throw invalid(
      "FSS.1007",
      `Invalid function memory: memory_size must be one of ${MEMORY_SIZES.join(", ")}`,
    );
  }
  return value;
}

function validateTimeout(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 3 || value > 259_200) {
    throw invalid(
      "FSS.1008",
      "Invalid function timeout: timeout must be an integer from 3 to 259200 seconds",
    );
  }
  return value;
}

function parseEnv(raw: string | undefined, key: string): Record<string, string> {
  if (raw === undefined || raw === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid(
      "FSS.1009",
      `Invalid function UserData: ${key} must be a JSON string of {"NAME":"value"}`,
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw invalid(
      "FSS.1009",
      `Invalid function UserData: ${key} must be a JSON object of names to values`,
    );
  }
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== "string") {
      throw invalid(
        "FSS.1009",
        `Invalid function UserData: the value of ${name} in ${key} must be a string`,
      );
    }
  }
  return parsed as Record<string, string>;
}

/** The limit counts the JSON text of both fields, the stricter reading of "characters". */
function checkEnvSize(config: FunctionConfig, limit: number): void {
  const size = config.userDataRaw.length + config.encryptedUserDataRaw.length;
  if (size > limit) {
    throw invalid(
      "FSS.1009",
      `Invalid function UserData: environment variables total ${size} characters (user_data + encrypted_user_data); the limit in this region is ${limit}. Move large values to OBS or shorten them`,
    );
  }
  const count = Object.keys(config.userData).length + Object.keys(config.encryptedUserData).length;
  if (count > MAX_ENV_VARS) {
    throw invalid(
      "FSS.1009",
      `Invalid function UserData: ${count} environment variables (user_data + encrypted_user_data); at most ${MAX_ENV_VARS} are allowed`,
    );
  }
}

export function parseConfig(
  body: Json,
  envLimit: number,
  previous?: FunctionConfig,
): FunctionConfig {
  const userDataRaw = optionalString(body, "user_data") ?? previous?.userDataRaw ?? "";
  const encryptedUserDataRaw =
    optionalString(body, "encrypted_user_data") ?? previous?.encryptedUserDataRaw ?? "";
  const config: FunctionConfig = {
    runtime: validateRuntime(requiredString(body, "runtime", "FSS.1005")),
    handler: validateHandler(requiredString(body, "handler", "FSS.1003")),
    memorySize: validateMemory(body.memory_size),
    timeout: validateTimeout(body.timeout),
    userDataRaw,
    encryptedUserDataRaw,
    userData: parseEnv(userDataRaw, "user_data"),
    encryptedUserData: parseEnv(encryptedUserDataRaw, "encrypted_user_data"),
    xrole: optionalString(body, "xrole") ?? previous?.xrole ?? "",
    appXrole: optionalString(body, "app_xrole") ?? previous?.appXrole ?? "",
    description: optionalString(body, "description") ?? previous?.description ?? "",
    vpc: body.func_vpc === undefined ? previous?.vpc : parseVpc(body.func_vpc),
  };
  checkEnvSize(config, envLimit);
  return config;
}

function parseVpc(value: unknown): FunctionConfig["vpc"] {
  if (value === null) return undefined;
  const vpc = asObject(value, "func_vpc");
  const vpcId = vpc.vpc_id;
  const subnetId = vpc.subnet_id;
  if (
    typeof vpcId !== "string" ||
    vpcId === "" ||
    typeof subnetId !== "string" ||
    subnetId === ""
  ) {
    throw invalid("FSS.0400", "Invalid parameter: func_vpc needs vpc_id and subnet_id");
  }
  return { vpcId, subnetId };
}

/** `code_type` zip with the package inline in `func_code.file` (base64), as the SDK sends it. */
export function parseCode(body: Json): FunctionCode {
  const codeType = body.code_type;
  if (codeType === undefined)
    throw invalid("FSS.1006", "Invalid function code entry mode: code_type is required");
  if (codeType !== "zip") {
    throw invalid(
      "FSS.1006",
      `Invalid function code entry mode ${String(codeType)}: the local emulator accepts code_type zip only`,
    );
  }
  const codeFilename = optionalString(body, "code_filename");
  if (!codeFilename)
    throw invalid("FSS.0400", "Invalid parameter: code_filename is required when code_type is zip");
  const funcCode = body.func_code;
  const file =
    funcCode && typeof funcCode === "object" ? (funcCode as { file?: unknown }).file : undefined;
  if (typeof file !== "string" || file === "") {
    throw invalid(
      "FSS.1012",
      "The function code must be configured: put the zip, base64-encoded, in func_code.file",
    );
  }
  const zip = new Uint8Array(Buffer.from(file, "base64"));
  if (zip.byteLength > MAX_ZIP_BYTES) {
    throw new FgsError(
      413,
      "FSS.1071",
      "The size of the code package to be uploaded exceeds the maximum allowed limit (50 MB)",
    );
  }
  return {
    codeFilename,
    zip,
    files: unpack(zip),
    digest: createHash("sha512").update(zip).digest("hex"),
  };
}

function unpack(zip: Uint8Array): Record<string, Uint8Array> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip);
  } catch (error) {
    throw invalid(
      "FSS.1011",
      `Invalid function code: func_code.file is not a zip archive (${(error as Error).message})`,
    );
  }
  for (const name of Object.keys(files)) {
    if (name.startsWith("/") || name.split("/").includes("..")) {
      throw invalid(
        "FSS.1011",
        `Invalid function code: zip entry ${name} points outside the code directory`,
      );
    }
  }
  return files;
}

export function newFunction(body: Json, region: string, projectId: string): FunctionRecord {
  const name = validateFuncName(requiredString(body, "func_name", "FSS.1002"));
  const pkg = optionalString(body, "package") ?? "default";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(pkg)) throw invalid("FSS.1004", `Invalid Package ${pkg}`);
  const config = parseConfig(body, envLimitFor(region));
  const code = parseCode(body);
  const now = new Date().toISOString();
  return {
    funcId: randomUUID(),
    name,
    pkg,
    urn: `urn:fss:${region}:${projectId}:function:${pkg}:${name}`,
    createdAt: now,
    config,
    code,
    maxInstanceNum: DEFAULT_MAX_INSTANCES,
    lastModified: now,
    generation: 1,
    triggers: new Map(),
  };
}

export function parseMaxInstances(body: Json): number {
  const value = body.max_instance_num;
  if (
    typeof value !== "number" ||
    !Number.isInteger(value) ||
    value === 0 ||
    value < -1 ||
    value > 1000
  ) {
    throw invalid(
      "FSS.0400",
      "Invalid parameter: max_instance_num must be -1 (no limit) or an integer from 1 to 1000",
    );
  }
  return value;
}

/** `cpu` in millicores scales with memory: 128 MB gets 0.1 core, as FunctionGraph documents. */
export function cpuFor(memorySize: number): number {
  return Math.round((memorySize / 128) * 100);
}

export function configView(
  fn: FunctionRecord,
  domainId: string,
  region: string,
  projectId: string,
) {
  const c = fn.config;
  return {
    func_id: fn.funcId,
    resource_id: fn.funcId,
    func_urn: `${fn.urn}:latest`,
    func_name: fn.name,
    domain_id: domainId,
    namespace: projectId,
    project_name: region,
    package: fn.pkg,
    runtime: c.runtime,
    timeout: c.timeout,
    handler: c.handler,
    memory_size: c.memorySize,
    cpu: cpuFor(c.memorySize),
    code_type: "zip",
    code_url: "",
    code_filename: fn.code.codeFilename,
    code_size: fn.code.zip.byteLength,
    user_data: c.userDataRaw,
    encrypted_user_data: c.encryptedUserDataRaw,
    digest: fn.code.digest,
    version: "latest",
    image_name: `latest-${fn.lastModified}`,
    xrole: c.xrole,
    app_xrole: c.appXrole,
    description: c.description,
    func_vpc: c.vpc ? { vpc_id: c.vpc.vpcId, subnet_id: c.vpc.subnetId } : null,
    last_modified: fn.lastModified,
    strategy_config: { concurrency: fn.maxInstanceNum, concurrent_num: 1 },
    depend_version_list: [],
    type: "v2",
  };
}

export function codeView(fn: FunctionRecord, domainId: string) {
  return {
    func_urn: `${fn.urn}:latest`,
    func_name: fn.name,
    domain_id: domainId,
    runtime: fn.config.runtime,
    code_type: "zip",
    code_url: "",
    code_filename: fn.code.codeFilename,
    code_size: fn.code.zip.byteLength,
    digest: fn.code.digest,
    last_modified: fn.lastModified,
    func_code: { file: Buffer.from(fn.code.zip).toString("base64"), link: "" },
    depend_list: [],
    depend_version_list: [],
  };
}

export function triggerView(trigger: TriggerRecord) {
  return {
    trigger_id: trigger.id,
    trigger_type_code: trigger.type,
    trigger_status: trigger.status,
    event_data: trigger.eventData,
    last_updated_time: trigger.lastUpdatedTime,
    created_time: trigger.createdTime,
  };
}

export function parseTriggerStatus(value: unknown, fallback: TriggerStatus): TriggerStatus {
  if (value === undefined || value === null) return fallback;
  if (value !== "ACTIVE" && value !== "DISABLED") {
    throw invalid("FSS.0400", "Invalid parameter: trigger_status must be ACTIVE or DISABLED");
  }
  return value;
}

/** Names of TIMER triggers and APIG APIs: a letter, then letters, digits, `_` or `-`. */
export function validateTriggerName(name: unknown, code: string): string {
  if (typeof name !== "string" || !/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(name)) {
    throw invalid(
      code,
      "Invalid trigger name: use 1-64 letters, digits, underscores or hyphens, starting with a letter",
    );
  }
  return name;
}

export { invalid };
