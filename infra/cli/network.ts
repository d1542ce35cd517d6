import {
  CreateSecurityGroupOption,
  CreateSecurityGroupRequest,
  CreateSecurityGroupRequestBody,
  CreateSecurityGroupRuleOption,
  CreateSecurityGroupRuleRequest,
  CreateSecurityGroupRuleRequestBody,
  DeleteSecurityGroupRequest,
  ListSecurityGroupRulesRequest,
  ListSecurityGroupsRequest,
  type VpcClient,
} from "@huaweicloud/huaweicloud-sdk-vpc";
import { GATEWAY_PORT } from "./deployment";
import { sdkError } from "./servers";
import type { StepResult } from "./table";

/** An ingress rule the box needs: one TCP port from one CIDR. */
export interface IngressRule {
  port: number;
  cidr: string;
  description: string;
}

export function requiredIngress(adminCidr: string, functionSubnetCidr: string): IngressRule[] {
  return [
    { port: 22, cidr: adminCidr, description: "clawwatch: SSH from the admin network" },
    {
      port: GATEWAY_PORT,
      cidr: functionSubnetCidr,
      description: "clawwatch: OpenClaw gateway from the watchdog's subnet",
    },
  ];
}

interface RuleJson {
  id?: string;
  direction?: string;
  ethertype?: string;
  protocol?: string | null;
  port_range_min?: number | null;
  port_range_max?: number | null;
  remote_ip_prefix?: string | null;
  remote_group_id?: string | null;
}

interface GroupJson {
  id: string;
  name: string;
  vpc_id?: string;
}

export async function findSecurityGroup(
  vpc: VpcClient,
  name: string,
  vpcId: string,
  options: { orId?: boolean } = {},
): Promise<GroupJson | undefined> {
  const res = await call<{ security_groups?: GroupJson[] }>("list security groups", () =>
    vpc.listSecurityGroups(new ListSecurityGroupsRequest().withVpcId(vpcId).withLimit(1000)),
  );
  const groups = res.security_groups ?? [];
  return (
    groups.find((g) => g.name === name) ??
    (options.orId ? groups.find((g) => g.id === name) : undefined)
  );
}

/**
 * The box's security group with exactly the ingress it needs (SSH from the admin CIDR, the
 * gateway from the function subnet). Rules it did not create are reported, never removed.
 */
export async function ensureSecurityGroup(
  vpc: VpcClient,
  input: { name: string; vpcId: string; rules: IngressRule[]; dryRun: boolean },
): Promise<{ groupId: string | undefined; steps: StepResult[] }> {
  const steps: StepResult[] = [];
  let group = await findSecurityGroup(vpc, input.name, input.vpcId);
  if (!group && input.dryRun) {
    steps.push({ step: "security group", resource: input.name, result: "would create" });
    for (const rule of input.rules) steps.push({ ...ruleStep(rule), result: "would create" });
    return { groupId: undefined, steps };
  }
  if (!group) {
    const res = await call<{ security_group?: GroupJson }>("create security group", () =>
      vpc.createSecurityGroup(
        new CreateSecurityGroupRequest().withBody(
          new CreateSecurityGroupRequestBody().withSecurityGroup(
            new CreateSecurityGroupOption().withName(input.name).withVpcId(input.vpcId),
          ),
        ),
      ),
    );
    if (!res.security_group?.id) throw sdkError("VPC", "create security group", {});
    group = res.security_group;
    steps.push({
      step: "security group",
      resource: input.name,
      result: "created",
      detail: group.id,
    });
  } else {
    steps.push({
      step: "security group",
      resource: input.name,
      result: "unchanged",
      detail: group.id,
    });
  }
  const groupId = group.id;
  const existing = await listRules(vpc, groupId);
  for (const rule of input.rules) {
    if (existing.some((r) => matches(r, rule))) {
      steps.push({ ...ruleStep(rule), result: "unchanged" });
    } else if (input.dryRun) {
      steps.push({ ...ruleStep(rule), result: "would create" });
    } else {
      await call("create security group rule", () =>
        vpc.createSecurityGroupRule(
          new CreateSecurityGroupRuleRequest().withBody(
            new CreateSecurityGroupRuleRequestBody().withSecurityGroupRule(
              new CreateSecurityGroupRuleOption()
                .withSecurityGroupId(groupId)
                .withDirection("ingress")
                .withEthertype("IPv4")
                .withProtocol("tcp")
                .withPortRangeMin(rule.port)
                .withPortRangeMax(rule.port)
                .withRemoteIpPrefix(rule.cidr)
                .withDescription(rule.description),
            ),
          ),
        ),
      );
      steps.push({ ...ruleStep(rule), result: "created" });
    }
  }
  const foreign = existing.filter(
    (r) =>
      r.direction === "ingress" && !r.remote_group_id && !input.rules.some((x) => matches(r, x)),
  );
  for (const r of foreign) {
    steps.push({
      step: "security group rule",
      resource: `${r.protocol ?? "any"} ${portText(r)} from ${r.remote_ip_prefix ?? "anywhere"}`,
      result: "kept",
      detail: "not created by clawwatch: remove it if the box should not accept it",
    });
  }
  return { groupId, steps };
}

export async function deleteSecurityGroup(vpc: VpcClient, groupId: string): Promise<void> {
  await call("delete security group", () =>
    vpc.deleteSecurityGroup(new DeleteSecurityGroupRequest().withSecurityGroupId(groupId)),
  );
}

async function listRules(vpc: VpcClient, groupId: string): Promise<RuleJson[]> {
  const res = await call<{ security_group_rules?: RuleJson[] }>("list security group rules", () =>
    vpc.listSecurityGroupRules(
      new ListSecurityGroupRulesRequest().withSecurityGroupId(groupId).withLimit(1000),
    ),
  );
  return res.security_group_rules ?? [];
}

function matches(r: RuleJson, rule: IngressRule): boolean {
  return (
    r.direction === "ingress" &&
    (r.ethertype ?? "IPv4") === "IPv4" &&
    r.protocol === "tcp" &&
    r.port_range_min === rule.port &&
    r.port_range_max === rule.port &&
    r.remote_ip_prefix === rule.cidr
  );
}

function ruleStep(rule: IngressRule): Omit<StepResult, "result"> {
  return { step: "security group rule", resource: `tcp ${rule.port} from ${rule.cidr}` };
}

function portText(r: RuleJson): string {
  if (r.port_range_min == null) return "all ports";
  return r.port_range_min === r.port_range_max
    ? String(r.port_range_min)
    : `${r.port_range_min}-${r.port_range_max}`;
}

async function call<T = unknown>(what: string, fn: () => Promise<unknown>): Promise<T> {
  try {
    return (await fn()) as T;
  } catch (error) {
    throw sdkError("VPC", what, error);
  }
}

/**
 * Whether one of the server's security groups admits TCP 18789 from the watchdog's subnet; when
 * none does, the detail is the exact rule to add.
 */
export async function checkGatewayIngress(
  vpc: VpcClient,
  input: { vpcId: string; groups: readonly string[]; cidr: string },
): Promise<{ ok: boolean; detail: string }> {
  const wanted: IngressRule = { port: GATEWAY_PORT, cidr: input.cidr, description: "" };
  for (const name of input.groups) {
    const group = await findSecurityGroup(vpc, name, input.vpcId, { orId: true });
    if (!group) continue;
    const rule = (await listRules(vpc, group.id)).find((r) => admits(r, wanted));
    if (rule) {
      return {
        ok: true,
        detail: `${name} admits TCP ${GATEWAY_PORT} from ${rule.remote_ip_prefix ?? "anywhere"}`,
      };
    }
  }
  const where = input.groups[0] ?? "the server's security group";
  return {
    ok: false,
    detail: `no security group of the server admits the gateway from the watchdog's subnet: add to ${where} the inbound rule TCP ${GATEWAY_PORT} from ${input.cidr} (console → Security Groups → ${where} → Inbound Rules → Add Rule: protocol TCP, port ${GATEWAY_PORT}, source ${input.cidr})`,
  };
}

/** An ingress rule whose ports and source cover `rule` (a wider CIDR or any port counts). */
function admits(r: RuleJson, rule: IngressRule): boolean {
  if (r.direction !== "ingress" || (r.ethertype && r.ethertype !== "IPv4")) return false;
  // A rule naming a remote group admits only that group's members, not the functions' subnet.
  if (r.remote_group_id) return false;
  if (r.protocol && r.protocol !== "tcp") return false;
  const min = r.port_range_min ?? 1;
  const max = r.port_range_max ?? 65535;
  if (rule.port < min || rule.port > max) return false;
  return cidrContains(r.remote_ip_prefix ?? "0.0.0.0/0", rule.cidr);
}

function cidrContains(outer: string, inner: string): boolean {
  const [outerIp = "", outerBits = "32"] = outer.split("/");
  const [innerIp = "", innerBits = "32"] = inner.split("/");
  const bits = Number(outerBits);
  if (Number(innerBits) < bits) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ipv4(outerIp) & mask) >>> 0 === (ipv4(innerIp) & mask) >>> 0;
}

function ipv4(ip: string): number {
  return ip.split(".").reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0);
}
