import { listTriggers, showFunction } from "../deploy/functions";
import type { CommandContext } from "./context";
import { PROBE_FUNCTION, WATCHDOG_FUNCTION, WEBHOOK_FUNCTION } from "./deploy";
import { findSecurityGroup } from "./network";
import { addressesOf, findServer, showServer } from "./servers";
import { table } from "./table";
import { alertChatState, webhookState } from "./telegram";

export interface StatusRow {
  kind: string;
  name: string;
  state: string;
  detail: string;
}

/** What exists right now: the server, the functions and their triggers, the webhook. */
export async function statusCommand(
  ctx: CommandContext,
  options: { json: boolean },
): Promise<StatusRow[]> {
  const { cloud, deployment } = ctx;
  const rows: StatusRow[] = [];
  const spec = deployment.server;
  const found = spec ? await findServer(cloud.ecs, spec.name) : undefined;
  if (!spec) {
    rows.push({
      kind: "server",
      name: "-",
      state: "watch only",
      detail: deployment
        .resolve()
        .boxes.map((b) => `${b.name} ${b.serverId}`)
        .join(", "),
    });
  } else if (found) {
    const server = await showServer(cloud.ecs, found.id);
    const { fixed, floating } = addressesOf(server);
    rows.push({
      kind: "server",
      name: server.name,
      state: server.status,
      detail: [server.id, ...fixed, ...floating.map((ip) => `public ${ip}`)].join(" "),
    });
  } else {
    rows.push({
      kind: "server",
      name: spec.name,
      state: "absent",
      detail: "run create-server",
    });
  }
  if (cloud.vpc && spec && deployment.securityGroupName) {
    const group = await findSecurityGroup(cloud.vpc, deployment.securityGroupName, spec.vpcId);
    rows.push({
      kind: "security group",
      name: deployment.securityGroupName,
      state: group ? "present" : "absent",
      detail: group?.id ?? "",
    });
  }
  for (const name of [PROBE_FUNCTION, WATCHDOG_FUNCTION, WEBHOOK_FUNCTION]) {
    const fn = await showFunction(cloud.functions, name);
    rows.push({
      kind: "function",
      name,
      state: fn ? "deployed" : "absent",
      detail: fn
        ? `${fn.runtime} ${fn.memory_size} MB ${fn.timeout} s, code ${Math.round((fn.code_size ?? 0) / 1024)} KB, max instances ${fn.strategy_config?.concurrency ?? "?"}, ${networkOf(fn)}, modified ${fn.last_modified ?? "?"}`
        : name === PROBE_FUNCTION
          ? "run deploy: without it the watchdog cannot check the gateway"
          : "run deploy",
    });
    if (!fn) continue;
    for (const t of await listTriggers(cloud.functions, name)) {
      const e = t.event_data ?? {};
      rows.push({
        kind: `${t.trigger_type_code ?? "?"} trigger`,
        name: e.name ?? e.path ?? t.trigger_id ?? "?",
        state: t.trigger_status ?? "?",
        detail: e.invoke_url ?? (e.schedule ? `${e.schedule_type} ${e.schedule}` : ""),
      });
    }
  }
  const alerts = deployment.resolve().alerts;
  rows.push(await alertChatRow(alerts));
  try {
    const hook = await webhookState(alerts);
    rows.push({
      kind: "webhook",
      name: "alert bot",
      state: hook.url ? "set" : "none",
      detail:
        `${hook.url || "-"}, ${hook.pendingUpdateCount} pending` +
        (hook.lastErrorMessage ? `, last error: ${hook.lastErrorMessage}` : ""),
    });
  } catch (error) {
    rows.push({
      kind: "webhook",
      name: "alert bot",
      state: "unknown",
      detail: (error as Error).message,
    });
  }
  ctx.io.out(
    options.json
      ? JSON.stringify(rows, null, 2)
      : table(
          ["kind", "name", "state", "detail"],
          rows.map((r) => [r.kind, r.name, r.state, r.detail]),
        ),
  );
  return rows;
}

/**
 * Whether the alert bot may still write to the alert chat: sendChatAction needs the same write
 * access as sendMessage (the chat shows "typing…" for a few seconds), so a migrated group, a
 * kicked or blocked bot and an unknown chat show up here as they would for an alert.
 */
async function alertChatRow(alerts: Parameters<typeof alertChatState>[0]): Promise<StatusRow> {
  const state = await alertChatState(alerts);
  return {
    kind: "alert chat",
    name: String(alerts.chatId),
    state: state.state,
    detail: state.detail,
  };
}

/** Only the gateway-probe function should have VPC access; the others need the public network. */
function networkOf(fn: { func_vpc?: { vpc_id?: string; subnet_id?: string } | null }): string {
  return fn.func_vpc?.subnet_id ? `VPC access (subnet ${fn.func_vpc.subnet_id})` : "public network";
}
