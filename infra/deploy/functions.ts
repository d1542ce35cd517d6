import { readFile } from "node:fs/promises";
import {
  CreateFunctionRequest,
  CreateFunctionRequestBody,
  CreateFunctionTriggerRequest,
  CreateFunctionTriggerRequestBody,
  FuncCode,
  type FunctionGraphClient,
  InvokeFunctionRequest,
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
import { decodeInvocationLog, functionUrn } from "../../shared/cloud/fgs-client";
import { ClawwatchError } from "../../shared/errors";

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
}

export interface Target {
  client: FunctionGraphClient;
  region: string;
  projectId: string;
}

export type Change = "created" | "updated" | "unchanged";

const RUNTIME = "Node.js20.15";

/** Creates the function or brings its code and config up to date; safe to run again. */
export async function upsertFunction(target: Target, spec: FunctionSpec): Promise<Change> {
  const urn = functionUrn({ region: target.region, projectId: target.projectId, name: spec.name });
  const zip = (await readFile(spec.zipPath)).toString("base64");
  const existing = await showConfig(target, urn);
  let change: Change;
  if (!existing) {
    await sdk("create function", () =>
      target.client.createFunction(
        new CreateFunctionRequest().withBody(
          new CreateFunctionRequestBody()
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
            .withType("v2"),
        ),
      ),
    );
    change = "created";
  } else {
    const codeChanged = await updateCode(target, urn, zip);
    const configChanged = configDiffers(existing, spec);
    if (configChanged) await updateConfig(target, urn, spec);
    change = codeChanged || configChanged ? "updated" : "unchanged";
  }
  if (spec.maxInstances !== undefined) await setMaxInstances(target, urn, spec.maxInstances);
  return change;
}

interface ConfigJson {
  memory_size?: number;
  timeout?: number;
  user_data?: string;
  encrypted_user_data?: string;
  xrole?: string;
  runtime?: string;
}

async function showConfig(target: Target, urn: string): Promise<ConfigJson | undefined> {
  try {
    const res: unknown = await target.client.showFunctionConfig(
      new ShowFunctionConfigRequest().withFunctionUrn(urn),
    );
    return res as ConfigJson;
  } catch (error) {
    if (Number((error as { httpStatusCode?: unknown }).httpStatusCode) === 404) return undefined;
    throw deployError("read function config", error);
  }
}

function configDiffers(existing: ConfigJson, spec: FunctionSpec): boolean {
  return (
    existing.memory_size !== spec.memoryMb ||
    existing.timeout !== spec.timeoutSeconds ||
    existing.xrole !== spec.agency ||
    existing.runtime !== RUNTIME ||
    existing.user_data !== JSON.stringify(spec.env) ||
    existing.encrypted_user_data !== JSON.stringify(spec.secrets)
  );
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
  return sdk("update function config", () =>
    target.client.updateFunctionConfig(
      new UpdateFunctionConfigRequest()
        .withFunctionUrn(urn)
        .withBody(
          new UpdateFunctionConfigRequestBody()
            .withFuncName(spec.name)
            .withRuntime(RUNTIME)
            .withHandler("index.handler")
            .withMemorySize(spec.memoryMb)
            .withTimeout(spec.timeoutSeconds)
            .withUserData(JSON.stringify(spec.env))
            .withEncryptedUserData(JSON.stringify(spec.secrets))
            .withXrole(spec.agency),
        ),
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

interface TriggerJson {
  trigger_id?: string;
  trigger_type_code?: string;
  event_data?: { name?: string; path?: string; invoke_url?: string };
}

async function listTriggers(target: Target, urn: string): Promise<TriggerJson[]> {
  const res = (await sdk("list triggers", () =>
    target.client.listFunctionTriggers(new ListFunctionTriggersRequest().withFunctionUrn(urn)),
  )) as unknown;
  return Array.isArray(res)
    ? (res as TriggerJson[])
    : (((res as { body?: unknown }).body as TriggerJson[]) ?? []);
}

/** A TIMER trigger with this name; kept when it exists already. */
export async function ensureTimer(
  target: Target,
  functionName: string,
  timer: { name: string; rate: string },
): Promise<Change> {
  const urn = functionUrn({
    region: target.region,
    projectId: target.projectId,
    name: functionName,
  });
  const triggers = await listTriggers(target, urn);
  if (triggers.some((t) => t.trigger_type_code === "TIMER" && t.event_data?.name === timer.name)) {
    return "unchanged";
  }
  await sdk("create timer trigger", () =>
    target.client.createFunctionTrigger(
      new CreateFunctionTriggerRequest()
        .withFunctionUrn(urn)
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
  return "created";
}

/** An APIG trigger on this path; returns its public URL. */
export async function ensureApig(
  target: Target,
  functionName: string,
  path: string,
): Promise<{ change: Change; url: string }> {
  const urn = functionUrn({
    region: target.region,
    projectId: target.projectId,
    name: functionName,
  });
  const found = (await listTriggers(target, urn)).find(
    (t) => t.trigger_type_code === "APIG" && t.event_data?.path === path,
  );
  if (found?.event_data?.invoke_url)
    return { change: "unchanged", url: found.event_data.invoke_url };
  const body = new CreateFunctionTriggerRequestBody()
    .withTriggerTypeCode("APIG")
    .withTriggerStatus("ACTIVE")
    .withEventData({
      name: `${functionName}-webhook`.replace(/[^A-Za-z0-9_]/g, "_"),
      path,
      req_method: "POST",
      auth: "NONE",
      match_mode: "NORMAL",
      env_name: "RELEASE",
    } as unknown as TriggerEventDataRequestBody);
  const res = (await sdk("create APIG trigger", () =>
    target.client.createFunctionTrigger(
      new CreateFunctionTriggerRequest().withFunctionUrn(urn).withBody(body),
    ),
  )) as unknown as TriggerJson;
  const url = res.event_data?.invoke_url;
  if (!url)
    throw new DeployError(
      "the APIG trigger was created but has no invoke URL; check it in the console",
    );
  return { change: "created", url };
}

/** Synchronous invoke; returns the handler's parsed result or throws with the function's error. */
export async function invoke<T>(target: Target, functionName: string, event: unknown): Promise<T> {
  const urn = functionUrn({
    region: target.region,
    projectId: target.projectId,
    name: functionName,
  });
  const res = (await sdk("invoke", () =>
    target.client.invokeFunction(
      new InvokeFunctionRequest()
        .withFunctionUrn(urn)
        .withXCffLogType("tail")
        .withBody(event as Record<string, object>),
    ),
  )) as { status?: number; result?: string; log?: string };
  if (res.status !== 200) {
    const log = decodeInvocationLog(res.log).split("\n").slice(-5).join("\n");
    throw new DeployError(`${functionName} failed: ${res.result ?? "no result"}\n${log}`);
  }
  return JSON.parse(res.result ?? "null") as T;
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
  return new DeployError(`FunctionGraph ${what} failed: ${detail}`, {
    cause: { status: e.httpStatusCode, code: e.errorCode },
  });
}
