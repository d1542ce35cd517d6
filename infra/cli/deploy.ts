import { createHash } from "node:crypto";
import { buildFunctions } from "../../build.mjs";
import type { Config } from "../../shared/config";
import { bootstrapKey } from "../../shared/state/keys";
import { isApigDebugDomain } from "../../shared/telegram";
import {
  type Change,
  checkEnvLimit,
  ensureApig,
  ensureTimer,
  type FunctionSpec,
  listTriggers,
  planFunction,
  upsertFunction,
} from "../deploy/functions";
import type { CommandContext } from "./context";
import { GATEWAY_PORT } from "./deployment";
import { checkEgress } from "./network";
import { addressesOf, findServer, InfraError, showServer } from "./servers";
import { type StepResult, stepsTable } from "./table";
import { registerWebhook, webhookMatches, webhookState } from "./telegram";
import { renderUserData } from "./user-data";

export const WATCHDOG_FUNCTION = "clawwatch-watchdog";
export const WEBHOOK_FUNCTION = "clawwatch-telegram-webhook";
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
  const specs = functionSpecs(ctx, placed);
  // Before anything is built or called: an oversized environment can only fail later.
  for (const spec of Object.values(specs)) checkEnvLimit(spec);

  io.status("building the functions…");
  const built = await buildFunctions({
    outDir: options.outDir,
    names: ["watchdog", "telegram-webhook"],
  });
  const zipOf = (name: string) => {
    const fn = built.find((b) => b.name === name);
    if (!fn) throw new InfraError(`the build produced no ${name} bundle`);
    return fn.zipPath;
  };
  const watchdog = { ...specs.watchdog, zipPath: zipOf("watchdog") };
  const webhook = { ...specs.webhook, zipPath: zipOf("telegram-webhook") };
  io.out(`built ${built.map((b) => `${b.name} ${Math.round(b.zipBytes / 1024)} KB`).join(", ")}`);

  const steps = options.dryRun
    ? await plan(ctx, config, watchdog, webhook)
    : await apply(ctx, config, watchdog, webhook);
  steps.push(await egressStep(ctx));
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
  watchdog: FunctionSpec,
  webhook: FunctionSpec,
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
  await fn(watchdog);
  const webhookChange = await fn(webhook);

  io.status("bootstrap user_data…");
  steps.push(await storeBootstrap(ctx, config));

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
  const apig = await ensureApig(target, webhook.name, path, {
    name: APIG_NAME,
    extra: apigExtra(ctx),
  });
  steps.push({ step: "APIG trigger", resource: path, result: apig.change, detail: apig.url });
  const hookUrl = webhookUrlOf(ctx, apig.url);
  steps.webhookUrl = hookUrl;

  io.status("Telegram webhook…");
  // The secret lives in the receiver's encrypted env: unchanged function, unchanged secret.
  const registered = await registerWebhook(config.alerts, hookUrl, {
    secretUnchanged: webhookChange === "unchanged",
  });
  steps.push({
    step: "Telegram webhook",
    resource: "alert bot",
    result: registered,
    detail: `${hookUrl} (message, callback_query, secret token)`,
  });
  return steps;
}

async function plan(
  ctx: CommandContext,
  config: Config,
  watchdog: FunctionSpec,
  webhook: FunctionSpec,
): Promise<Steps> {
  const target = ctx.cloud.functions;
  const steps = stepList();
  for (const spec of [watchdog, webhook]) {
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
  const apig = (await listTriggers(target, webhook.name)).find(
    (t) => t.trigger_type_code === "APIG" && t.event_data?.path === path,
  );
  steps.push({
    step: "APIG trigger",
    resource: path,
    result: apig?.event_data?.invoke_url ? "unchanged" : "would create",
    detail: apig?.event_data?.invoke_url ?? "",
  });
  const invokeUrl = apig?.event_data?.invoke_url;
  const url = invokeUrl ? webhookUrlOf(ctx, invokeUrl) : undefined;
  const state = await webhookState(config.alerts);
  steps.push({
    step: "Telegram webhook",
    resource: "alert bot",
    result: url && webhookMatches(state, url) ? "unchanged" : "would set",
    detail: state.url ? `now ${state.url}` : "none set now",
  });
  return steps;
}

/**
 * The webhook URL: the bound domain (functions.apig.domain) when there is one, else the trigger's
 * invoke URL, with a warning when that is APIG's debug subdomain (1,000 calls a day).
 */
function webhookUrlOf(ctx: CommandContext, invokeUrl: string): string {
  const domain = ctx.deployment.functions.apig?.domain;
  const url = domain ? `https://${domain}${new URL(invokeUrl).pathname}` : invokeUrl;
  if (isApigDebugDomain(url)) {
    ctx.io.err(
      `WARNING: the webhook URL ${new URL(url).host} is APIG's debug subdomain: it takes at most 1,000 calls a day and may resolve only inside the gateway's VPC. Bind a domain to the API group and set functions.apig.domain (DEPLOY.md).`,
    );
  }
  return url;
}

/** VPC functions reach Telegram and MaaS only through a NAT gateway: say so when it is missing. */
async function egressStep(ctx: CommandContext): Promise<StepResult> {
  const { cloud, deployment } = ctx;
  const subnetId = deployment.functions.subnetId ?? deployment.server.subnetId;
  if (cloud.kind === "local" || !cloud.vpc) {
    return {
      step: "egress (NAT)",
      resource: subnetId,
      result: "skipped",
      detail: "functions on the local cloud are not in a VPC",
    };
  }
  const check = await checkEgress(cloud.vpc, deployment.server.vpcId, subnetId);
  if (!check.ok) ctx.io.err(`WARNING: ${check.detail}`);
  return {
    step: "egress (NAT)",
    resource: subnetId,
    result: check.ok ? "ok" : "MISSING",
    detail: check.detail,
  };
}

function functionSpecs(
  ctx: CommandContext,
  placed: { serverId: string; gatewayUrl: string } | undefined,
): { watchdog: FunctionSpec; webhook: FunctionSpec } {
  const { deployment, cloud } = ctx;
  const product = withPlacedBox(deployment.product, deployment.serverBox, placed);
  const env = {
    CLAWWATCH_CONFIG: JSON.stringify(product),
    // Secrets are encrypted at rest and may not be echoed back: their digest in the plain env
    // is what shows a changed secret to the next deploy.
    CLAWWATCH_SECRETS_SHA256: fingerprint(deployment.secrets),
  };
  // The local FunctionGraph has no VPCs; on Huawei Cloud the watchdog must be in the box's VPC.
  const vpc =
    cloud.kind === "huawei"
      ? {
          vpcId: deployment.server.vpcId,
          subnetId: deployment.functions.subnetId ?? deployment.server.subnetId,
        }
      : undefined;
  const common = {
    env,
    secrets: deployment.secrets,
    agency: deployment.agency,
    zipPath: "",
    ...(vpc ? { vpc } : {}),
  };
  return {
    watchdog: {
      ...common,
      name: WATCHDOG_FUNCTION,
      memoryMb: deployment.functions.watchdog.memoryMb,
      timeoutSeconds: deployment.functions.watchdog.timeoutSeconds,
      // One writer of the state objects: OBS has no conditional PUT.
      maxInstances: 1,
      description: "clawwatch: checks the OpenClaw gateway box every minute",
    },
    webhook: {
      ...common,
      name: WEBHOOK_FUNCTION,
      memoryMb: deployment.functions.webhook.memoryMb,
      timeoutSeconds: deployment.functions.webhook.timeoutSeconds,
      description: "clawwatch: Telegram commands and buttons from the operators",
    },
  };
}

function fingerprint(secrets: Record<string, string>): string {
  const sorted = Object.keys(secrets)
    .sort()
    .map((k) => [k, secrets[k]]);
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 16);
}

function withPlacedBox(
  product: Record<string, unknown>,
  index: number | undefined,
  placed: { serverId: string; gatewayUrl: string } | undefined,
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
      // apply() stores the box's bootstrap user_data in OBS for the rebootstrap rung.
      bootstrapStored: true,
    };
  });
  return { ...product, boxes };
}

/**
 * The rebootstrap rung reinstalls the box with its bootstrap user_data. At ~27 KB of base64 it
 * cannot live in the function's 4 KB of env, so it goes to OBS next to the box's state.
 */
async function storeBootstrap(ctx: CommandContext, config: Config): Promise<StepResult> {
  const index = ctx.deployment.serverBox;
  const box = index === undefined ? undefined : config.boxes[index];
  const resource = box
    ? `${config.state.bucket}/${bootstrapKey(config.state.prefix, box.name)}`
    : "-";
  if (!box)
    return {
      step: "bootstrap user_data",
      resource,
      result: "skipped",
      detail: "no box on the created server",
    };
  const { base64 } = renderUserData({
    box,
    telegramApiRoot: config.alerts.apiRoot,
    options: ctx.deployment.bootstrap,
  });
  const obs = await ctx.cloud.obs();
  const key = bootstrapKey(config.state.prefix, box.name);
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

function apigExtra(ctx: CommandContext): Record<string, unknown> {
  const apig = ctx.deployment.functions.apig;
  if (ctx.cloud.kind === "local" || !apig) return {};
  return {
    group_id: apig.groupId,
    env_name: apig.envName,
    protocol: apig.protocol,
    type: 1,
    ...(apig.instanceId ? { instance_id: apig.instanceId } : {}),
    ...(apig.envId ? { env_id: apig.envId } : {}),
  };
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
