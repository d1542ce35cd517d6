import type { GuestProcess } from "./ecs-guest";

/**
 * The gateway's systemd unit on an emulated box: the bootstrap installs it with `Restart=always`,
 * `RestartSec=5`, `RestartPreventExitStatus=78` (infra/bootstrap/installed-files.ts), and this
 * supervisor does to the guest what systemd does to the gateway. Every guest kind (the stand-in,
 * the real OpenClaw) runs under it.
 *
 * The systemd semantics relied on (systemd.service(5),
 * https://www.freedesktop.org/software/systemd/man/latest/systemd.service.html, and
 * systemd.unit(5) / systemd-system.conf(5) for the start limit):
 * - `Restart=always`: "the service will be restarted regardless of whether it exited cleanly or
 *   not, got terminated abnormally by a signal, or hit a timeout". So exit 0 restarts too (OpenClaw
 *   exits 0 after some config changes), and so does SIGKILL (the OOM killer). "When the death of
 *   the process is a result of systemd operation (e.g. service stop or restart), the service will
 *   not be restarted": a stop, a shutdown or a reboot of the VM is no crash.
 * - `RestartSec=5`: "the time to sleep before restarting a service". Scaled here by the local
 *   cloud's time scale, like every other emulated duration.
 * - `RestartPreventExitStatus=78`: exit statuses that "will prevent automatic service restarts,
 *   regardless of the restart setting". The unit stays failed (Result=exit-code) until someone
 *   starts it again; a reboot starts it again (the unit is WantedBy=multi-user.target).
 * - Start rate limit: `StartLimitIntervalSec=`/`StartLimitBurst=` default to
 *   DefaultStartLimitIntervalSec=10s and DefaultStartLimitBurst=5; the unit sets neither. With
 *   RestartSec=5 it cannot start more than 3 times in 10 s, so the limit is never hit and a crash
 *   loop is restarted forever. Not modelled, because it cannot trigger.
 * - A SIGSTOPped process has not exited: systemd sees nothing (the unit sets no WatchdogSec=),
 *   so a hang is never restarted.
 * - `NRestarts` (`systemctl show -p NRestarts`, systemd ≥ 235): the automatic restarts of the
 *   unit. Each boot starts the unit afresh, so here it counts per boot.
 * - Type=simple: the unit is "started" once the process is forked; a gateway that dies before
 *   it listens is one more exit, restarted like any other.
 */
export const GATEWAY_UNIT = { restartSecMs: 5_000, preventExitStatus: 78 } as const;

export type UnitState = "running" | "auto-restart" | "failed" | "stopped";

export interface UnitExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** ISO time of the exit. */
  readonly at: string;
}

/** A guest that died before it listened; carries its exit status for the unit. */
export class GuestExitedError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
    readonly signal: string | null,
  ) {
    super(message);
    this.name = "GuestExitedError";
  }
}

export interface GatewayUnitOptions {
  /** One run of ExecStart: resolves once the guest listens; rejects when it died first. */
  readonly exec: () => Promise<GuestProcess>;
  /** RestartSec, already scaled (wall-clock ms). */
  readonly restartSecMs: number;
  /** Each started guest (the box's faults hook in here). */
  readonly onStarted?: (guest: GuestProcess) => void;
  /** Each exit, whether or not a restart follows. */
  readonly onExit?: (exit: UnitExit, guest: GuestProcess | undefined) => void;
}

export class GatewayUnit {
  state: UnitState = "stopped";
  /** Automatic restarts since this unit (this boot) started. */
  nRestarts = 0;
  lastExit: UnitExit | undefined;
  guest: GuestProcess | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Bumped by every start and stop, so a late exit of an old run changes nothing. */
  private run = 0;

  constructor(private readonly options: GatewayUnitOptions) {}

  /** `systemctl start`: resolves after the first ExecStart, whether or not the guest survived it. */
  async start(): Promise<void> {
    this.cancelRestart();
    await this.exec(++this.run);
  }

  /** `systemctl stop` (or the VM going down): no restart follows. */
  async stop(stopGuest: (guest: GuestProcess) => Promise<void>): Promise<void> {
    this.run += 1;
    this.cancelRestart();
    this.state = "stopped";
    const guest = this.guest;
    if (guest) await stopGuest(guest);
  }

  private async exec(run: number): Promise<void> {
    this.state = "running";
    let guest: GuestProcess;
    try {
      guest = await this.options.exec();
    } catch (error) {
      if (run !== this.run) return;
      const died = error instanceof GuestExitedError ? error : undefined;
      // A guest that never listened in time was killed by its launcher.
      this.exited(run, undefined, died?.code ?? null, died ? died.signal : "SIGKILL");
      return;
    }
    if (run !== this.run) {
      await guest.kill();
      return;
    }
    this.guest = guest;
    void guest.exited.then(() => {
      const status = guest.exitStatus();
      this.exited(run, guest, status.code, status.signal);
    });
    this.options.onStarted?.(guest);
  }

  private exited(
    run: number,
    guest: GuestProcess | undefined,
    code: number | null,
    signal: string | null,
  ): void {
    if (guest && this.guest === guest) this.guest = undefined;
    const exit: UnitExit = { code, signal, at: new Date().toISOString() };
    if (run !== this.run) return;
    this.lastExit = exit;
    this.options.onExit?.(exit, guest);
    if (code === GATEWAY_UNIT.preventExitStatus) {
      this.state = "failed";
      return;
    }
    this.state = "auto-restart";
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (run !== this.run) return;
      this.nRestarts += 1;
      void this.exec(run);
    }, this.options.restartSecMs);
  }

  private cancelRestart(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** How `systemctl status` would put the last exit: "exit 78", "killed (SIGKILL)", "exit 0". */
export function describeExit(exit: UnitExit | undefined): string | undefined {
  if (!exit) return undefined;
  if (exit.signal) return `killed (${exit.signal})`;
  return `exit ${exit.code ?? "?"}`;
}
