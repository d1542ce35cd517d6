import type { Compute } from "../cloud/compute";
import type { HuaweiAuth } from "../cloud/huawei-sdk";
import type { Config } from "../config";
import { InvocationError } from "../errors";
import {
  directGatewayProbe,
  type GatewayProbe,
  invokedGatewayProbe,
  MAX_PROBE_ANSWER_CHARS,
} from "../probes/gateway-port";
import { observe } from "../probes/observe";
import { agencyCredentials, type FunctionContext } from "../runtime/context";
import type { Logger } from "../runtime/logger";
import type { Redactor } from "../runtime/redact";
import { createObsClient } from "../state/obs-client";
import { createObsStateStore } from "../state/obs-store";
import type { StateStore } from "../state/port";
import { redactingObjects } from "../state/redacting";
import { createAlertChannelNotifier } from "./alert-channel";
import type { CycleDeps } from "./ports";

/** The agency's temporary key for this invocation, or a clear error when the function has none. */
export function authFrom(context: FunctionContext, config: Config): HuaweiAuth {
  const agency = agencyCredentials(context);
  if (!agency) {
    throw new InvocationError(
      "the function has no agency credentials: set an agency (xrole) with ECS and OBS rights on the function",
    );
  }
  return { ...agency, projectId: config.cloud.projectId || context.getProjectID() };
}

export function obsEndpoint(config: Config): string {
  return config.cloud.obsEndpoint ?? `https://obs.${config.cloud.region}.myhuaweicloud.com`;
}

/** The OBS objects of this invocation; everything written passes its redactor. */
export async function createObjects(config: Config, auth: HuaweiAuth, redact: Redactor) {
  const client = await createObsClient({
    server: obsEndpoint(config),
    ak: auth.ak,
    sk: auth.sk,
    ...(auth.securityToken ? { securityToken: auth.securityToken } : {}),
  });
  return redactingObjects(client, redact);
}

export async function createStore(
  config: Config,
  auth: HuaweiAuth,
  redact: Redactor,
): Promise<StateStore> {
  const client = await createObjects(config, auth, redact);
  return createObsStateStore({ client, bucket: config.state.bucket, prefix: config.state.prefix });
}

/** Loads the ECS adapter only on first use (its SDK costs ~85 ms to load) and keeps it. */
export function lazyCompute(config: Config, auth: HuaweiAuth): () => Promise<Compute> {
  let compute: Promise<Compute> | undefined;
  return () => {
    compute ??= import("../cloud/ecs.lazy").then(({ createEcsCompute }) =>
      createEcsCompute({
        auth,
        ...(config.cloud.ecsEndpoint
          ? { endpoint: config.cloud.ecsEndpoint }
          : { region: config.cloud.region }),
        timeoutMs: config.probes.serverTimeout,
      }),
    );
    return compute;
  };
}

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
 * stored and every message sent passes it.
 */
export async function buildCycleDeps(
  config: Config,
  context: FunctionContext,
  log: Logger,
  redact: Redactor,
  clock: () => number = Date.now,
): Promise<CycleDeps> {
  const auth = authFrom(context, config);
  const compute = lazyCompute(config, auth);
  const gateway = gatewayProbeFor(config, auth);
  const store = await createStore(config, auth, redact);
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
