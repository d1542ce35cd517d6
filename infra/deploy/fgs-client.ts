import {
  FunctionGraphClient,
  FunctionGraphRegion,
} from "@huaweicloud/huaweicloud-sdk-functiongraph";
import { buildSdkClient, type ClientTarget } from "../../shared/cloud/huawei-sdk";

/** Sync invokes wait for the function, so the default timeout is long. */
export type FunctionGraphClientOptions = ClientTarget;

/**
 * The real FunctionGraph SDK client, for infra (deploy, invoke, logs) and tests; the functions
 * themselves only invoke, through shared/cloud/fgs-invoke.lazy.ts. Its responses are plain JSON
 * with snake_case keys (`res.func_urn`, `res.request_id`), not the typed getters the .d.ts files
 * promise.
 */
export function createFunctionGraphClient(
  options: FunctionGraphClientOptions,
): FunctionGraphClient {
  return buildSdkClient(
    "FunctionGraph",
    FunctionGraphClient.newBuilder(),
    options,
    FunctionGraphRegion,
    30_000,
  );
}

/** The `log` of a sync invoke with `X-Cff-Log-Type: tail` is base64; empty without it. */
export function decodeInvocationLog(log: string | undefined): string {
  return log ? Buffer.from(log, "base64").toString("utf8") : "";
}
