// Deep imports: the package index re-exports all 455 model classes (~210 KB more in the chunk).
import { EcsClient } from "@huaweicloud/huaweicloud-sdk-ecs/v2/EcsClient";
import { EcsRegion } from "@huaweicloud/huaweicloud-sdk-ecs/v2/EcsRegion";
import { BODY_LIMITS } from "../runtime/bounded-body";
import { buildSdkClient, type ClientTarget } from "./huawei-sdk";

export type EcsClientOptions = ClientTarget;

/**
 * The real ECS SDK client. Its responses are plain JSON with snake_case keys
 * (`res.job_id`, `res.server?.["OS-EXT-STS:task_state"]`), not the typed getters the .d.ts
 * files promise: `res.jobId` is undefined at runtime.
 */
export function createEcsClient(options: EcsClientOptions): EcsClient {
  return buildSdkClient("ECS", EcsClient.newBuilder(), options, EcsRegion, 10_000, BODY_LIMITS.ecs);
}
