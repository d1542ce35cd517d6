import { createHash } from "node:crypto";
import { buildFunctions } from "../../build.mjs";
import { userDataSha256 } from "../../shared/cloud/user-data";
import type { Config } from "../../shared/config";
import { bootstrapKey } from "../../shared/state/keys";
import { type GatewayRef, lookupGateway, webhookUrlFor } from "../deploy/apig";
import {
  type Change,
  checkFunctionSpec,
  ensureApig,
  ensureTimer,
  type FunctionSpec,
  findApigTrigger,
  listTriggers,
  planFunction,
  upsertFunction,
} from "../deploy/functions";
import type { CommandContext } from "./context";
import { GATEWAY_PORT } from "./deployment";
import { PROBE_FUNCTION, probeFunctionSpec } from "./probe-function";
import { addressesOf, findServer, InfraError, showServer } from "./servers";
import { type StepResult, stepsTable } from "./table";
import { registerWebhook, webhookMatches, webhookState } from "./telegram";
import { renderUserData } from "./user-data";

export const WATCHDOG_FUNCTION = "clawwatch-watchdog";
export const WEBHOOK_FUNCTION = "clawwatch-telegram-webhook";
export { PROBE_FUNCTION };
export const TIMER_NAME = "clawwatch-timer";
/** APIG API names: letters, digits and underscores. */
export const APIG_NAME = "clawwatch_telegram";

export interface DeployResult {
  steps: StepResult[];
  webhookUrl?: string;
  /** Every step unchanged (a rerun with nothing to do). */
  unchanged: boolean;
}

/**
 * Builds both functions and brings FunctionGraph and Telegram in line with the config: the
 * watchdog (max 1 instance) with its TIMER trigger, the receiver with its APIG trigger, and the
 * alert bot's webhook pointing at it. A rerun with nothing changed reports "unchanged" throughout.
 */
export async function deployCommand(
  ctx: CommandContext,
  options: { dryRun: boolean; outDir: string },
): Promise<DeployResult> {
  const { io, cloud, deployment } = ctx;
  io.out(
    `${options.dryRun ? "Plan for deploying" : "Deploying"} clawwatch to ${cloud.region} (${cloud.kind})`,
  );
  const placed = await placeServerBox(ctx, { required: !options.dryRun });
  const config = deployment.resolve(placed);
  // Rendered once: the bytes stored in OBS are the bytes whose hash the functions get.
  const bootstrap = renderBootstrapFor(ctx, config);
  const specs = {
    ...functionSpecs(ctx, placed, bootstrap?.sha256),
    probe: probeFunctionSpec(ctx, config),
  };
  // Before anything is built or called: an oversized environment can only fail later.
  for (const spec of Object.values(specs)) checkFunctionSpec(spec, cloud.region);

  io.status("building the functions…");
  const built = await buildFunctions({
    outDir: options.outDir,
    names: ["gateway-probe", "watchdog", "telegram-webhook"],
  });
  const zipOf = (name: string) => {
    const fn = built.find((b) => b.name === name);
    if (!fn) throw new InfraError(`the build produced no ${name} bundle`);
    return fn.zipPath;
  };
  const watchdog = { ...specs.watchdog, zipPath: zipOf("watchdog") };
  const webhook = { ...specs.webhook, zipPath: zipOf("telegram-webhook") };
  const probe = { ...specs.probe, zipPath: zipOf("gateway-probe") };
  io.out(`built ${built.map((b) => `${b.name} ${Math.round(b.zipBytes / 1024)} KB`).join(", ")}`);

  const steps = options.dryRun
    ? await plan(ctx, config, probe, watchdog, webhook)
    : await apply(ctx, config, probe, watchdog, webhook, bootstrap);
  io.out(stepsTable(steps.rows));
  const unchanged = steps.rows.every((s) => ["unchanged", "skipped", "ok"].includes(s.result));
  if (options.dryRun) io.out("dry run: nothing was changed");
  else if (unchanged) io.out("everything was already up to date: nothing changed");
  return {
    steps: steps.rows,
    unchanged,
    ...(steps.webhookUrl ? { webhookUrl: steps.webhookUrl } : {}),
  };
}

interface Steps {
  rows: StepResult[];
  webhookUrl?: string;
  push(step: StepResult): void;
}

function stepList(): Steps {
  const rows: StepResult[] = [];
  return { rows, push: (step) => rows.push(step) };
}

async function apply(
  ctx: CommandContext,
  config: Config,
  probe: FunctionSpec,
  watchdog: FunctionSpec,
  webhook: FunctionSpec,
  bootstrap: RenderedBootstrap | undefined,
): Promise<Steps> {
  const { io, cloud } = ctx;
  const target = cloud.functions;
  const steps = stepList();
  const fn = async (spec: FunctionSpec) => {
    io.status(`function ${spec.name}…`);
    const change = await upsertFunction(target, spec);
    steps.push({
      step: "function",
      resource: spec.name,
      result: change,
      detail: describeSpec(spec),
    });
    return change;
  };
  // The probe first: the watchdog's next cycle invokes it.
  await fn(probe);
  await fn(watchdog);
  const webhookChange = await fn(webhook);

  io.status("bootstrap user_data…");
  steps.push(await storeBootstrap(ctx, config, bootstrap));

  io.status("TIMER trigger…");
  const rate = ctx.deployment.functions.timerRate;
  const timer = await ensureTimer(target, watchdog.name, { name: TIMER_NAME, rate });
  steps.push({
    step: "TIMER trigger",
    resource: TIMER_NAME,
    result: timer,
    detail: `Rate ${rate}`,
  });

  io.status("APIG trigger…");
  const path = ctx.deployment.functions.webhookPath;
  const gateway = await lookupGateway(ctx.cloud.apig, gatewayRef(ctx));
  const apig = await ensureApig(target, webhook.name, path, gateway, {
    name: APIG_NAME,
    protocol: ctx.deployment.functions.apig?.protocol ?? "HTTPS",
    // Telegram waits for the webhook's answer; the gateway should as long as the receiver may run.
    timeoutMs: Math.min(60_000, webhook.timeoutSeconds * 1000),
  });
  steps.push({ step: "APIG trigger", resource: path, result: apig.change, detail: apig.url });
  const hook = webhookUrlFor(gateway, apig.url, path, ctx.deployment.functions.apig?.domain);
  if (hook.warning) io.err(`WARNING: ${hook.warning}`);
  steps.webhookUrl = hook.url;

  io.status("Telegram webhook…");
  // The secret lives in the receiver's encrypted env: unchanged function, unchanged secret.
  const registered = await registerWebhook(config.alerts, hook.url, {
    secretUnchanged: webhookChange === "unchanged",
  });
  steps.push({
    step: "Telegram webhook",
    resource: "alert bot",
    result: registered,
    detail: `${hook.url} (message, callback_query, secret token)`,
  });
  return steps;
}

async function plan(
  ctx: CommandContext,
  config: Config,
  probe: FunctionSpec,
  watchdog: FunctionSpec,
  webhook: FunctionSpec,
): Promise<Steps> {
  const target = ctx.cloud.functions;
  const steps = stepList();
  for (const spec of [probe, watchdog, webhook]) {
    const planned = await planFunction(target, spec);
    steps.push({
      step: "function",
      resource: spec.name,
      result: !planned.exists
        ? "would create"
        : planned.changes.length > 0
          ? `would update ${planned.changes.join(", ")}`
          : "unchanged",
      detail: describeSpec(spec),
    });
  }
  if (ctx.deployment.serverBox !== undefined) {
    steps.push({
      step: "bootstrap user_data",
      resource: config.state.bucket,
      result: "would store",
      detail: "the box's user_data in OBS, for the rebootstrap rung",
    });
  }
  const rate = ctx.deployment.functions.timerRate;
  const timer = (await listTriggers(target, watchdog.name)).find(
    (t) => t.trigger_type_code === "TIMER" && t.event_data?.name === TIMER_NAME,
  );
  steps.push({
    step: "TIMER trigger",
    resource: TIMER_NAME,
    result: !timer
      ? "would create"
      : timer.event_data?.schedule === rate
        ? "unchanged"
        : "would replace",
    detail: `Rate ${rate}`,
  });
  const path = ctx.deployment.functions.webhookPath;
  // Read-only, and it finds a wrong instanceId or groupId before a real deploy does.
  const gateway = await lookupGateway(ctx.cloud.apig, gatewayRef(ctx));
  const apig = findApigTrigger(await listTriggers(target, webhook.name), path);
  steps.push({
    step: "APIG trigger",
    resource: path,
    result: apig?.event_data?.invoke_url ? "unchanged" : "would create",
    detail: apig?.event_data?.invoke_url ?? `DEDICATEDGATEWAY on ${gateway.instanceId}`,
  });
  const invokeUrl = apig?.event_data?.invoke_url;
  const url = invokeUrl
    ? webhookUrlFor(gateway, invokeUrl, path, ctx.deployment.functions.apig?.domain).url
    : undefined;
  const state = await webhookState(config.alerts);
  steps.push({
    step: "Telegram webhook",
    resource: "alert bot",
    result: url && webhookMatches(state, url) ? "unchanged" : "would set",
    detail: state.url ? `now ${state.url}` : "none set now",
  });
  return steps;
}

function functionSpecs(
  ctx: CommandContext,
  placed: { serverId: string; gatewayUrl: string } | undefined,
  bootstrapSha256: string | undefined,
): { watchdog: FunctionSpec; webhook: FunctionSpec } {
  const { deployment } = ctx;
  const product = withProbeFunction(
    withPlacedBox(deployment.product, deployment.serverBox, placed, bootstrapSha256),
  );
  const env = {
    CLAWWATCH_CONFIG: JSON.stringify(product),
    // Secrets are encrypted at rest and may not be echoed back: their digest in the plain env
    // is what shows a changed secret to the next deploy.
    CLAWWATCH_SECRETS_SHA256: fingerprint(deployment.secrets),
  };
  // No VPC access: both keep FunctionGraph's public network for Telegram, MaaS, OBS and the
  // ECS API; only the gateway-probe function is in the box's VPC (no NAT gateway needed).
  const common = { env, secrets: deployment.secrets, zipPath: "" };
  return {
    watchdog: {
      ...common,
      name: WATCHDOG_FUNCTION,
      // One agency per function, each with only what it calls (infra/iam/README.md).
      agency: deployment.agencies.watchdog,
      memoryMb: deployment.functions.watchdog.memoryMb,
      timeoutSeconds: deployment.functions.watchdog.timeoutSeconds,
      // One writer of the state objects: OBS has no conditional PUT.
      maxInstances: 1,
      description: "clawwatch: checks the OpenClaw gateway box every minute",
    },
    webhook: {
      ...common,
      name: WEBHOOK_FUNCTION,
      agency: deployment.agencies.receiver,
      memoryMb: deployment.functions.webhook.memoryMb,
      timeoutSeconds: deployment.functions.webhook.timeoutSeconds,
      // One instance: two presses of one confirmation then meet in one process, where they are
      // serialized (OBS has no conditional PUT to settle it across instances; see confirm.ts).
      maxInstances: 1,
      description: "clawwatch: Telegram commands and buttons from the operators",
    },
  };
}

/** The functions invoke the gateway-probe function for every gateway check. */
function withProbeFunction(product: Record<string, unknown>): Record<string, unknown> {
  const cloud = (product.cloud as Record<string, unknown> | undefined) ?? {};
  return { ...product, cloud: { ...cloud, gatewayProbeFunction: PROBE_FUNCTION } };
}

export function fingerprint(secrets: Record<string, string>): string {
  const sorted = Object.keys(secrets)
    .sort()
    .map((k) => [k, secrets[k]]);
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 16);
}

function withPlacedBox(
  product: Record<string, unknown>,
  index: number | undefined,
  placed: { serverId: string; gatewayUrl: string } | undefined,
  bootstrapSha256: string | undefined,
): Record<string, unknown> {
  if (index === undefined || !placed || !Array.isArray(product.boxes)) return product;
  const boxes = (product.boxes as unknown[]).map((box, i) => {
    if (i !== index || typeof box !== "object" || box === null) return box;
    const b = box as Record<string, unknown>;
    const gateway = (b.gateway as Record<string, unknown> | undefined) ?? {};
    return {
      ...b,
      serverId: placed.serverId,
      gateway: { ...gateway, url: gateway.url ?? placed.gatewayUrl },
      // apply() stores the box's bootstrap user_data in OBS for the rebootstrap rung; its hash
      // lives here, in the functions' configuration, where neither function can change it.
      bootstrapStored: true,
      ...(bootstrapSha256 ? { bootstrapSha256 } : {}),
    };
  });
  return { ...product, boxes };
}

interface RenderedBootstrap {
  box: string;
  base64: string;
  sha256: string;
}

/** The server box's user_data, or undefined when this deployment has no server box (yet). */
function renderBootstrapFor(ctx: CommandContext, config: Config): RenderedBootstrap | undefined {
  const index = ctx.deployment.serverBox;
  const box = index === undefined ? undefined : config.boxes[index];
  if (!box) return undefined;
  const { base64 } = renderUserData({
    box,
    telegramApiRoot: config.alerts.apiRoot,
    options: ctx.deployment.bootstrap,
  });
  return { box: box.name, base64, sha256: userDataSha256(base64) };
}

/**
 * The rebootstrap rung reinstalls the box with its bootstrap user_data. At ~27 KB of base64 it
 * cannot live in the function's 4 KB of env, so it goes to OBS next to the box's state, written
 * with the operator's credentials only (no function agency may write bootstrap/), and the
 * functions check it against the hash in their configuration before a reinstall.
 */
async function storeBootstrap(
  ctx: CommandContext,
  config: Config,
  bootstrap: RenderedBootstrap | undefined,
): Promise<StepResult> {
  if (!bootstrap)
    return {
      step: "bootstrap user_data",
      resource: "-",
      result: "skipped",
      detail: "no box on the created server",
    };
  const { base64 } = bootstrap;
  const key = bootstrapKey(config.state.prefix, bootstrap.box);
  const resource = `${config.state.bucket}/${key}`;
  const obs = await ctx.cloud.obs();
  const existing = await obs.getText(config.state.bucket, key);
  if (existing.found && existing.text === base64) {
    return {
      step: "bootstrap user_data",
      resource,
      result: "unchanged",
      detail: "for the rebootstrap rung",
    };
  }
  await obs.putText(config.state.bucket, key, base64, "text/plain");
  return {
    step: "bootstrap user_data",
    resource,
    result: existing.found ? "updated" : "created",
    detail: `${Math.round(base64.length / 1024)} KB, for the rebootstrap rung`,
  };
}

/** The dedicated gateway from the config; the local cloud's own when the config names none. */
function gatewayRef(ctx: CommandContext): GatewayRef {
  const apig = ctx.deployment.functions.apig;
  if (apig) return { instanceId: apig.instanceId, groupId: apig.groupId, envName: apig.envName };
  const local = ctx.cloud.local?.endpoints;
  if (!local) {
    throw new InfraError(
      "functions.apig is required on Huawei Cloud: the dedicated gateway's instanceId and groupId",
    );
  }
  return { instanceId: local.apigInstanceId, groupId: local.apigGroupId, envName: "RELEASE" };
}

function describeSpec(spec: FunctionSpec): string {
  return `${spec.memoryMb} MB, ${spec.timeoutSeconds} s${spec.maxInstances ? `, max ${spec.maxInstances} instance` : ""}`;
}

/**
 * The server this deployment's box watches: found by name, with the gateway URL at its VPC
 * address (on the local cloud, the emulated guest's loopback port).
 */
export async function placeServerBox(
  ctx: CommandContext,
  options: { required: boolean },
): Promise<{ serverId: string; gatewayUrl: string } | undefined> {
  const { cloud, deployment } = ctx;
  if (deployment.serverBox === undefined) return undefined;
  const found = await findServer(cloud.ecs, deployment.server.name);
  if (!found) {
    if (!options.required) return undefined;
    throw new InfraError(
      `no server named "${deployment.server.name}": run create-server first, or give the box its serverId`,
    );
  }
  return { serverId: found.id, gatewayUrl: await gatewayUrlOf(ctx, found.id) };
}

async function gatewayUrlOf(ctx: CommandContext, serverId: string): Promise<string> {
  const { cloud } = ctx;
  if (cloud.local) {
    const servers = (await cloud.local.control("ecs", "servers")) as {
      id: string;
      gatewayUrl?: string;
    }[];
    const url = servers.find((s) => s.id === serverId)?.gatewayUrl;
    if (!url) throw new InfraError(`the local ECS has no gateway URL for server ${serverId}`);
    return url;
  }
  const fixed = addressesOf(await showServer(cloud.ecs, serverId)).fixed[0];
  if (!fixed) {
    throw new InfraError(
      `server ${serverId} has no VPC address yet; wait until it is ACTIVE or set the box's gateway.url`,
    );
  }
  return `http://${fixed}:${GATEWAY_PORT}`;
}

export type { Change };
