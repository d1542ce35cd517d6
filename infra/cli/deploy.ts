import { createHash } from "node:crypto";
import { buildFunctions } from "../../build.mjs";
import { userDataSha256 } from "../../shared/cloud/user-data";
import type { Config } from "../../shared/config";
import { bootstrapKey } from "../../shared/state/keys";
import {
  type DedicatedGateway,
  type GatewayRef,
  lookupGateway,
  webhookUrlFor,
} from "../deploy/apig";
import {
  type Change,
  checkFunctionSpec,
  deleteFunction,
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
import { preflight } from "./preflight";
import { PROBE_FUNCTION, probeFunctionSpec } from "./probe-function";
import { addressesOf, findServer, InfraError, showServer } from "./servers";
import { type StepResult, stepsTable } from "./table";
import { registerWebhook, webhookMatches, webhookState } from "./telegram";
import { renderUserData } from "./user-data";

export const WATCHDOG_FUNCTION = "clawwatch-watchdog";
/** create-server tags the servers it builds with this (ShowServer lists "key=value"). */
export const MANAGED_TAG = "managed-by=clawwatch";

/** The server box's placement, and whether the rebootstrap rung may reinstall that server. */
export interface PlacedBox {
  serverId: string;
  gatewayUrl: string;
  builtByClawwatch: boolean;
}
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
  const rebootstrap = rebootstrapAllowed(ctx, placed);
  const bootstrap = rebootstrap.allowed ? renderBootstrapFor(ctx, config) : undefined;
  const specs = {
    ...functionSpecs(ctx, placed, bootstrap?.sha256),
    probe: probeFunctionSpec(ctx, config),
  };
  // Before anything is built or called: an oversized environment can only fail later.
  for (const spec of Object.values(specs)) checkFunctionSpec(spec, cloud.region);
  // Everything the deployment needs must answer before anything is created or changed.
  io.status("checking the MaaS key, the bots, the alert chat and the API gateway…");
  const checked = await preflight(config, secretNameIn(deployment.secrets));
  const gateway = await lookupGateway(ctx.cloud.apig, gatewayRef(ctx));
  if (checked.problems.length > 0) {
    io.out(stepsTable(checked.rows));
    throw new DeployCheckError(checked.problems);
  }

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
    ? await plan(
        ctx,
        config,
        probe,
        watchdog,
        webhook,
        gateway,
        bootstrap ? undefined : rebootstrap.why,
      )
    : await apply(ctx, config, {
        probe,
        watchdog,
        webhook,
        gateway,
        bootstrap,
        rebootstrap: rebootstrap.why,
      });
  steps.rows.unshift(...checked.rows);
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

/** Refused before anything was created: every problem, each with its fix. */
export class DeployCheckError extends InfraError {
  constructor(readonly problems: readonly string[]) {
    super(
      `deploy changed nothing: ${problems.length === 1 ? "" : `${problems.length} problems:\n  - `}${problems.join("\n  - ")}`,
    );
  }
}

/** `${NAME}` value → NAME, so a refused secret's fix names the variable to export. */
function secretNameIn(secrets: Record<string, string>): (value: string) => string | undefined {
  return (value) => Object.entries(secrets).find(([, v]) => v === value)?.[0];
}

interface ApplyParts {
  probe: FunctionSpec;
  watchdog: FunctionSpec;
  webhook: FunctionSpec;
  gateway: DedicatedGateway;
  bootstrap: RenderedBootstrap | undefined;
  /** Why the rebootstrap rung is on or off, for the step's line. */
  rebootstrap: string;
}

/**
 * Applies the steps in order; when one fails, the functions this run created are deleted again
 * (their triggers go with them) and the error says what is left as it was changed.
 */
async function apply(ctx: CommandContext, config: Config, parts: ApplyParts): Promise<Steps> {
  const done = stepList();
  try {
    return await applySteps(ctx, config, parts, done);
  } catch (error) {
    throw await rolledBack(ctx, done.rows, error);
  }
}

async function rolledBack(
  ctx: CommandContext,
  rows: readonly StepResult[],
  error: unknown,
): Promise<InfraError> {
  const created = rows.filter((r) => r.step === "function" && r.result === "created");
  const removed: string[] = [];
  const notRemoved: string[] = [];
  for (const row of created) {
    try {
      await deleteFunction(ctx.cloud.functions, row.resource);
      removed.push(row.resource);
    } catch {
      notRemoved.push(row.resource);
    }
  }
  // A trigger is deleted with its function; anything else this run changed stays changed.
  const ownerOf: Record<string, string> = {
    "TIMER trigger": WATCHDOG_FUNCTION,
    "APIG trigger": WEBHOOK_FUNCTION,
    function: "",
  };
  const keptHere = rows.filter((r) => {
    if (r.result !== "created" && r.result !== "updated") return false;
    const owner = r.step === "function" ? r.resource : ownerOf[r.step];
    return owner === undefined || !removed.includes(owner);
  });
  const lines = [
    `deploy stopped: ${error instanceof Error ? error.message : String(error)}`,
    ...(removed.length > 0
      ? [`rolled back: deleted ${removed.join(", ")} (created by this run, with their triggers)`]
      : []),
    ...(notRemoved.length > 0
      ? [`could not delete ${notRemoved.join(", ")}: run \`npm run infra -- destroy\``]
      : []),
    ...(keptHere.length > 0
      ? [
          `left changed: ${keptHere.map((r) => `${r.step} ${r.resource} (${r.result})`).join(", ")}; fix the problem and run deploy again to finish`,
        ]
      : []),
    ...(removed.length === 0 && keptHere.length === 0 ? ["nothing was created or changed"] : []),
  ];
  return new InfraError(lines.join("\n"), { cause: error });
}

async function applySteps(
  ctx: CommandContext,
  config: Config,
  { probe, watchdog, webhook, gateway, bootstrap, rebootstrap }: ApplyParts,
  steps: Steps,
): Promise<Steps> {
  const { io, cloud } = ctx;
  const target = cloud.functions;
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
  steps.push(await storeBootstrap(ctx, config, bootstrap, rebootstrap));

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
  gateway: DedicatedGateway,
  /** Why no bootstrap is stored; undefined when one would be. */
  noBootstrap: string | undefined,
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
  steps.push(
    noBootstrap === undefined
      ? {
          step: "bootstrap user_data",
          resource: config.state.bucket,
          result: "would store",
          detail: "the box's user_data in OBS, for the rebootstrap rung",
        }
      : { step: "bootstrap user_data", resource: "-", result: "skipped", detail: noBootstrap },
  );
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
  placed: PlacedBox | undefined,
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
  placed: PlacedBox | undefined,
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
      ...(bootstrapSha256 ? { bootstrapStored: true, bootstrapSha256 } : {}),
    };
  });
  return { ...product, boxes };
}

interface RenderedBootstrap {
  box: string;
  base64: string;
  sha256: string;
}

/**
 * The rebootstrap rung reinstalls the system disk: only on a server create-server built, or
 * where the deployment says in so many words that this may wipe it.
 */
function rebootstrapAllowed(
  ctx: CommandContext,
  placed: PlacedBox | undefined,
): { allowed: boolean; why: string } {
  if (ctx.deployment.serverBox === undefined || !ctx.deployment.server) {
    return { allowed: false, why: "watch only: no server clawwatch built, so no reinstall rung" };
  }
  if (!placed) return { allowed: false, why: "the server does not exist yet" };
  if (placed.builtByClawwatch) return { allowed: true, why: "server built by create-server" };
  if (ctx.deployment.rebootstrapWipesSystemDisk) {
    return { allowed: true, why: "rebootstrapWipesSystemDisk: true" };
  }
  return {
    allowed: false,
    why: `server ${placed.serverId} was not built by clawwatch: the reinstall rung is off (rebootstrapWipesSystemDisk: true turns it on, and wipes the system disk)`,
  };
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
  why: string,
): Promise<StepResult> {
  if (!bootstrap)
    return { step: "bootstrap user_data", resource: "-", result: "skipped", detail: why };
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
): Promise<PlacedBox | undefined> {
  const { cloud, deployment } = ctx;
  const server = deployment.server;
  if (deployment.serverBox === undefined || !server) return undefined;
  const found = await findServer(cloud.ecs, server.name);
  if (!found) {
    if (!options.required) return undefined;
    throw new InfraError(
      `no server named "${server.name}": run create-server first, or give the box its serverId`,
    );
  }
  const detail = await showServer(cloud.ecs, found.id);
  return {
    serverId: found.id,
    gatewayUrl: await gatewayUrlOf(ctx, found.id),
    builtByClawwatch: (detail.tags ?? []).includes(MANAGED_TAG),
  };
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
