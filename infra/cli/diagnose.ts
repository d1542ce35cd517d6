import type { Observations } from "../../shared/probes/types";
import { alertChannelLines } from "../../shared/receiver/summary";
import { clip } from "../../shared/text/clip";
import type { CycleReport } from "../../shared/watchdog/cycle";
import type { FleetReport } from "../../shared/watchdog/fleet";
import { invoke, showFunction } from "../deploy/functions";
import type { CommandContext } from "./context";
import { PROBE_FUNCTION, WATCHDOG_FUNCTION } from "./deploy";
import { alertChatCheck } from "./preflight";
import { InfraError } from "./servers";
import { table } from "./table";

/**
 * Invokes the deployed watchdog by hand with {"command":"diagnose"}: every probe, the open
 * incidents and what the policy would do now, without acting.
 */
export async function diagnoseCommand(
  ctx: CommandContext,
  options: { json: boolean; box?: string },
): Promise<FleetReport> {
  const target = ctx.cloud.functions;
  if (!(await showFunction(target, WATCHDOG_FUNCTION))) {
    throw new InfraError(`${WATCHDOG_FUNCTION} is not deployed: run deploy first`);
  }
  if (!(await showFunction(target, PROBE_FUNCTION))) {
    ctx.io.err(
      `WARNING: ${PROBE_FUNCTION} is not deployed: the watchdog cannot check the gateway (a watchdog-side error, never the box's); run deploy`,
    );
  }
  const report = await invoke<FleetReport>(target, WATCHDOG_FUNCTION, {
    command: "diagnose",
    ...(options.box ? { box: options.box } : {}),
  });
  // Checked from here too: the watchdog's view says what the last alert met, this what one
  // sent now would (a wrong chat id, a kicked bot), before an incident finds out.
  const [chat] = await alertChatCheck(ctx.deployment.resolve().alerts);
  ctx.io.out(
    options.json
      ? JSON.stringify({ ...report, alertChatCheck: chat }, null, 2)
      : `${renderFleet(report)}\n\nalert chat ${chat?.resource ?? ""} (checked from here): ${chat?.result ?? "?"}, ${chat?.detail ?? ""}`,
  );
  if (chat?.result === "FAILED") ctx.io.err(`WARNING: ${chat.detail}`);
  return report;
}

export function renderFleet(report: FleetReport): string {
  const parts = report.boxes.map(renderBox);
  if (report.skipped.length > 0) {
    parts.push(`not checked (function near its timeout): ${report.skipped.join(", ")}`);
  }
  const channel = alertChannelLines(report.alertChannel);
  if (channel.length > 0) parts.push(`alert chat:\n${channel.map((l) => `  ${l}`).join("\n")}`);
  parts.push(`request ${report.requestId}, ${report.durationMs} ms`);
  return parts.join("\n\n");
}

function renderBox(box: CycleReport): string {
  const lines = [`box ${box.box} (${box.mode}, ${box.durationMs} ms)`];
  if (box.skipped) lines.push(`  skipped: ${box.skipped}`);
  if (box.observations) lines.push(indent(probeTable(box.observations)));
  lines.push(
    box.openIncidents.length === 0
      ? "open incidents: none"
      : `open incidents:\n${indent(
          table(
            ["component", "cause", "since", "acked"],
            box.openIncidents.map((i) => [
              i.component,
              i.cause,
              new Date(i.openedAt).toISOString(),
              i.acked ? "yes" : "no",
            ]),
          ),
        )}`,
  );
  lines.push(
    box.plan.length === 0
      ? "policy now: nothing to do"
      : `policy now:\n${box.plan.map((p) => `  - ${p}`).join("\n")}`,
  );
  const errors = [...box.errors, ...(box.observations?.watchdogErrors ?? [])];
  if (errors.length > 0)
    lines.push(`watchdog errors:\n${[...new Set(errors)].map((e) => `  - ${e}`).join("\n")}`);
  return lines.join("\n");
}

function probeTable(o: Observations): string {
  const rows: string[][] = [];
  const row = (component: string, r: { status: string; latencyMs?: number; detail: string }) =>
    rows.push([
      component,
      r.status,
      r.latencyMs === undefined ? "-" : `${r.latencyMs} ms`,
      oneLine(r.detail),
    ]);
  // A ProbeError here is the gateway-probe function failing, not the gateway.
  row(o.gateway.status === "error" ? "gateway (probe fn)" : "gateway", o.gateway);
  if (o.maas) row("maas", o.maas);
  else rows.push(["maas", "-", "-", "not probed this cycle"]);
  if (o.telegram) row("telegram", o.telegram);
  else rows.push(["telegram", "-", "-", "not probed this cycle"]);
  if (o.server) row("server", o.server);
  else rows.push(["server", "-", "-", "not asked (gateway ok)"]);
  return table(["component", "status", "latency", "detail"], rows);
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return clip(flat, 100);
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}
