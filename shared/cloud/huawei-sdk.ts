import { BasicCredentials } from "@huaweicloud/huaweicloud-sdk-core";
import log4js from "log4js";

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
 * ~/.huaweicloud/application_id) and a timeout (the SDK's default is none).
 */
export function sdkOptions(timeoutMs: number) {
  return { customUserAgent: "clawwatch/0.1", axiosRequestConfig: { timeout: timeoutMs } };
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
