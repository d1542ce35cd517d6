import { deleteFunction, deleteTrigger, listTriggers, showFunction } from "../deploy/functions";
import type { CommandContext } from "./context";
import { PROBE_FUNCTION, WATCHDOG_FUNCTION, WEBHOOK_FUNCTION } from "./deploy";
import { deleteSecurityGroup, findSecurityGroup } from "./network";
import { addressesOf, deleteServer, findServer, InfraError, waitForJob } from "./servers";
import { type StepResult, stepsTable } from "./table";
import { removeWebhook, webhookState } from "./telegram";

export interface DestroyOptions {
  yes: boolean;
  /** Also delete the ECS server (and its security group). */
  server: boolean;
  /** With --server: delete the data disk with the server (the workspace is lost). */
  deleteDataDisk: boolean;
}

export interface DestroyResult {
  steps: StepResult[];
  /** False when the user said no (nothing was deleted). */
  confirmed: boolean;
}

/**
 * Deletes what deploy made (triggers, functions, the webhook) and, only when asked, the server.
 * It lists everything first and asks; without a terminal it needs --yes.
 */
export async function destroyCommand(
  ctx: CommandContext,
  options: DestroyOptions,
): Promise<DestroyResult> {
  const { io, cloud, deployment } = ctx;
  if (options.deleteDataDisk && !options.server) {
    throw new InfraError("--delete-data-disk only makes sense with --server");
  }
  const target = cloud.functions;
  const functions = [];
  for (const name of [WATCHDOG_FUNCTION, WEBHOOK_FUNCTION, PROBE_FUNCTION]) {
    if (await showFunction(target, name))
      functions.push({ name, triggers: await listTriggers(target, name) });
  }
  const apigUrls = functions.flatMap((f) =>
    f.triggers.flatMap((t) => (t.event_data?.invoke_url ? [t.event_data.invoke_url] : [])),
  );
  const alerts = deployment.resolve().alerts;
  const hook = await webhookState(alerts);
  // Only our own webhook: a URL set by someone else is left alone.
  const ownWebhook =
    hook.url !== "" &&
    (apigUrls.includes(hook.url) || hook.url.endsWith(deployment.functions.webhookPath));
  const spec = deployment.server;
  if (options.server && !spec) {
    throw new InfraError(
      "--server: this deployment has no server block; clawwatch never deletes a server it only watches",
    );
  }
  const server = options.server && spec ? await findServer(cloud.ecs, spec.name) : undefined;
  const group =
    options.server && spec && cloud.vpc && deployment.securityGroupName
      ? await findSecurityGroup(cloud.vpc, deployment.securityGroupName, spec.vpcId)
      : undefined;

  const plan: string[] = [
    ...functions.flatMap((f) => [
      ...f.triggers.map(
        (t) =>
          `${t.trigger_type_code} trigger ${t.event_data?.name ?? t.event_data?.path ?? t.trigger_id} of ${f.name}`,
      ),
      `function ${f.name}`,
    ]),
    ...(ownWebhook ? [`the alert bot's webhook (${hook.url})`] : []),
    ...(server
      ? [
          `server ${server.name} (${server.id}) with its system disk` +
            (addressesOf(server).floating.length > 0 ? " and its EIP" : "") +
            (options.deleteDataDisk
              ? " AND ITS DATA DISK (the workspace is lost)"
              : "; the data disk is kept"),
        ]
      : []),
    ...(group ? [`security group ${group.name} (${group.id})`] : []),
  ];
  if (plan.length === 0) {
    io.out("nothing to delete");
    return { steps: [], confirmed: true };
  }
  io.out(
    `This deletes, in ${cloud.region} (${cloud.kind}):\n${plan.map((p) => `  - ${p}`).join("\n")}`,
  );
  if (!options.server) io.out("The server is kept (add --server to delete it).");
  if (!options.yes) {
    if (!io.isTTY) {
      throw new InfraError(
        "refusing to delete without confirmation: run it in a terminal or pass --yes",
      );
    }
    if (!(await io.confirm("Delete all of this?"))) {
      io.out("nothing deleted");
      return { steps: [], confirmed: false };
    }
  }

  const steps: StepResult[] = [];
  for (const f of functions) {
    for (const t of f.triggers) {
      await deleteTrigger(target, f.name, t);
      steps.push({
        step: `${t.trigger_type_code} trigger`,
        resource: t.event_data?.name ?? t.event_data?.path ?? t.trigger_id ?? "?",
        result: "deleted",
      });
    }
    await deleteFunction(target, f.name);
    steps.push({ step: "function", resource: f.name, result: "deleted" });
  }
  if (ownWebhook && (await removeWebhook(alerts))) {
    steps.push({
      step: "Telegram webhook",
      resource: "alert bot",
      result: "deleted",
      detail: hook.url,
    });
  }
  if (server) {
    const jobId = await deleteServer(cloud.ecs, server.id, {
      deleteDataDisk: options.deleteDataDisk,
    });
    await waitForJob(cloud.ecs, jobId, `deleting ${server.name}`, io, { pollMs: cloud.pollMs });
    steps.push({
      step: "server",
      resource: server.name,
      result: "deleted",
      detail: options.deleteDataDisk ? "data disk deleted too" : "data disk kept (EVS console)",
    });
  }
  if (group && cloud.vpc) {
    try {
      await deleteSecurityGroup(cloud.vpc, group.id);
      steps.push({ step: "security group", resource: group.name, result: "deleted" });
    } catch (error) {
      steps.push({
        step: "security group",
        resource: group.name,
        result: "kept",
        detail: (error as Error).message,
      });
    }
  }
  io.out(stepsTable(steps));
  return { steps, confirmed: true };
}
