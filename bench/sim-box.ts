import type { Compute, ServerInfo } from "../shared/cloud/compute";
import type { BoxConfig } from "../shared/config";
import { withOneRetry } from "../shared/probes/http";
import { probeServer } from "../shared/probes/server";
import type {
  GatewayResult,
  MaasResult,
  Observations,
  ServerStatus,
  TelegramResult,
} from "../shared/probes/types";
import type { ObservePlan } from "../shared/watchdog/ports";

/** Real-world durations of the local ECS (ecs-model.ts) and issue 7's stand-in boot delay. */
export const SIM_TIMINGS = {
  /** From the reboot request until the gateway answers /readyz ready. */
  bootDelayMs: 2 * 60_000,
  softRebootJobMs: 40_000,
  hardRebootJobMs: 20_000,
  reinstallJobMs: 180_000,
} as const;

export interface SimAction {
  at: number;
  action: string;
  /** The gateway was not crashed when the action was asked for. */
  wrong: boolean;
}

/** mulberry32: a small seeded PRNG, so every run simulates the same month. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * One watched box on a simulated clock: its gateway process crashes at the scheduled times and
 * stays down until the box is rebooted; a reboot shows REBOOT for the job's duration, then the
 * gateway boots ("booting" on /readyz) and is ready `bootDelayMs` after the request.
 */
export class SimBox {
  readonly actions: SimAction[] = [];
  private crashedAt: number | undefined;
  private nextCrash = 0;
  private jobUntil = 0;
  private jobStatus: ServerStatus = "ACTIVE";
  private readyAt = 0;

  constructor(
    readonly serverId: string,
    private readonly crashes: readonly number[],
  ) {}

  /** Applies every crash scheduled up to `now`. */
  advance(now: number): void {
    while (this.nextCrash < this.crashes.length && (this.crashes[this.nextCrash] ?? 0) <= now) {
      this.crashedAt ??= this.crashes[this.nextCrash];
      this.nextCrash += 1;
    }
  }

  isCrashed(): boolean {
    return this.crashedAt !== undefined;
  }

  gateway(now: number): "ok" | "down" | "booting" {
    if (now < this.jobUntil) return "down";
    if (now < this.readyAt) return "booting";
    return this.crashedAt === undefined ? "ok" : "down";
  }

  server(now: number): ServerStatus {
    return now < this.jobUntil ? this.jobStatus : "ACTIVE";
  }

  restart(now: number, action: string, jobMs: number, status: ServerStatus): void {
    this.actions.push({ at: now, action, wrong: this.crashedAt === undefined });
    // Restarting the box restarts the gateway process: the crash is healed by the boot.
    this.crashedAt = undefined;
    this.jobUntil = now + jobMs;
    this.jobStatus = status;
    this.readyAt = now + Math.max(jobMs, SIM_TIMINGS.bootDelayMs);
  }
}

/** A network failure as the probes see one (a code they read as unreachable and retry). */
function lost(): Error {
  return Object.assign(new Error("connect ECONNRESET (simulated probe loss)"), {
    code: "ECONNRESET",
  });
}

/** The Compute port over the simulated box: records every action; ShowServer loses `loss`. */
export function simCompute(
  box: SimBox,
  clock: () => number,
  random: () => number,
  loss: number,
): Compute {
  const job = () => ({ jobId: `job-${box.actions.length}` });
  return {
    async showServer(serverId): Promise<ServerInfo> {
      if (random() < loss) throw lost();
      return { id: serverId, name: "sim", status: box.server(clock()) };
    },
    async start() {
      box.restart(clock(), "start", 20_000, "ACTIVE");
      return job();
    },
    async reboot(_id, type) {
      const soft = type === "SOFT";
      box.restart(
        clock(),
        soft ? "soft-reboot" : "hard-reboot",
        soft ? SIM_TIMINGS.softRebootJobMs : SIM_TIMINGS.hardRebootJobMs,
        soft ? "REBOOT" : "HARD_REBOOT",
      );
      return job();
    },
    async reinstall() {
      box.restart(clock(), "rebootstrap", SIM_TIMINGS.reinstallJobMs, "REBUILD");
      return job();
    },
    async showJob(jobId) {
      return { id: jobId, status: "SUCCESS" };
    },
  };
}

export interface ObserveCounts {
  /** Chat completions asked of MaaS (attempts, retries included). */
  completions: number;
}

/**
 * The probes of observe.ts against the simulated box: the same order (server shown when due or
 * when the gateway is not ok) and the real one-retry rule (`withOneRetry`, and `probeServer`
 * itself). Each attempt is lost with probability `loss`, independently; the retry pause is 0
 * because the simulated clock does not move inside a cycle.
 */
export function simObserve(
  box: SimBox,
  compute: Compute,
  clock: () => number,
  random: () => number,
  loss: number,
  counts: ObserveCounts,
) {
  return async (config: BoxConfig, plan: ObservePlan): Promise<Observations> => {
    const now = clock();
    box.advance(now);
    const gateway = await withOneRetry(
      async () => gatewayAttempt(box.gateway(now), random() < loss),
      (r) => r.status === "down" || r.status === "booting",
      0,
    );
    const maas = await withOneRetry(
      async () => {
        if (plan.completionDue) counts.completions += 1;
        return maasAttempt(plan.completionDue, random() < loss);
      },
      (r) => r.status === "down",
      0,
    );
    const telegram = await withOneRetry(
      async () => telegramAttempt(random() < loss),
      (r) => r.status === "down",
      0,
    );
    const observations: Observations = { gateway, maas, telegram, watchdogErrors: [] };
    if (plan.serverDue || gateway.status !== "ok") {
      observations.server = await probeServer(compute, config.serverId, {
        timeoutMs: 8_000,
        retryDelayMs: 0,
      });
    }
    return observations;
  };
}

function gatewayAttempt(state: "ok" | "down" | "booting", isLost: boolean): GatewayResult {
  if (isLost) {
    return {
      status: "down",
      latencyMs: 5_000,
      detail: "no answer within 5000 ms (simulated loss)",
      failing: [],
      unreachable: true,
    };
  }
  if (state === "down") {
    return {
      status: "down",
      latencyMs: 1,
      detail: "connection refused",
      failing: [],
      unreachable: true,
    };
  }
  if (state === "booting") {
    return {
      status: "booting",
      latencyMs: 2,
      detail: "gateway starting (startup-sidecars)",
      failing: ["startup-sidecars"],
      httpStatus: 503,
    };
  }
  return { status: "ok", latencyMs: 2, detail: "ready", failing: [], httpStatus: 200 };
}

function maasAttempt(completion: boolean, isLost: boolean): MaasResult {
  const checked = completion ? "completion" : "models";
  if (isLost) {
    return {
      status: "down",
      latencyMs: 10_000,
      detail: "no answer within 10000 ms (simulated loss)",
      checked,
      unreachable: true,
    };
  }
  return { status: "ok", latencyMs: 3, detail: "model listed", checked };
}

function telegramAttempt(isLost: boolean): TelegramResult {
  if (isLost) {
    return {
      status: "down",
      latencyMs: 5_000,
      detail: "no answer within 5000 ms (simulated loss)",
      unreachable: true,
    };
  }
  return { status: "ok", latencyMs: 3, detail: "bot ok", pendingUpdateCount: 0 };
}
