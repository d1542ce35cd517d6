import type { BoxConfig } from "../config";
import type { AlertChannel } from "../state/schema";
import { type CycleMode, type CycleReport, runCycle } from "./cycle";
import type { CycleDeps } from "./ports";

export interface FleetReport {
  requestId: string;
  mode: CycleMode;
  boxes: CycleReport[];
  /** Boxes not checked because the function ran out of time. */
  skipped: string[];
  durationMs: number;
  /** The alert chat beyond the config: a migrated id, a permanent failure. Absent when fine. */
  alertChannel?: AlertChannel;
}

/**
 * Checks every box, at most `concurrency` at once. A box is only started while there is more
 * time left than the safety margin; the rest are reported as skipped (and checked next tick).
 */
export async function runFleet(
  boxes: readonly BoxConfig[],
  deps: CycleDeps,
  mode: CycleMode,
): Promise<FleetReport> {
  const started = deps.clock();
  const reports: CycleReport[] = [];
  const skipped: string[] = [];
  const queue = [...boxes];
  const worker = async () => {
    for (let box = queue.shift(); box; box = queue.shift()) {
      if (deps.remainingMs() < deps.config.runtime.safetyMargin) {
        skipped.push(box.name);
        continue;
      }
      reports.push(await checkOne(box, deps, mode));
    }
  };
  const workers = Math.min(deps.config.runtime.concurrency, boxes.length);
  await Promise.all(Array.from({ length: workers }, worker));
  if (skipped.length > 0) deps.log.warn("boxes skipped: near the function timeout", { skipped });
  reports.sort(
    (a, b) => boxes.findIndex((x) => x.name === a.box) - boxes.findIndex((x) => x.name === b.box),
  );
  const alertChannel = mode === "dry-run" ? await deps.alertChannel?.() : undefined;
  return {
    requestId: deps.requestId,
    mode,
    boxes: reports,
    skipped,
    durationMs: deps.clock() - started,
    ...(alertChannel && (alertChannel.chatId !== undefined || alertChannel.failure)
      ? { alertChannel }
      : {}),
  };
}

/** One box's failure must not stop the others: a thrown bug becomes that box's error. */
async function checkOne(box: BoxConfig, deps: CycleDeps, mode: CycleMode): Promise<CycleReport> {
  try {
    return await runCycle(box, deps, mode);
  } catch (error) {
    deps.log.error("cycle crashed", { box: box.name, error });
    return {
      box: box.name,
      mode,
      decided: false,
      plan: [],
      outcomes: [],
      openIncidents: [],
      errors: [`cycle crashed: ${(error as Error).message}`],
      durationMs: 0,
    };
  }
}
