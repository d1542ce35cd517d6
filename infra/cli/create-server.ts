import type { CommandContext } from "./context";
import type { ServerSpec } from "./deployment";
import { checkGatewayIngress, ensureSecurityGroup, requiredIngress } from "./network";
import {
  addressesOf,
  createServer,
  findServer,
  InfraError,
  type ServerJson,
  showServer,
  waitForJob,
} from "./servers";
import { type StepResult, stepsTable } from "./table";
import { renderUserData } from "./user-data";

export interface CreateServerResult {
  steps: StepResult[];
  server?: { id: string; name: string; status: string; fixed: string[]; floating: string[] };
  adopted: boolean;
}

/**
 * The gateway box: its security group and rules, then the server itself (adopted when one with
 * this name exists), with its data disk, optional EIP and the bootstrap as user_data.
 */
export async function createServerCommand(
  ctx: CommandContext,
  options: { dryRun: boolean },
): Promise<CreateServerResult> {
  const { io, cloud, deployment } = ctx;
  const spec = deployment.server;
  const groupName = deployment.securityGroupName;
  if (!spec || !groupName) {
    throw new InfraError(
      'the deployment has no server block, so there is nothing to create: a box you already run is watched as it is (serverId + gateway.url); skip create-server and run deploy (DEPLOY.md, "I already run OpenClaw")',
    );
  }
  const steps: StepResult[] = [];
  io.out(
    `${options.dryRun ? "Plan for" : "Creating"} server "${spec.name}" in ${cloud.region} (${cloud.kind})`,
  );

  // Rendered first: a bootstrap setting that cannot work must stop us before anything changes.
  const userData = renderUserData({
    box: boxForUserData(ctx),
    telegramApiRoot: deployment.resolve().alerts.apiRoot,
    options: deployment.bootstrap,
  });
  const existing = await findServer(cloud.ecs, spec.name);
  if (existing) return adopt(ctx, spec, existing.id, steps);
  let groupId: string | undefined;
  if (cloud.vpc) {
    const network = await ensureSecurityGroup(cloud.vpc, {
      name: groupName,
      vpcId: spec.vpcId,
      rules: requiredIngress(spec.adminCidr, spec.functionSubnetCidr),
      dryRun: options.dryRun,
    });
    groupId = network.groupId;
    steps.push(...network.steps);
  } else {
    steps.push({
      step: "security group",
      resource: groupName,
      result: "skipped",
      detail: "the local cloud has no VPC emulator",
    });
  }

  const disks = `system ${spec.rootDisk.sizeGb} GB ${spec.rootDisk.type}, data ${spec.dataDisk.sizeGb} GB ${spec.dataDisk.type}`;
  const detail = `${spec.flavor}, ${disks}, user_data ${Buffer.byteLength(userData.script)} bytes`;
  if (options.dryRun) {
    // ECS's own dry run checks flavor, image, quota and network without creating anything.
    await createServer(cloud.ecs, {
      spec,
      securityGroupId: groupId,
      userDataBase64: userData.base64,
      dryRun: true,
    });
    steps.push({ step: "server", resource: spec.name, result: "would create", detail });
    if (spec.eip) {
      steps.push({
        step: "EIP",
        resource: `${spec.eip.bandwidthMbit} Mbit/s ${spec.eip.chargeMode}`,
        result: "would create",
      });
    }
    io.out(stepsTable(steps));
    io.out("dry run: ECS validated the request; nothing was changed");
    return { steps, adopted: false };
  }

  const created = await createServer(cloud.ecs, {
    spec,
    securityGroupId: groupId,
    userDataBase64: userData.base64,
    dryRun: false,
  });
  if (!created.jobId) throw new InfraError("ECS accepted the create but returned no job id");
  io.out(`create job ${created.jobId} started`);
  await waitForJob(cloud.ecs, created.jobId, `creating ${spec.name}`, io, {
    pollMs: cloud.pollMs,
  });
  const id = created.serverIds[0] ?? (await findServer(cloud.ecs, spec.name))?.id;
  if (!id) throw new InfraError(`the create job finished but no server "${spec.name}" exists`);
  const server = await showServer(cloud.ecs, id);
  steps.push({ step: "server", resource: spec.name, result: "created", detail: `${id} ${detail}` });
  if (spec.eip) {
    const floating = addressesOf(server).floating;
    steps.push({
      step: "EIP",
      resource: `${spec.eip.bandwidthMbit} Mbit/s ${spec.eip.chargeMode}`,
      result: floating.length > 0 ? "created" : cloud.kind === "local" ? "skipped" : "requested",
      detail: floating[0] ?? (cloud.kind === "local" ? "the local cloud has no public IPs" : ""),
    });
  }
  return finish(ctx, steps, server, false);
}

/**
 * A server with this name already runs: it keeps its disks, security groups and user_data. No
 * security group is made for it (one never attached would only mislead); instead the groups it
 * has are checked for the gateway rule, and a missing one is reported with the rule to add.
 */
async function adopt(
  ctx: CommandContext,
  spec: ServerSpec,
  serverId: string,
  steps: StepResult[],
): Promise<CreateServerResult> {
  const server = await showServer(ctx.cloud.ecs, serverId);
  steps.push({
    step: "server",
    resource: spec.name,
    result: "adopted",
    detail: `${server.id} ${server.status}; its disks, security groups and user_data stay as they are`,
  });
  if (ctx.cloud.vpc) {
    const groups = (server.security_groups ?? []).flatMap((g) => (g.name ? [g.name] : []));
    const check = await checkGatewayIngress(ctx.cloud.vpc, {
      vpcId: spec.vpcId,
      groups,
      cidr: spec.functionSubnetCidr,
    });
    if (!check.ok) ctx.io.err(`WARNING: ${check.detail}`);
    steps.push({
      step: "gateway ingress",
      resource: groups.join(", ") || "no security group",
      result: check.ok ? "ok" : "MISSING",
      detail: check.detail,
    });
  }
  if (spec.eip && addressesOf(server).floating.length === 0) {
    steps.push({
      step: "EIP",
      resource: spec.name,
      result: "skipped",
      detail: "an EIP is only requested with a new server: bind one in the EIP console",
    });
  }
  return finish(ctx, steps, server, true);
}

function finish(
  ctx: CommandContext,
  steps: StepResult[],
  server: ServerJson,
  adopted: boolean,
): CreateServerResult {
  const { fixed, floating } = addressesOf(server);
  ctx.io.out(stepsTable(steps));
  ctx.io.out(
    `server ${server.name} ${server.id}: ${server.status}, VPC address ${fixed.join(", ") || "none yet"}` +
      (floating.length > 0 ? `, public ${floating.join(", ")}` : ""),
  );
  return {
    steps,
    adopted,
    server: { id: server.id, name: server.name, status: server.status, fixed, floating },
  };
}

/** The box whose gateway this server runs: the one without a serverId, else the first. */
function boxForUserData(ctx: CommandContext) {
  const config = ctx.deployment.resolve();
  const box = config.boxes[ctx.deployment.serverBox ?? 0];
  if (!box) throw new InfraError("product.boxes is empty: configure the box this server runs");
  return box;
}
