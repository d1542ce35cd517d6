/**
 * What every emulated service in the local cloud offers to the control API.
 * A service answers `control(action, params)` for its own fault injections and views;
 * the control server routes `POST /<service>/<action>` here.
 */
export interface LocalService {
  readonly name: string;
  readonly url: string;
  control(action: string, params: Record<string, unknown>): Promise<unknown>;
  /** Clears every injected fault (not the data). */
  reset(): void;
  close(): Promise<void>;
}

export class ControlError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = "ControlError";
  }
}

/** Per-service latency and forced-error knobs shared by all emulators. */
export class ServiceFaults {
  latencyMs = 0;
  /** When set, every API request is answered with this HTTP status (e.g. 500, 503). */
  forcedStatus: number | undefined;
  /** How many more requests get `forcedStatus` (undefined = until reset). */
  forcedCount: number | undefined;

  apply(action: string, params: Record<string, unknown>): boolean {
    if (action === "latency") {
      this.latencyMs = Number(params.ms ?? 0);
      return true;
    }
    if (action === "error") {
      this.forcedStatus = Number(params.status ?? 500);
      this.forcedCount = params.count === undefined ? undefined : Number(params.count);
      return true;
    }
    return false;
  }

  /** Returns the status to force for this request, consuming one use. */
  takeForcedStatus(): number | undefined {
    if (this.forcedStatus === undefined) return undefined;
    const status = this.forcedStatus;
    if (this.forcedCount !== undefined) {
      this.forcedCount -= 1;
      if (this.forcedCount <= 0) this.reset();
    }
    return status;
  }

  reset(): void {
    this.latencyMs = 0;
    this.forcedStatus = undefined;
    this.forcedCount = undefined;
  }
}

/** Scales emulated durations (boot, jobs, timers): 1 = real time, 0.01 = 100x faster. */
export interface TimeScale {
  readonly factor: number;
  scale(ms: number): number;
}

export function timeScale(factor: number): TimeScale {
  return { factor, scale: (ms) => Math.max(1, Math.round(ms * factor)) };
}
