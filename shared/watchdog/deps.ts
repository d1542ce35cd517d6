import { buildCloudAdapters, type CloudAdapters } from "../adapters";
import type { HuaweiAuth } from "../cloud/huawei-sdk";
import type { Config } from "../config";
import {
  directGatewayProbe,
  type GatewayProbe,
  invokedGatewayProbe,
  MAX_PROBE_ANSWER_CHARS,
} from "../probes/gateway-port";
import { observe } from "../probes/observe";
import type { FunctionContext } from "../runtime/context";
import type { Logger } from "../runtime/logger";
import type { Redactor } from "../runtime/redact";
import { createObsStateStore } from "../state/obs-store";
import { createAlertChannelNotifier } from "./alert-channel";
import type { CycleDeps } from "./ports";

/**
 * The gateway verdict through the gateway-probe function when the config names one (deployed:
 * the watchdog has no route to the gateway), else straight from this process. The FunctionGraph
 * SDK loads on first use, in its own chunk.
 */
export function gatewayProbeFor(config: Config, auth: HuaweiAuth): GatewayProbe {
  const { probes, cloud } = config;
  const functionName = cloud.gatewayProbeFunction;
  if (functionName === undefined) {
    return directGatewayProbe({
      timeoutMs: probes.gatewayTimeout,
      retryDelayMs: probes.retryDelay,
    });
  }
  let invoker: ReturnType<Parameters<typeof invokedGatewayProbe>[1]> | undefined;
  return invokedGatewayProbe(functionName, () => {
    invoker ??= import("../cloud/fgs-invoke.lazy").then(({ createFunctionInvoker }) =>
      createFunctionInvoker({
        auth,
        region: cloud.region,
        ...(cloud.functionGraphEndpoint ? { endpoint: cloud.functionGraphEndpoint } : {}),
        functionName,
        timeoutMs: probeInvokeTimeoutMs(config),
        // The answer holds one gateway result; the v1 envelope and an error text add little.
        maxAnswerBytes: 4 * MAX_PROBE_ANSWER_CHARS,
      }),
    );
    return invoker;
  });
}

/**
 * How long the watchdog waits for the probe function: the probe's worst case (timeout, pause,
 * timeout) plus a cold start of a tiny function.
 */
export function probeInvokeTimeoutMs(config: Config): number {
  return 2 * config.probes.gatewayTimeout + config.probes.retryDelay + PROBE_COLD_START_MS;
}
const PROBE_COLD_START_MS = 5_000;

/**
 * Everything one invocation's cycles need, built from the config and the invocation context.
 * `redact` is the invocation's redactor (config secrets and the agency's keys): every object
 * stored and every message sent passes it. The receiver passes the cloud adapters it already has.
 */
export async function buildCycleDeps(
  config: Config,
  context: FunctionContext,
  log: Logger,
  redact: Redactor,
  options: { clock?: () => number; adapters?: CloudAdapters } = {},
): Promise<CycleDeps> {
  const clock = options.clock ?? Date.now;
  const { auth, objects, compute } =
    options.adapters ?? (await buildCloudAdapters(config, context, redact));
  const gateway = gatewayProbeFor(config, auth);
  const store = createObsStateStore({
    client: objects,
    bucket: config.state.bucket,
    prefix: config.state.prefix,
  });
  const alerts = createAlertChannelNotifier({ config, store, log, clock, redact });
  return {
    config,
    store,
    notifier: alerts.notifier,
    alertChannel: alerts.channel,
    compute,
    observe: (box, plan) =>
      observe(
        box,
        {
          probes: config.probes,
          telegramApiRoot: config.alerts.apiRoot,
          compute,
          gateway,
        },
        plan,
      ),
    log,
    clock,
    remainingMs: () => context.getRemainingTimeInMilliSeconds(),
    requestId: context.getRequestID(),
  };
}
