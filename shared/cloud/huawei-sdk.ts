import { BasicCredentials } from "@huaweicloud/huaweicloud-sdk-core";
import type { ClientBuilder } from "@huaweicloud/huaweicloud-sdk-core/ClientBuilder";
import type { Region } from "@huaweicloud/huaweicloud-sdk-core/region/region";
import log4js from "log4js";
import { ConfigError } from "../errors";

/** AK/SK of a user or, inside FunctionGraph, the agency's temporary key with its token. */
export interface HuaweiAuth {
  readonly ak: string;
  readonly sk: string;
  readonly securityToken?: string;
  readonly projectId: string;
}

export function basicCredentials(auth: HuaweiAuth): BasicCredentials {
  const credentials = new BasicCredentials()
    .withAk(auth.ak)
    .withSk(auth.sk)
    .withProjectId(auth.projectId);
  if (auth.securityToken) credentials.withSecurityToken(auth.securityToken);
  return credentials;
}

/**
 * Client options every Huawei SDK client gets: a fixed User-Agent (so the SDK does not write
 * ~/.huaweicloud/application_id), a timeout (the SDK's default is none) and, when given, a cap
 * on answer and request bodies (the SDK sets axios' maxContentLength to Infinity). Past the cap
 * axios stops reading and the call fails ("maxContentLength size of N exceeded").
 */
export function sdkOptions(timeoutMs: number, maxBodyBytes?: number) {
  const limits =
    maxBodyBytes === undefined
      ? {}
      : { maxContentLength: maxBodyBytes, maxBodyLength: maxBodyBytes };
  return {
    customUserAgent: "clawwatch/0.1",
    axiosRequestConfig: { timeout: timeoutMs, ...limits },
  };
}

/** An endpoint with a trailing slash breaks the SDK's signature (it signs `//v1/...`). */
export function normaliseEndpoint(url: string): string {
  return url.replace(/\/+$/, "");
}

/**
 * The SDK logs every failed request through log4js, Authorization and X-Security-Token
 * included. Turning log4js off must happen after the SDK has been loaded;
 * log4js is our own dependency so that this is the same instance the SDK uses.
 */
export function silenceSdkLogs(): void {
  log4js.configure({
    appenders: { out: { type: "stdout" } },
    categories: { default: { appenders: ["out"], level: "off" } },
  });
}

/** Where a Huawei SDK client talks to: a custom endpoint (the local cloud) or a region. */
export interface ClientTarget {
  auth: HuaweiAuth;
  /** e.g. the local cloud's `http://127.0.0.1:PORT`; wins over `region`. */
  endpoint?: string;
  /** A region id such as `cn-north-4`, used when no endpoint is given. */
  region?: string;
  /** Per request; the SDK's own default is no timeout at all. */
  timeoutMs?: number;
  /** Longest answer (and request) body; default: the service's own cap, or none. */
  maxBodyBytes?: number;
}

/**
 * Builds any Huawei SDK client the same way: credentials, our options, endpoint or region, then
 * log4js silenced (it must be after the SDK has loaded).
 */
export function buildSdkClient<T>(
  service: string,
  builder: ClientBuilder<T>,
  target: ClientTarget,
  regions: { valueOf(id: string): Region },
  defaultTimeoutMs: number,
  defaultMaxBodyBytes?: number,
): T {
  const configured = builder
    .withCredential(basicCredentials(target.auth))
    .withOptions(
      sdkOptions(target.timeoutMs ?? defaultTimeoutMs, target.maxBodyBytes ?? defaultMaxBodyBytes),
    );
  let client: T;
  if (target.endpoint) {
    client = configured.withEndpoint(normaliseEndpoint(target.endpoint)).build();
  } else if (target.region) {
    client = configured.withRegion(regionOf(service, regions, target.region)).build();
  } else {
    throw new ConfigError([`${service} client: set an endpoint or a region`]);
  }
  silenceSdkLogs();
  return client;
}

function regionOf(service: string, regions: { valueOf(id: string): Region }, id: string): Region {
  try {
    return regions.valueOf(id);
  } catch (cause) {
    throw new ConfigError(
      [
        `region: ${service} has no built-in endpoint for "${id}"; use a region id such as cn-north-4 or pass an endpoint`,
      ],
      { cause },
    );
  }
}
