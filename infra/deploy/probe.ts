import { createHash } from "node:crypto";
import type { Config } from "../../shared/config";
import { PROBE_CONFIG_VAR, PROBE_TOKENS_VAR } from "../../shared/probes/probe-function";
import { probeInvokeTimeoutMs } from "../../shared/watchdog/deps";
import type { FunctionSpec } from "./functions";

/** The gateway-probe function's name, the same in every deployment (the agencies' policies name it). */
export const PROBE_FUNCTION = "clawwatch-gateway-probe";

/**
 * The gateway-probe function's environment and size, from the product config: each box's
 * gateway URL and, encrypted, its token. No bot token, no MaaS key, no bucket: the only
 * function with VPC access holds only what the probe needs.
 */
export function probeFunctionParts(
  config: Config,
): Pick<FunctionSpec, "env" | "secrets" | "memoryMb" | "timeoutSeconds" | "description"> {
  const probeConfig = {
    boxes: config.boxes.map((box) => ({ name: box.name, url: box.gateway.url })),
    timeoutMs: config.probes.gatewayTimeout,
    retryDelayMs: config.probes.retryDelay,
  };
  const tokens = JSON.stringify(
    Object.fromEntries(config.boxes.map((box) => [box.name, box.gateway.token])),
  );
  return {
    env: {
      [PROBE_CONFIG_VAR]: JSON.stringify(probeConfig),
      // Encrypted values may not be echoed back: their digest shows a changed token to deploy.
      CLAWWATCH_SECRETS_SHA256: createHash("sha256").update(tokens).digest("hex").slice(0, 16),
    },
    secrets: { [PROBE_TOKENS_VAR]: tokens },
    memoryMb: 128,
    // It runs at most the probe's worst case; the watchdog waits a little longer than that.
    timeoutSeconds: Math.max(3, Math.ceil((probeInvokeTimeoutMs(config) - 2_000) / 1000)),
    description: "clawwatch: probes the OpenClaw gateway at its VPC address for the watchdog",
  };
}
