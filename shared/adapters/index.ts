import type { Compute } from "../cloud/compute";
import type { HuaweiAuth } from "../cloud/huawei-sdk";
import type { Config } from "../config";
import { InvocationError } from "../errors";
import { agencyCredentials, type FunctionContext } from "../runtime/context";
import type { Redactor } from "../runtime/redact";
import { createObsClient } from "../state/obs-client";
import type { ObjectStore } from "../state/obs-store";
import { redactingObjects } from "../state/redacting";

/**
 * The cloud adapters both functions need, built once per invocation with the agency's temporary
 * key: the watchdog's cycle and the receiver (its own commands and ledger, and the dry run behind
 * /status) share them. What only one function needs (alerts, chat, probes) is built beside it.
 */
export interface CloudAdapters {
  auth: HuaweiAuth;
  /** The state bucket's objects; everything written passes the invocation's redactor. */
  objects: ObjectStore;
  /** Lazy: the ECS SDK is loaded only when a box is shown or acted on. */
  compute: () => Promise<Compute>;
}

export async function buildCloudAdapters(
  config: Config,
  context: FunctionContext,
  redact: Redactor,
): Promise<CloudAdapters> {
  const auth = authFrom(context, config);
  return {
    auth,
    objects: await createObjects(config, auth, redact),
    compute: lazyCompute(config, auth),
  };
}

/** The agency's temporary key for this invocation, or a clear error when the function has none. */
function authFrom(context: FunctionContext, config: Config): HuaweiAuth {
  const agency = agencyCredentials(context);
  if (!agency) {
    throw new InvocationError(
      "the function has no agency credentials: set an agency (xrole) with ECS and OBS rights on the function",
    );
  }
  return { ...agency, projectId: config.cloud.projectId || context.getProjectID() };
}

function obsEndpoint(config: Config): string {
  return config.cloud.obsEndpoint ?? `https://obs.${config.cloud.region}.myhuaweicloud.com`;
}

/** The OBS objects of this invocation; everything written passes its redactor. */
async function createObjects(
  config: Config,
  auth: HuaweiAuth,
  redact: Redactor,
): Promise<ObjectStore> {
  const client = await createObsClient({
    server: obsEndpoint(config),
    ak: auth.ak,
    sk: auth.sk,
    ...(auth.securityToken ? { securityToken: auth.securityToken } : {}),
  });
  return redactingObjects(client, redact);
}

/** Loads the ECS adapter only on first use (its SDK costs ~85 ms to load) and keeps it. */
function lazyCompute(config: Config, auth: HuaweiAuth): () => Promise<Compute> {
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
