import { createHmac, randomBytes } from "node:crypto";
import { buildFunctions } from "../../build.mjs";
import { envRef, loadConfig } from "../../shared/config";
import { type DedicatedGateway, lookupGateway } from "../deploy/apig";
import { createFunctionGraphClient } from "../deploy/fgs-client";
import { ensureTimer, type Target, upsertFunction } from "../deploy/functions";
import { PROBE_FUNCTION, probeFunctionParts } from "../deploy/probe";
import type { Endpoints } from "./cloud";

export { LOCAL_AGENCIES, LOCAL_AGENCY } from "./iam";

import { LOCAL_AGENCIES, LOCAL_AGENCY } from "./iam";

/** Sections of the product config a local deployment may override (tests, the demo). */
export interface ConfigOverrides {
  policy?: Record<string, unknown>;
  probes?: Record<string, unknown>;
  runtime?: Record<string, unknown>;
  /** Bootstrap user_data (base64) per box name: enables the "re-run bootstrap" rung there. */
  bootstrapUserData?: Record<string, string>;
}

/**
 * The product config for the local cloud, in the shape a real deploy uses: readable settings in
 * CLAWWATCH_CONFIG with `${NAME}` references, the secrets themselves in encrypted env vars.
 */
export function localProductConfig(e: Endpoints, overrides: ConfigOverrides = {}) {
  const webhookSecret = randomBytes(24).toString("base64url");
  const config = {
    boxDefaults: {
      gateway: { token: envRef("GATEWAY_TOKEN") },
      maas: { baseUrl: e.maasApi.baseUrl, apiKey: envRef("MAAS_API_KEY"), model: e.maasApi.model },
    },
    boxes: e.boxes.map((box, i) => ({
      name: box.name,
      serverId: box.serverId,
      gateway: { url: box.gatewayUrl },
      telegram: { botToken: envRef(`BOT_${i + 1}`) },
      ...(overrides.bootstrapUserData?.[box.name]
        ? { bootstrapUserData: overrides.bootstrapUserData[box.name] }
        : {}),
    })),
    alerts: {
      botToken: envRef("ALERT_BOT_TOKEN"),
      chatId: e.alertChatId,
      allowedUserIds: [e.operatorUserId],
      webhookSecret: envRef("WEBHOOK_SECRET"),
      apiRoot: e.telegram,
    },
    cloud: {
      region: e.region,
      projectId: e.projectId,
      ecsEndpoint: e.ecs,
      functionGraphEndpoint: e.functionGraph,
      obsEndpoint: e.obs,
      // As deployed: the gateway is checked by the gateway-probe function, the only one with VPC
      // access (the local FunctionGraph gives the others no route to the gateways).
      gatewayProbeFunction: PROBE_FUNCTION,
    },
    state: { bucket: e.bucket },
    ...(overrides.policy ? { policy: overrides.policy } : {}),
    ...(overrides.probes ? { probes: overrides.probes } : {}),
    ...(overrides.runtime ? { runtime: overrides.runtime } : {}),
  };
  const secrets: Record<string, string> = {
    ALERT_BOT_TOKEN: e.telegramBots.alerts.token,
    MAAS_API_KEY: e.maasApi.apiKey,
    WEBHOOK_SECRET: webhookSecret,
  };
  e.boxes.forEach((box, i) => {
    // The local cloud gives every gateway the same token; a real fleet may not.
    secrets.GATEWAY_TOKEN = box.gatewayToken;
    secrets[`BOT_${i + 1}`] = box.telegramBot.token;
  });
  return { config, env: { CLAWWATCH_CONFIG: JSON.stringify(config) }, secrets, webhookSecret };
}

export function localTarget(e: Endpoints): Target {
  const auth = { ...e.credentials, projectId: e.projectId };
  return {
    client: createFunctionGraphClient({ auth, endpoint: e.functionGraph }),
    api: { endpoint: e.functionGraph, auth },
    region: e.region,
    projectId: e.projectId,
  };
}

/** The local cloud's dedicated API gateway, looked up through its API like a real deploy does. */
export function localGateway(e: Endpoints): Promise<DedicatedGateway> {
  return lookupGateway(
    { endpoint: e.apigApi, auth: { ...e.credentials, projectId: e.projectId } },
    { instanceId: e.apigInstanceId, groupId: e.apigGroupId, envName: "RELEASE" },
  );
}

export interface LocalDeployOptions extends ConfigOverrides {
  outDir?: string;
  /** A TIMER trigger at this rate ("1m"); none when absent (tests step cycles by invoking). */
  timerRate?: string;
  timeoutSeconds?: number;
}

/**
 * The gateway-probe function as `infra deploy` makes it: VPC access, its own agency, only the
 * gateway tokens. Built from the same product config as the watchdog's.
 */
export async function deployProbeLocally(
  target: Target,
  product: { env: Record<string, string>; secrets: Record<string, string> },
  zipPath: string,
  overrides: { timeoutSeconds?: number } = {},
) {
  const config = loadConfig({ ...product.secrets, ...product.env });
  return upsertFunction(target, {
    name: PROBE_FUNCTION,
    zipPath,
    ...probeFunctionParts(config),
    ...(overrides.timeoutSeconds === undefined ? {} : { timeoutSeconds: overrides.timeoutSeconds }),
    agency: LOCAL_AGENCIES.probe,
    vpc: { vpcId: "vpc-local", subnetId: "subnet-local" },
  });
}

/**
 * Builds the functions and deploys the watchdog, with the gateway-probe function it invokes, to
 * the local FunctionGraph through the SDK.
 */
export async function deployWatchdogLocally(e: Endpoints, options: LocalDeployOptions = {}) {
  const built = await buildFunctions({
    outDir: options.outDir ?? "dist",
    names: ["gateway-probe", "watchdog"],
  });
  const watchdog = built.find((b) => b.name === "watchdog");
  const probe = built.find((b) => b.name === "gateway-probe");
  if (!watchdog || !probe) throw new Error("build produced no watchdog or gateway-probe bundle");
  const target = localTarget(e);
  const product = localProductConfig(e, options);
  await deployProbeLocally(target, product, probe.zipPath);
  await upsertFunction(target, {
    name: "clawwatch-watchdog",
    zipPath: watchdog.zipPath,
    env: product.env,
    secrets: product.secrets,
    agency: LOCAL_AGENCY,
    memoryMb: 256,
    timeoutSeconds: options.timeoutSeconds ?? 60,
    maxInstances: 1,
  });
  if (options.timerRate) {
    await ensureTimer(target, "clawwatch-watchdog", {
      name: "clawwatch-every-minute",
      rate: options.timerRate,
    });
  }
  return { target, product, bundleBytes: watchdog.bytes, probeZipPath: probe.zipPath };
}

export const LOCAL_SERVER_NAME = "clawwatch-gateway";

export interface LocalDeploymentOptions extends ConfigOverrides {
  /** The ECS server create-server makes (or adopts); default "clawwatch-gateway". */
  serverName?: string;
  /** The watchdog's TIMER rate in emulated time; default "1m". */
  timerRate?: string;
}

/**
 * The deployment file `infra/cli` uses for `--target local` when no --config is given: one new
 * server (created through the ECS API like on Huawei Cloud) watched as box "openclaw-box", with the
 * local cloud's secrets as the environment its `${NAME}` references read.
 *
 * A server created through the local ECS API runs the emulator's default guest, which polls
 * Telegram with its own bot and checks the shared gateway token: the box uses those.
 */
export function localDeploymentConfig(e: Endpoints, options: LocalDeploymentOptions = {}) {
  const file = {
    region: e.region,
    projectId: e.projectId,
    agencies: LOCAL_AGENCIES,
    server: {
      name: options.serverName ?? LOCAL_SERVER_NAME,
      flavor: "s6.large.2",
      image: "local-ubuntu-22.04",
      vpcId: "vpc-local",
      subnetId: "subnet-local",
      adminCidr: "127.0.0.1/32",
      functionSubnetCidr: "127.0.0.0/8",
    },
    functions: { timerRate: options.timerRate ?? "1m" },
    // The agent answers the local operator; the emulated guest ignores the script otherwise.
    bootstrap: { telegram: { allowFrom: [e.operatorUserId] } },
    product: {
      boxDefaults: {
        gateway: { token: envRef("GATEWAY_TOKEN") },
        maas: {
          baseUrl: e.maasApi.baseUrl,
          apiKey: envRef("MAAS_API_KEY"),
          model: e.maasApi.model,
        },
      },
      boxes: [{ name: "openclaw-box", telegram: { botToken: envRef("GATEWAY_BOT_TOKEN") } }],
      alerts: {
        botToken: envRef("ALERT_BOT_TOKEN"),
        chatId: e.alertChatId,
        allowedUserIds: [e.operatorUserId],
        webhookSecret: envRef("WEBHOOK_SECRET"),
        apiRoot: e.telegram,
      },
      state: { bucket: e.bucket },
      ...(options.policy ? { policy: options.policy } : {}),
      ...(options.probes ? { probes: options.probes } : {}),
      ...(options.runtime ? { runtime: options.runtime } : {}),
    },
  };
  return { file, env: localSecretsEnv(e) };
}

/**
 * The local cloud's secrets under the names the local deployment file references. The webhook
 * secret is derived from the cloud's key, so every deploy against one local cloud agrees on it.
 */
export function localSecretsEnv(e: Endpoints): Record<string, string> {
  return {
    ALERT_BOT_TOKEN: e.telegramBots.alerts.token,
    MAAS_API_KEY: e.maasApi.apiKey,
    WEBHOOK_SECRET: createHmac("sha256", e.credentials.sk)
      .update("clawwatch-webhook-secret")
      .digest("base64url")
      .slice(0, 32),
    GATEWAY_TOKEN: e.apiGuest.gatewayToken,
    GATEWAY_BOT_TOKEN: e.apiGuest.telegramBot.token,
  };
}
