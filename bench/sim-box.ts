import type { Compute, ServerInfo } from "../shared/cloud/compute";
import type { BoxConfig } from "../shared/config";
import { PROBE_INFO } from "../shared/probes/catalog";
import { withOneRetry } from "../shared/probes/http";
import type { ParallelProbe } from "../shared/probes/registry";
import { probeServer } from "../shared/probes/server";
import type {
  GatewayResult,
  MaasResult,
  Observations,
  ProbeResults,
  ServerStatus,
  TelegramResult,
} from "../shared/probes/types";
import type { ObservePlan } from "../shared/watchdog/ports";

/** Real-world durations of the local ECS (ecs-model.ts), the gateway's unit and its start. */
export const SIM_TIMINGS = {
  /** From the reboot request until the gateway answers /readyz ready. */
  bootDelayMs: 2 * 60_000,
  softRebootJobMs: 40_000,
  hardRebootJobMs: 20_000,
  reinstallJobMs: 180_000,
  /** The unit's RestartSec=5 (infra/bootstrap/installed-files.ts). */
  restartSecMs: 5_000,
  /** From the process start: listening (503 startup-sidecars), then ready (25–35 s on 2 cores). */
  listenMs: 8_000,
  readyMs: 30_000,
  /** A crash-looping gateway dies this long after it listens. */
  loopRunMs: 3_000,
  /** oom-every: a kill this often, for this long. */
  oomEveryMs: 20 * 60_000,
  oomEpisodeMs: 3 * 60 * 60_000,
  /** exit-config: a human fixes the config this long after it broke. */
  humanFixMs: 2 * 60 * 60_000,
} as const;

/**
 * What can happen to the gateway (issue 22): a crash systemd heals; OOM kills every few minutes,
 * each healed; a crash loop; a hang (SIGSTOP); a failed unit (exit 78, a config problem).
 */
export const FAULT_CLASSES = ["crash", "oom-every", "crash-loop", "hang", "exit-config"] as const;
export type FaultClass = (typeof FAULT_CLASSES)[number];

export interface SimFault {
  readonly at: number;
  readonly kind: FaultClass;
}

export interface SimAction {
  at: number;
  action: string;
  /** Nothing systemd could not heal was wrong with the gateway when the action was asked for. */
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

export type SimGateway =
  | { state: "ok" | "booting"; startedAt: number }
  | { state: "refused" | "hung" | "rebooting" };

/**
 * One watched box on a simulated clock, its gateway run by a systemd-like unit: a crash or a kill
 * is restarted after RestartSec and is ready `readyMs` later; a crash loop dies again after every
 * start; a hang is never restarted; exit 78 stays down. A reboot (any action) shows REBOOT for the
 * job's duration and starts the gateway afresh; it cures a loop and a hang, not a config.
 */
export type SimTimings = { readonly [K in keyof typeof SIM_TIMINGS]: number };

export class SimBox {
  readonly actions: SimAction[] = [];
  private nextFault = 0;
  /** The current process started here (it may still be booting). */
  private startedAt: number;
  private mode: "normal" | "loop" | "hung" | "config" = "normal";
  private loopSince = 0;
  private configFixAt = 0;
  private oomUntil = 0;
  private nextOom = 0;
  private jobUntil = 0;
  private jobStatus: ServerStatus = "ACTIVE";

  constructor(
    readonly serverId: string,
    private readonly faults: readonly SimFault[],
    start: number,
    private readonly t: SimTimings = SIM_TIMINGS,
  ) {
    this.startedAt = start - 24 * 60 * 60_000;
  }

  /** Applies every fault (and every OOM kill, and the human's config fix) due by `now`. */
  advance(now: number): void {
    for (;;) {
      const fault = this.faults[this.nextFault];
      const oomAt = this.nextOom < this.oomUntil ? this.nextOom : Number.POSITIVE_INFINITY;
      const fixAt = this.mode === "config" ? this.configFixAt : Number.POSITIVE_INFINITY;
      const at = Math.min(fault?.at ?? Number.POSITIVE_INFINITY, oomAt, fixAt);
      if (at > now) return;
      if (at === fixAt) {
        this.mode = "normal";
        this.startedAt = at;
      } else if (at === oomAt) {
        this.nextOom += this.t.oomEveryMs;
        this.kill(at);
      } else if (fault) {
        this.nextFault += 1;
        this.inject(fault);
      }
    }
  }

  private inject(fault: SimFault): void {
    switch (fault.kind) {
      case "crash":
        this.kill(fault.at);
        return;
      case "oom-every":
        this.oomUntil = fault.at + this.t.oomEpisodeMs;
        this.nextOom = fault.at + this.t.oomEveryMs;
        this.kill(fault.at);
        return;
      case "crash-loop":
        this.mode = "loop";
        this.loopSince = fault.at;
        return;
      case "hang":
        this.mode = "hung";
        return;
      case "exit-config":
        this.mode = "config";
        this.configFixAt = fault.at + this.t.humanFixMs;
        return;
    }
  }

  /** The process dies; systemd starts the next one RestartSec later. */
  private kill(at: number): void {
    if (this.mode === "normal") this.startedAt = at + this.t.restartSecMs;
  }

  /** Something systemd cannot heal is wrong with the gateway. */
  isBroken(): boolean {
    return this.mode !== "normal";
  }

  gateway(now: number): SimGateway {
    if (now < this.jobUntil) return { state: "rebooting" };
    switch (this.mode) {
      case "hung":
        return { state: "hung" };
      case "config":
        return { state: "refused" };
      case "loop": {
        const { restartSecMs, listenMs, loopRunMs } = this.t;
        const period = restartSecMs + listenMs + loopRunMs;
        const phase = (now - this.loopSince) % period;
        if (phase < restartSecMs + listenMs) return { state: "refused" };
        return { state: "booting", startedAt: now - (phase - restartSecMs) };
      }
      case "normal": {
        const uptime = now - this.startedAt;
        if (uptime < this.t.listenMs) return { state: "refused" };
        const state = uptime < this.t.readyMs ? "booting" : "ok";
        return { state, startedAt: this.startedAt };
      }
    }
  }

  server(now: number): ServerStatus {
    return now < this.jobUntil ? this.jobStatus : "ACTIVE";
  }

  restart(now: number, action: string, jobMs: number, status: ServerStatus): void {
    this.actions.push({ at: now, action, wrong: !this.isBroken() });
    // A reboot starts a fresh gateway: it cures a loop and a hang, not a broken config.
    if (this.mode !== "config") this.mode = "normal";
    this.jobUntil = now + jobMs;
    this.jobStatus = status;
    this.startedAt = now + Math.max(jobMs, this.t.bootDelayMs) - this.t.readyMs;
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
      async () => gatewayAttempt(box.gateway(now), now, random() < loss),
      (r) => r.status === "down" || r.status === "booting",
      0,
    );
    const observations: Observations = { gateway, watchdogErrors: [] };
    // One simulated attempt per parallel probe of registry.ts (a new one is a compile error here),
    // asked one after another so the random draws keep their order.
    const parallel = {
      maas: () =>
        withOneRetry(
          async () => {
            if (plan.completionDue) counts.completions += 1;
            return maasAttempt(plan.completionDue, random() < loss);
          },
          (r) => r.status === "down",
          0,
        ),
      telegram: () =>
        withOneRetry(
          async () => telegramAttempt(random() < loss),
          (r) => r.status === "down",
          0,
        ),
    } satisfies { [P in ParallelProbe]: () => Promise<ProbeResults[P]> };
    for (const name of Object.keys(parallel) as ParallelProbe[]) {
      Object.assign(observations, { [name]: await parallel[name]() });
    }
    if (plan.serverDue || gateway.status !== "ok") {
      observations.server = await probeServer(compute, config.serverId, {
        timeoutMs: PROBE_INFO.server.timeoutMs,
        retryDelayMs: 0,
      });
    }
    return observations;
  };
}

function gatewayAttempt(gateway: SimGateway, now: number, isLost: boolean): GatewayResult {
  if (isLost) {
    return {
      status: "down",
      latencyMs: 5_000,
      detail: "no answer within 5000 ms (simulated loss)",
      failing: [],
      unreachable: true,
    };
  }
  if (gateway.state === "refused") {
    return {
      status: "down",
      latencyMs: 1,
      detail: "connection refused",
      failing: [],
      unreachable: true,
      refused: true,
    };
  }
  if (!("startedAt" in gateway)) {
    return {
      status: "down",
      latencyMs: 5_000,
      detail: "no answer within 5000 ms",
      failing: [],
      unreachable: true,
    };
  }
  // /readyz with the token carries uptimeMs; the probe turns it into the start time.
  const uptime = { uptimeMs: now - gateway.startedAt, startedAt: gateway.startedAt };
  if (gateway.state === "booting") {
    return {
      status: "booting",
      latencyMs: 2,
      detail: "gateway starting (startup-sidecars)",
      failing: ["startup-sidecars"],
      httpStatus: 503,
      ...uptime,
    };
  }
  return { status: "ok", latencyMs: 2, detail: "ready", failing: [], httpStatus: 200, ...uptime };
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
