import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { IAM_ACTIONS } from "../../infra/local/ecs";

/**
 * Every action name in the agency policies (infra/iam/*.json) is one Huawei publishes, with the
 * page it was read from; and the local ECS asks IAM for the same action per API as the tables
 * say. Sources in infra/local/docs/contracts.md ("IAM actions").
 */

const ECS_LIFECYCLE =
  "ECS API Reference, Permissions Policies and Supported Actions > Lifecycle Management (ecs_06_0002)";
const ECS_STATUS =
  "ECS API Reference, Permissions Policies and Supported Actions > ECS Status Management (ecs_06_0003)";
const ECS_BATCH =
  "ECS API Reference, Permissions Policies and Supported Actions > Batch Operations (ecs_06_0004)";
const OBS_SDK =
  "OBS SDK for Node.js, each API's Restrictions (e.g. 'obs:object:GetObject in IAM or GetObject in a bucket policy')";
// FunctionGraph User Guide FAQ "Which Actions Can Be Used Instead of a VPC Administrator Agency
// for VPC Access?" (functiongraph_03_0857), Table 1; read in opentelekomcloud-docs/function-graph
// umn/source/faqs/general_faqs/which_actions_can_be_used_instead_of_a_vpc_administrator_agency_for_vpc_access.rst
const FGS_VPC =
  "FunctionGraph FAQ functiongraph_03_0857 (actions instead of a VPC Administrator agency), Table 1";
const FGS_VPC_SG =
  "not in functiongraph_03_0857's list: huawei-cloud-facts.md §4 (issue 19 audit) only; not re-confirmed on a Huawei page";

const FGS_ACTIONS =
  "FunctionGraph API Reference, Permissions Policies and Supported Actions (functiongraph_06_1100)";

/** Action → where Huawei names it. */
const PUBLISHED: Record<string, string> = {
  "ecs:cloudServers:get": `${ECS_LIFECYCLE}: GET /v1/{project_id}/cloudservers/{server_id}`,
  "ecs:cloudServers:list": `${ECS_LIFECYCLE}: GET /v1/{project_id}/cloudservers/detail`,
  "ecs:cloudServers:create": `${ECS_LIFECYCLE}: POST /v1/{project_id}/cloudservers`,
  "ecs:cloudServers:delete": `${ECS_LIFECYCLE}: POST /v1/{project_id}/cloudservers/delete`,
  "ecs:cloudServers:rebuild": `${ECS_STATUS}: POST /v2/{project_id}/cloudservers/{server_id}/reinstallos`,
  "ecs:cloudServers:start": `${ECS_BATCH}: POST /v1/{project_id}/cloudservers/action`,
  "ecs:cloudServers:stop": `${ECS_BATCH}: POST /v1/{project_id}/cloudservers/action`,
  "ecs:cloudServers:reboot": `${ECS_BATCH}: POST /v1/{project_id}/cloudservers/action`,
  "obs:bucket:ListBucket": `${OBS_SDK}: listObjects`,
  "obs:object:GetObject": `${OBS_SDK}: getObject`,
  "obs:object:PutObject": `${OBS_SDK}: putObject, copyObject`,
  "obs:object:DeleteObject": `${OBS_SDK}: deleteObject`,
  "functiongraph:function:invoke": `${FGS_ACTIONS}: POST /v2/{project_id}/fgs/functions/{function_urn}/invocations`,
  "vpc:vpcs:get": FGS_VPC,
  "vpc:subnets:get": FGS_VPC,
  "vpc:ports:get": FGS_VPC,
  "vpc:ports:create": FGS_VPC,
  "vpc:ports:delete": FGS_VPC,
  "vpc:securityGroups:get": FGS_VPC_SG,
};

/** The ECS operation → action pairs of the tables above (what the local ECS must ask IAM). */
const ECS_OPERATION_ACTIONS: Record<string, string> = {
  ShowServer: "ecs:cloudServers:get",
  ListServersDetails: "ecs:cloudServers:list",
  CreatePostPaidServers: "ecs:cloudServers:create",
  DeleteServers: "ecs:cloudServers:delete",
  BatchStartServers: "ecs:cloudServers:start",
  BatchStopServers: "ecs:cloudServers:stop",
  BatchRebootServers: "ecs:cloudServers:reboot",
  ReinstallServerWithCloudInit: "ecs:cloudServers:rebuild",
};

interface Policy {
  Version: string;
  Statement: { Effect: string; Action: string[]; Resource?: string[] }[];
}

function policies(): { file: string; policy: Policy }[] {
  const dir = resolve("infra/iam");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((file) => ({
      file,
      policy: JSON.parse(readFileSync(join(dir, file), "utf8")) as Policy,
    }));
}

describe("IAM action names against Huawei's published action lists", () => {
  it("every action of every agency policy is a published one", () => {
    const found = policies();
    expect(found.length).toBeGreaterThanOrEqual(2);
    const unknown: string[] = [];
    for (const { file, policy } of found) {
      expect(policy.Version).toBe("1.1");
      for (const s of policy.Statement) {
        expect(["Allow", "Deny"]).toContain(s.Effect);
        for (const action of s.Action) if (!PUBLISHED[action]) unknown.push(`${file}: ${action}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it("the local ECS checks the published action for each API", () => {
    expect(IAM_ACTIONS).toEqual(ECS_OPERATION_ACTIONS);
    for (const action of Object.values(ECS_OPERATION_ACTIONS))
      expect(PUBLISHED[action]).toBeDefined();
  });
});
