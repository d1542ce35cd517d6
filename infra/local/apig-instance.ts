import { randomBytes } from "node:crypto";
import { FgsError, type Json } from "./functiongraph-model";

/**
 * The local API gateway plays one dedicated APIG instance: Huawei's shared gateway is closed to
 * new users (shared/reference/huawei-cloud-facts.md §4), so DEDICATEDGATEWAY triggers are the
 * only HTTP triggers an account gets. It has one API group and the RELEASE environment.
 *
 * Its management API is the part `deploy` reads (APIG API reference, dedicated gateway v2):
 * - `GET /v2/{project_id}/apigw/instances/{instance_id}/envs?name=` (ListEnvironmentsV2):
 *   `{size, total, envs: [{id, name, create_time, remark}]}`; the RELEASE environment's id is
 *   `DEFAULT_ENVIRONMENT_RELEASE_ID` on every instance.
 * - `GET /v2/{project_id}/apigw/instances/{instance_id}/api-groups/{group_id}`
 *   (ShowDetailsOfApiGroupV2): `{id, name, status, sl_domain, sl_domains, url_domains: [{id,
 *   domain, cname_status, ...}]}`; `sl_domain` is the debug subdomain, `url_domains` the bound ones.
 * terraform-provider-huaweicloud's fgs trigger resource makes these two calls to fill a
 * DEDICATEDGATEWAY trigger's env_id and sl_domain (getDedicatedApigSubDomainAndEnvId).
 * Error codes here (APIG.3030 instance, APIG.3001 group) follow APIG's numbering as far as the
 * emulator knows it; the bodies are APIG's `{error_code, error_msg}`.
 */
export interface ApigGroup {
  readonly id: string;
  readonly name: string;
  /** The debug subdomain: resolvable only inside the gateway's VPC, 1,000 calls a day. */
  readonly slDomain: string;
  readonly boundDomains: string[];
}

export interface ApigEnvironment {
  readonly id: string;
  readonly name: string;
}

export const RELEASE_ENV: ApigEnvironment = {
  id: "DEFAULT_ENVIRONMENT_RELEASE_ID",
  name: "RELEASE",
};

export class ApigInstance {
  readonly id = `apig-${randomBytes(16).toString("hex")}`;
  readonly group: ApigGroup;
  readonly environments: readonly ApigEnvironment[] = [RELEASE_ENV];
  private readonly created = new Date().toISOString();

  /** `slDomain`: the local gateway's own address, reachable "inside the VPC" (loopback) only. */
  constructor(slDomain: string) {
    this.group = {
      id: randomBytes(16).toString("hex"),
      name: "clawwatch_local",
      slDomain,
      boundDomains: [],
    };
  }

  bindDomain(domain: string): void {
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(domain)) {
      throw new FgsError(400, "APIG.2012", `Invalid domain name ${domain}`);
    }
    if (!this.group.boundDomains.includes(domain)) this.group.boundDomains.push(domain);
  }

  /** Answers `GET .../apigw/instances/{instance_id}/...`; `rest` is what follows `instances`. */
  route(method: string, rest: string[], query: URLSearchParams): { status: number; body: Json } {
    const [instanceId, kind, groupId, ...extra] = rest;
    if (method !== "GET" || extra.length > 0) throw notFound();
    if (instanceId !== this.id) {
      throw new FgsError(404, "APIG.3030", `The instance does not exist: ${String(instanceId)}`);
    }
    if (kind === "envs" && groupId === undefined) return { status: 200, body: this.envs(query) };
    if (kind === "api-groups" && groupId !== undefined) {
      if (groupId !== this.group.id) {
        throw new FgsError(404, "APIG.3001", `The API group does not exist: ${groupId}`);
      }
      return { status: 200, body: this.groupView() };
    }
    throw notFound();
  }

  private envs(query: URLSearchParams): Json {
    const name = query.get("name");
    const envs = this.environments
      .filter((e) => name === null || e.name === name)
      .map((e) => ({ id: e.id, name: e.name, create_time: this.created, remark: "" }));
    return { size: envs.length, total: envs.length, envs };
  }

  private groupView(): Json {
    const g = this.group;
    return {
      id: g.id,
      name: g.name,
      status: 1,
      sl_domain: g.slDomain,
      sl_domains: [g.slDomain],
      register_time: this.created,
      update_time: this.created,
      on_sell_status: 2,
      url_domains: g.boundDomains.map((domain, i) => ({
        id: `domain-${i + 1}`,
        domain,
        cname_status: 3,
        ssl_id: "",
        ssl_name: "",
        min_ssl_version: "TLSv1.2",
        verified_client_certificate_enabled: false,
        is_has_trusted_root_ca: false,
      })),
    };
  }
}

function notFound(): FgsError {
  return new FgsError(
    404,
    "APIG.0101",
    "The API does not exist or has not been published in the environment",
  );
}
