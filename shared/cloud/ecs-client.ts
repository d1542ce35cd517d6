// Deep imports: the package index re-exports all 455 model classes (~210 KB more in the chunk).
import { EcsClient } from "@huaweicloud/huaweicloud-sdk-ecs/v2/EcsClient";
import { EcsRegion } from "@huaweicloud/huaweicloud-sdk-ecs/v2/EcsRegion";
import {
  basicCredentials,
  type HuaweiAuth,
  normaliseEndpoint,
  sdkOptions,
  silenceSdkLogs,
} from "./huawei-sdk";

export interface EcsClientOptions {
  auth: HuaweiAuth;
  /** e.g. the local cloud's `http://127.0.0.1:PORT`; wins over `region`. */
  endpoint?: string;
  /** A Huawei Cloud region id such as `cn-north-4`, used when no endpoint is given. */
  region?: string;
  /** Per request; the SDK's own default is no timeout at all. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The real ECS SDK client. Its responses are plain JSON with snake_case keys
 * (`res.job_id`, `res.server?.["OS-EXT-STS:task_state"]`), not the typed getters the .d.ts
 * files promise: `res.jobId` is undefined at runtime.
 */
export function createEcsClient(options: EcsClientOptions): EcsClient {
  const builder = EcsClient.newBuilder()
    .withCredential(basicCredentials(options.auth))
    .withOptions(sdkOptions(options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
  let client: EcsClient;
  if (options.endpoint) {
    client = builder.withEndpoint(normaliseEndpoint(options.endpoint)).build();
  } else if (options.region) {
    client = builder.withRegion(ecsRegion(options.region)).build();
  } else {
    throw new Error("ECS client needs an endpoint or a region: set one of them");
  }
  // After the SDK has loaded: otherwise its error dumps print Authorization and X-Security-Token.
  silenceSdkLogs();
  return client;
}

function ecsRegion(region: string): ReturnType<typeof EcsRegion.valueOf> {
  try {
    return EcsRegion.valueOf(region);
  } catch (error) {
    throw new Error(
      `ECS has no built-in endpoint for region "${region}"; use a region id such as cn-north-4 or pass an endpoint`,
      { cause: error },
    );
  }
}
