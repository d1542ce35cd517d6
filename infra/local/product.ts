import { randomBytes } from "node:crypto";
import { buildFunctions } from "../../build.mjs";
import { createFunctionGraphClient } from "../../shared/cloud/fgs-client";
import { envRef } from "../../shared/config";
import { ensureTimer, type Target, upsertFunction } from "../deploy/functions";
import type { Endpoints } from "./cloud";

export const LOCAL_AGENCY = "clawwatch-agency";

/** Sections of the product config a local deployment may override (tests, the demo). */
export interface ConfigOverrides {
  policy?: Record<string, unknown>;
  probes?: Record<string, unknown>;
  runtime?: Record<string, unknown>;
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
  return {
    client: createFunctionGraphClient({
      auth: { ...e.credentials, projectId: e.projectId },
      endpoint: e.functionGraph,
    }),
    region: e.region,
    projectId: e.projectId,
  };
}

export interface LocalDeployOptions extends ConfigOverrides {
  outDir?: string;
  /** A TIMER trigger at this rate ("1m"); none when absent (tests step cycles by invoking). */
  timerRate?: string;
  timeoutSeconds?: number;
}

/** Builds the functions and deploys the watchdog to the local FunctionGraph through the SDK. */
export async function deployWatchdogLocally(e: Endpoints, options: LocalDeployOptions = {}) {
  const built = await buildFunctions({ outDir: options.outDir ?? "dist", names: ["watchdog"] });
  const watchdog = built.find((b) => b.name === "watchdog");
  if (!watchdog) throw new Error("build produced no watchdog bundle");
  const target = localTarget(e);
  const product = localProductConfig(e, options);
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
  return { target, product, bundleBytes: watchdog.bytes };
}
