import { ClawwatchError } from "../../shared/errors";
import { apiErrorOf, type SignedEndpoint, signedRequest } from "./signed";

export class GatewayError extends ClawwatchError {}

/** Where the webhook's API lives: a dedicated APIG instance, its API group and environment. */
export interface GatewayRef {
  instanceId: string;
  groupId: string;
  envName: string;
}

/** What a DEDICATEDGATEWAY trigger needs to know about the gateway, looked up before creating it. */
export interface DedicatedGateway extends GatewayRef {
  envId: string;
  /** The group's debug subdomain: may resolve only inside the gateway's VPC, 1,000 calls a day. */
  slDomain: string;
  /** Domains bound to the group (the documented way to call it from outside). */
  boundDomains: string[];
}

const LOOKUP_TIMEOUT_MS = 30_000;

/**
 * The environment id and the group's domains, from the dedicated gateway's API (the lookups
 * terraform-provider-huaweicloud makes for the same trigger): ListEnvironmentsV2 by name and
 * ShowDetailsOfApiGroupV2.
 */
export async function lookupGateway(
  api: SignedEndpoint,
  ref: GatewayRef,
): Promise<DedicatedGateway> {
  const base = `/v2/${encodeURIComponent(api.auth.projectId)}/apigw/instances/${encodeURIComponent(ref.instanceId)}`;
  const envs = await getJson(api, `${base}/envs`, { name: ref.envName }, "list environments");
  const env = arrayOf(envs, "envs").find(
    (e): e is { id: string; name: string } =>
      isRecord(e) && e.name === ref.envName && typeof e.id === "string" && e.id !== "",
  );
  if (!env) {
    throw new GatewayError(
      `the dedicated gateway ${ref.instanceId} has no environment ${ref.envName}: create it in the API Gateway console or set functions.apig.envName`,
    );
  }
  const group = await getJson(
    api,
    `${base}/api-groups/${encodeURIComponent(ref.groupId)}`,
    {},
    "show API group",
  );
  const slDomain = group.sl_domain;
  if (typeof slDomain !== "string" || slDomain === "") {
    throw new GatewayError(
      `API group ${ref.groupId} has no debug domain (sl_domain) in its answer`,
    );
  }
  const boundDomains = arrayOf(group, "url_domains").flatMap((d) =>
    isRecord(d) && typeof d.domain === "string" && d.domain !== "" ? [d.domain] : [],
  );
  return { ...ref, envId: env.id, slDomain, boundDomains };
}

/**
 * The URL Telegram should call. A domain bound to the group is the documented path; without
 * one the trigger's invoke URL (the debug domain) is used and `warning` says why it should not be.
 */
export function webhookUrlFor(
  gateway: DedicatedGateway,
  invokeUrl: string,
  path: string,
  domain: string | undefined,
): { url: string; warning?: string } {
  if (domain !== undefined) {
    if (!gateway.boundDomains.includes(domain)) {
      throw new GatewayError(
        `functions.apig.domain ${domain} is not bound to API group ${gateway.groupId} (bound: ${gateway.boundDomains.join(", ") || "none"}): bind it in the API Gateway console first (DEPLOY.md)`,
      );
    }
    return { url: `https://${domain}${path}` };
  }
  const host = hostOf(invokeUrl);
  if (host !== gateway.slDomain) return { url: invokeUrl };
  return {
    url: invokeUrl,
    warning:
      `the webhook URL ${invokeUrl} is the API group's debug domain: it may resolve only inside the gateway's VPC and takes 1,000 calls a day. ` +
      "Bind a domain to the group and set functions.apig.domain (DEPLOY.md, Telegram webhook)",
  };
}

async function getJson(
  api: SignedEndpoint,
  path: string,
  query: Record<string, string>,
  what: string,
): Promise<Record<string, unknown>> {
  let res: Awaited<ReturnType<typeof signedRequest>>;
  try {
    res = await signedRequest(api, { method: "GET", path, query, timeoutMs: LOOKUP_TIMEOUT_MS });
  } catch (cause) {
    throw new GatewayError(`API Gateway ${what} failed: ${(cause as Error).message}`, { cause });
  }
  if (res.status !== 200) {
    const { code, message } = apiErrorOf(res.text);
    throw new GatewayError(
      `API Gateway ${what} failed: HTTP ${res.status} ${code} ${message}`.trim() +
        "; check functions.apig (instanceId, groupId) and that the user may read API Gateway",
    );
  }
  try {
    const body: unknown = JSON.parse(res.text);
    if (isRecord(body)) return body;
  } catch {
    // Reported below.
  }
  throw new GatewayError(`API Gateway ${what} answered something that is not a JSON object`);
}

function arrayOf(body: Record<string, unknown>, key: string): unknown[] {
  const value = body[key];
  return Array.isArray(value) ? value.slice(0, 500) : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "";
  }
}
