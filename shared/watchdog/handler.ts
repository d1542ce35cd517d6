import type { Config } from "../config";
import { InvocationError } from "../errors";
import { type FunctionContext, isTimerEvent } from "../runtime/context";
import type { Logger } from "../runtime/logger";
import { type Redactor, redactDeep } from "../runtime/redact";
import { buildCycleDeps } from "./deps";
import { type FleetReport, runFleet } from "./fleet";

interface Command {
  command: "diagnose" | "cycle" | "timer";
  box?: string;
}

/**
 * The watchdog's entry: a TIMER event runs one cycle for every box; a manual invoke with
 * `{"command":"diagnose"}` reports without acting, `{"command":"cycle"}` runs a cycle now.
 * Either takes an optional `"box"` to check only that one.
 */
export async function handleWatchdogEvent(
  event: unknown,
  context: FunctionContext,
  config: Config,
  log: Logger,
  redact: Redactor,
): Promise<FleetReport> {
  const request = parseEvent(event);
  const boxes = request.box ? config.boxes.filter((b) => b.name === request.box) : config.boxes;
  if (boxes.length === 0) {
    throw new InvocationError(
      `no box named "${request.box}"; configured: ${config.boxes.map((b) => b.name).join(", ")}`,
    );
  }
  const deps = await buildCycleDeps(config, context, log, redact);
  const mode = { diagnose: "dry-run", cycle: "act", timer: "timer" } as const;
  // The report is the invocation's result: the console, `infra diagnose` and the log show it.
  return redactDeep(redact, await runFleet(boxes, deps, mode[request.command]));
}

function parseEvent(event: unknown): Command {
  if (isTimerEvent(event)) return { command: "timer" };
  const e = (event ?? {}) as { command?: unknown; box?: unknown };
  if (e.command === "diagnose" || e.command === "cycle") {
    if (e.box !== undefined && typeof e.box !== "string") {
      throw new InvocationError('"box" must be a box name from the config');
    }
    return { command: e.command, ...(e.box ? { box: e.box } : {}) };
  }
  throw new InvocationError(
    'unknown event: expected a TIMER trigger event or {"command":"diagnose"|"cycle","box"?:"<name>"}',
  );
}
