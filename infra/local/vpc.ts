import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { listen, parseJson, sendJson, sleep } from "./http";
import type { Iam } from "./iam";
import { ControlError, type LocalService, ServiceFaults } from "./service";
import { apigErrorBody, verifySdkHmac } from "./signing";

/**
 * The slice of the VPC API (v1) that `infra/cli` uses, for the real `VpcClient`: security groups
 * and their rules, and route tables (read-only, with routes added over the control API) for the
 * NAT egress check. See docs/vpc.md.
 */

export interface VpcOptions {
  iam: Iam;
  port?: number;
}

export interface SecurityGroupRule {
  id: string;
  security_group_id: string;
  direction: "ingress" | "egress";
  ethertype: "IPv4" | "IPv6";
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  /** Always in the answer (null when unused): the SDK's SecurityGroupRule constructor lists it. */
  remote_address_group_id: string | null;
  description: string;
  tenant_id: string;
}

export interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  vpc_id: string;
  enterprise_project_id: string;
  security_group_rules: SecurityGroupRule[];
}

export interface Route {
  type: string;
  destination: string;
  nexthop: string;
  description: string;
}

export interface RouteTable {
  id: string;
  name: string;
  default: boolean;
  vpc_id: string;
  subnets: { id: string }[];
  routes: Route[];
  tenant_id: string;
}

export interface VpcService extends LocalService {
  securityGroups(): SecurityGroup[];
  routeTables(): RouteTable[];
}

class VpcApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Answer = { status: number; body: unknown };
type Handler = (
  m: RegExpExecArray,
  query: URLSearchParams,
  body: Record<string, unknown>,
) => Answer;

const CONTROL_ACTIONS = ["latency", "error", "security-groups", "route-tables", "add-route"];

export async function startVpc(options: VpcOptions): Promise<VpcService> {
  const { iam } = options;
  const faults = new ServiceFaults();
  const groups = new Map<string, SecurityGroup>();
  const tables = new Map<string, RouteTable>();

  /** Every VPC the API is asked about has a default route table, as on Huawei Cloud. */
  const defaultTable = (vpcId: string): RouteTable => {
    const found = [...tables.values()].find((t) => t.vpc_id === vpcId && t.default);
    if (found) return found;
    const table: RouteTable = {
      id: randomUUID(),
      name: `rtb-${vpcId}`,
      default: true,
      vpc_id: vpcId,
      subnets: [],
      routes: [],
      tenant_id: iam.projectId,
    };
    tables.set(table.id, table);
    return table;
  };

  const rule = (groupId: string, fields: Partial<SecurityGroupRule>): SecurityGroupRule => ({
    id: randomUUID(),
    security_group_id: groupId,
    direction: "ingress",
    ethertype: "IPv4",
    protocol: null,
    port_range_min: null,
    port_range_max: null,
    remote_ip_prefix: null,
    remote_group_id: null,
    remote_address_group_id: null,
    description: "",
    tenant_id: iam.projectId,
    ...fields,
  });

  const group = (id: string | undefined): SecurityGroup => {
    const found = id ? groups.get(id) : undefined;
    if (!found) throw new VpcApiError(404, "VPC.0602", `security group ${id} does not exist`);
    return found;
  };

  const P = "/v1/([^/]+)";
  const routes: { method: string; pattern: RegExp; handle: Handler }[] = [
    {
      method: "GET",
      pattern: new RegExp(`^${P}/security-groups$`),
      handle: (_m, q) => {
        const vpcId = q.get("vpc_id");
        const list = [...groups.values()].filter((g) => !vpcId || g.vpc_id === vpcId);
        return { status: 200, body: { security_groups: list } };
      },
    },
    {
      method: "POST",
      pattern: new RegExp(`^${P}/security-groups$`),
      handle: (_m, _q, body) => {
        const spec = objectParam(body, "security_group");
        const name = stringParam(spec, "name");
        const id = randomUUID();
        const created: SecurityGroup = {
          id,
          name,
          description: typeof spec.description === "string" ? spec.description : "",
          vpc_id: typeof spec.vpc_id === "string" ? spec.vpc_id : "",
          enterprise_project_id: "0",
          // Huawei Cloud's defaults: members talk to each other, everything may go out.
          security_group_rules: [
            rule(id, { direction: "ingress", remote_group_id: id }),
            rule(id, { direction: "egress" }),
          ],
        };
        groups.set(id, created);
        return { status: 200, body: { security_group: created } };
      },
    },
    {
      method: "GET",
      pattern: new RegExp(`^${P}/security-groups/([^/]+)$`),
      handle: (m) => ({ status: 200, body: { security_group: group(m[2]) } }),
    },
    {
      method: "DELETE",
      pattern: new RegExp(`^${P}/security-groups/([^/]+)$`),
      handle: (m) => {
        groups.delete(group(m[2]).id);
        return { status: 204, body: undefined };
      },
    },
    {
      method: "GET",
      pattern: new RegExp(`^${P}/security-group-rules$`),
      handle: (_m, q) => {
        const groupId = q.get("security_group_id");
        const all = [...groups.values()].flatMap((g) => g.security_group_rules);
        const list = all.filter((r) => !groupId || r.security_group_id === groupId);
        return { status: 200, body: { security_group_rules: list } };
      },
    },
    {
      method: "POST",
      pattern: new RegExp(`^${P}/security-group-rules$`),
      handle: (_m, _q, body) => {
        const spec = objectParam(body, "security_group_rule");
        const target = group(stringParam(spec, "security_group_id"));
        const created = rule(target.id, parseRule(spec));
        const duplicate = target.security_group_rules.some((r) => sameRule(r, created));
        if (duplicate) throw new VpcApiError(409, "VPC.0604", "security group rule already exists");
        target.security_group_rules.push(created);
        return { status: 200, body: { security_group_rule: created } };
      },
    },
    {
      method: "DELETE",
      pattern: new RegExp(`^${P}/security-group-rules/([^/]+)$`),
      handle: (m) => {
        for (const g of groups.values()) {
          const before = g.security_group_rules.length;
          g.security_group_rules = g.security_group_rules.filter((r) => r.id !== m[2]);
          if (g.security_group_rules.length < before) return { status: 204, body: undefined };
        }
        throw new VpcApiError(404, "VPC.0603", `security group rule ${m[2]} does not exist`);
      },
    },
    {
      method: "GET",
      pattern: new RegExp(`^${P}/routetables$`),
      handle: (_m, q) => {
        const vpcId = q.get("vpc_id");
        if (vpcId) defaultTable(vpcId);
        const list = [...tables.values()]
          .filter((t) => !vpcId || t.vpc_id === vpcId)
          .map(({ routes: _routes, ...summary }) => summary);
        return { status: 200, body: { routetables: list } };
      },
    },
    {
      method: "GET",
      pattern: new RegExp(`^${P}/routetables/([^/]+)$`),
      handle: (m) => {
        const table = tables.get(m[2] ?? "");
        if (!table) throw new VpcApiError(404, "VPC.1801", `route table ${m[2]} does not exist`);
        return { status: 200, body: { routetable: table } };
      },
    },
  ];

  const answer = (req: IncomingMessage, raw: Buffer, requestId: string): Answer => {
    const url = new URL(req.url ?? "/", "http://vpc.local");
    const route = routes.find((r) => r.method === req.method && r.pattern.test(url.pathname));
    const match = route?.pattern.exec(url.pathname);
    if (!route || !match) {
      return {
        status: 404,
        body: {
          error_msg: "The API does not exist or has not been published in the environment",
          error_code: "APIGW.0101",
          request_id: requestId,
        },
      };
    }
    const auth = verifySdkHmac(req, raw, iam);
    if (!auth.ok) return { status: auth.status, body: apigErrorBody(auth, requestId) };
    if (decodeURIComponent(match[1] ?? "") !== iam.projectId) {
      throw new VpcApiError(403, "VPC.0003", "the project id in the path is not this account's");
    }
    const forced = faults.takeForcedStatus();
    if (forced !== undefined) {
      throw new VpcApiError(forced, `VPC.${forced}`, "injected failure (control API)");
    }
    let body: Record<string, unknown> = {};
    if (req.method === "POST") {
      const parsed = parseJsonSafe(raw);
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new VpcApiError(400, "VPC.0002", "the request body must be a JSON object");
      }
      body = parsed as Record<string, unknown>;
    }
    return route.handle(match, url.searchParams, body);
  };

  const http = await listen(async (req, res, raw) => {
    const requestId = randomBytes(16).toString("hex");
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    let result: Answer;
    try {
      result = answer(req, raw, requestId);
    } catch (error) {
      if (!(error instanceof VpcApiError)) throw error;
      result = {
        status: error.status,
        body: { error_code: error.code, error_msg: error.message, request_id: requestId },
      };
    }
    if (result.body === undefined) {
      res.writeHead(result.status, { "x-request-id": requestId });
      res.end();
    } else sendJson(res, result.status, result.body, { "x-request-id": requestId });
  }, options.port);

  return {
    name: "vpc",
    url: http.url,
    securityGroups: () => [...groups.values()],
    routeTables: () => [...tables.values()],
    async control(action, params) {
      if (faults.apply(action, params)) return { ok: true };
      switch (action) {
        case "security-groups":
          return [...groups.values()];
        case "route-tables":
          return [...tables.values()];
        case "add-route": {
          const vpcId = params.vpcId;
          if (typeof vpcId !== "string" || vpcId === "")
            throw new ControlError('"vpcId" is required');
          const table = defaultTable(vpcId);
          table.routes.push({
            type: typeof params.type === "string" ? params.type : "nat",
            destination: typeof params.destination === "string" ? params.destination : "0.0.0.0/0",
            nexthop: typeof params.nexthop === "string" ? params.nexthop : randomUUID(),
            description: "",
          });
          return table;
        }
        default:
          throw new ControlError(
            `unknown VPC control action "${action}"; use one of: ${CONTROL_ACTIONS.join(", ")}`,
            404,
          );
      }
    },
    reset: () => faults.reset(),
    close: () => http.close(),
  };
}

function parseRule(spec: Record<string, unknown>): Partial<SecurityGroupRule> {
  const direction = spec.direction;
  if (direction !== "ingress" && direction !== "egress") {
    throw new VpcApiError(400, "VPC.0601", 'direction must be "ingress" or "egress"');
  }
  const ethertype = spec.ethertype ?? "IPv4";
  if (ethertype !== "IPv4" && ethertype !== "IPv6") {
    throw new VpcApiError(400, "VPC.0601", 'ethertype must be "IPv4" or "IPv6"');
  }
  const port = (key: string): number | null => {
    const value = spec[key];
    if (value === undefined || value === null) return null;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
      throw new VpcApiError(400, "VPC.0601", `${key} must be a port number 1-65535`);
    }
    return value;
  };
  const min = port("port_range_min");
  const max = port("port_range_max");
  if ((min === null) !== (max === null) || (min !== null && max !== null && min > max)) {
    throw new VpcApiError(
      400,
      "VPC.0601",
      "port_range_min and port_range_max go together, min ≤ max",
    );
  }
  const prefix = spec.remote_ip_prefix;
  if (prefix !== undefined && (typeof prefix !== "string" || !/^[\d.]+\/\d{1,2}$/.test(prefix))) {
    throw new VpcApiError(400, "VPC.0601", "remote_ip_prefix must be a CIDR such as 10.0.0.0/24");
  }
  return {
    direction,
    ethertype,
    protocol: typeof spec.protocol === "string" ? spec.protocol : null,
    port_range_min: min,
    port_range_max: max,
    remote_ip_prefix: typeof prefix === "string" ? prefix : null,
    remote_group_id: typeof spec.remote_group_id === "string" ? spec.remote_group_id : null,
    description: typeof spec.description === "string" ? spec.description : "",
  };
}

function sameRule(a: SecurityGroupRule, b: SecurityGroupRule): boolean {
  return (
    a.direction === b.direction &&
    a.ethertype === b.ethertype &&
    a.protocol === b.protocol &&
    a.port_range_min === b.port_range_min &&
    a.port_range_max === b.port_range_max &&
    a.remote_ip_prefix === b.remote_ip_prefix &&
    a.remote_group_id === b.remote_group_id
  );
}

function objectParam(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = parent[key];
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new VpcApiError(400, "VPC.0002", `"${key}" must be an object`);
  }
  return value as Record<string, unknown>;
}

function stringParam(parent: Record<string, unknown>, key: string): string {
  const value = parent[key];
  if (typeof value !== "string" || value === "") {
    throw new VpcApiError(400, "VPC.0002", `"${key}" must be a non-empty string`);
  }
  return value;
}

function parseJsonSafe(raw: Buffer): unknown {
  try {
    return parseJson(raw);
  } catch {
    return null;
  }
}
