import {
  FunctionGraphClient,
  FunctionGraphRegion,
} from "@huaweicloud/huaweicloud-sdk-functiongraph";
import {
  basicCredentials,
  type HuaweiAuth,
  normaliseEndpoint,
  sdkOptions,
  silenceSdkLogs,
} from "./huawei-sdk";

export interface FunctionGraphClientOptions {
  auth: HuaweiAuth;
  /** e.g. the local cloud's `http://127.0.0.1:PORT`; wins over `region`. */
  endpoint?: string;
  /** A Huawei Cloud region id such as `cn-north-4`, used when no endpoint is given. */
  region?: string;
  /** Per request; the SDK's own default is no timeout at all. Sync invokes wait for the function. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The real FunctionGraph SDK client. Its responses are plain JSON with snake_case keys
 * (`res.func_urn`, `res.request_id`), not the typed getters the .d.ts files promise.
 */
export function createFunctionGraphClient(
  options: FunctionGraphClientOptions,
): FunctionGraphClient {
  const builder = FunctionGraphClient.newBuilder()
    .withCredential(basicCredentials(options.auth))
    .withOptions(sdkOptions(options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
  let client: FunctionGraphClient;
  if (options.endpoint) {
    client = builder.withEndpoint(normaliseEndpoint(options.endpoint)).build();
  } else if (options.region) {
    client = builder.withRegion(FunctionGraphRegion.valueOf(options.region)).build();
  } else {
    throw new Error("FunctionGraph client needs an endpoint or a region: set one of them");
  }
  silenceSdkLogs();
  return client;
}

/** `urn:fss:<region>:<project>:function:<package>:<name>:latest`, the id every function API takes. */
export function functionUrn(parts: {
  region: string;
  projectId: string;
  name: string;
  pkg?: string;
  version?: string;
}): string {
  const { region, projectId, name, pkg = "default", version = "latest" } = parts;
  return `urn:fss:${region}:${projectId}:function:${pkg}:${name}:${version}`;
}

/** The `log` of a sync invoke with `X-Cff-Log-Type: tail` is base64; empty without it. */
export function decodeInvocationLog(log: string | undefined): string {
  return log ? Buffer.from(log, "base64").toString("utf8") : "";
}
