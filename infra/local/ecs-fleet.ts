import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { allocatePort, type GuestLauncher, type GuestProcess } from "./ecs-guest";
import {
  ECS_TIMINGS,
  EcsApiError,
  type GuestSettings,
  type JobRecord,
  jobTime,
  type ServerRecord,
  type ServerStatus,
  type SubJobRecord,
  serverNotFound,
  serverTime,
  wrongState,
} from "./ecs-model";
import { GATEWAY_UNIT, GatewayUnit } from "./ecs-unit";
import type { GuestConfig } from "./guest/guest-config";
import type { TimeScale } from "./service";

/** How long a crash-looping gateway runs after it listens before it dies again (real-world ms). */
export const CRASH_LOOP_AFTER_MS = 3_000;

/**
 * The servers, their state machine, their async jobs and their guests.
 * Requests are validated synchronously (so a conflict is a 409 at once); the work runs as a job.
 */

export interface FleetOptions {
  readonly time: TimeScale;
  readonly dataDir: string;
  /** Starts the guests: the stand-in or the real gateway. */
  readonly launcher: GuestLauncher;
  readonly guest: GuestSettings;
}

export interface NewServerSpec {
  readonly name: string;
  readonly flavorRef: string;
  readonly imageRef: string;
  readonly metadata: Record<string, string>;
  /** server_tags as `key=value`, the way ShowServer lists them. */
  readonly tags?: readonly string[];
  /** security_groups[].id of the create request. */
  readonly securityGroupIds?: readonly string[];
  readonly userData: string;
  /** The key pair for SSH logins (`key_name`); "" when the server has none. */
  readonly keyName?: string;
  readonly guest?: Partial<GuestSettings>;
}

/** Thrown into running jobs when the emulator closes, so they stop quietly. */
class EmulatorClosedError extends Error {
  constructor() {
    super("the ECS emulator was closed");
    this.name = "EmulatorClosedError";
  }
}

const STATES: Record<ServerStatus, { vmState: string; powerState: number }> = {
  BUILD: { vmState: "building", powerState: 0 },
  ACTIVE: { vmState: "active", powerState: 1 },
  SHUTOFF: { vmState: "stopped", powerState: 4 },
  REBOOT: { vmState: "active", powerState: 1 },
  HARD_REBOOT: { vmState: "active", powerState: 1 },
  REBUILD: { vmState: "active", powerState: 4 },
  ERROR: { vmState: "error", powerState: 0 },
  DELETED: { vmState: "deleted", powerState: 0 },
};

export class Fleet {
  private readonly servers = new Map<string, ServerRecord>();
  private readonly jobs = new Map<string, JobRecord>();
  private readonly pending = new Set<{ timer: NodeJS.Timeout; reject: (e: Error) => void }>();
  private closed = false;

  constructor(private readonly options: FleetOptions) {}

  // ---- lookups ------------------------------------------------------------------------------

  get(id: string): ServerRecord {
    const server = this.servers.get(id);
    if (!server) throw serverNotFound(id);
    return server;
  }

  all(): ServerRecord[] {
    return [...this.servers.values()];
  }

  job(id: string): JobRecord {
    const job = this.jobs.get(id);
    if (!job) {
      throw new EcsApiError(
        404,
        "Ecs.0104",
        `Job ${id} does not exist. Use the job_id an operation returned.`,
      );
    }
    return job;
  }

  gatewayUrl(server: ServerRecord): string {
    return `http://127.0.0.1:${server.gatewayPort}`;
  }

  guestConfig(server: ServerRecord): GuestConfig {
    const { guestSettings: g } = server;
    return {
      port: server.gatewayPort,
      gatewayToken: g.gatewayToken,
      telegramBotToken: g.telegramBotToken,
      telegramApiRoot: g.telegramApiRoot,
      maasBaseUrl: g.maasBaseUrl,
      maasApiKey: g.maasApiKey,
      model: g.model,
      bootMs: g.bootMs,
      connectGraceMs: g.connectGraceMs,
      systemDir: this.systemDir(server),
      dataDir: this.dataDirOf(server),
    };
  }

  // ---- API operations -----------------------------------------------------------------------

  start(ids: readonly string[]): string {
    const servers = this.claim(ids, "start", (s) => s.status === "SHUTOFF");
    for (const s of servers) this.setTask(s, "powering-on");
    return this.runJob("batchStartServers", "startServer", servers, async (s) => {
      await this.pause(this.scaled("start"));
      await this.boot(s);
    });
  }

  stop(ids: readonly string[], hard: boolean): string {
    const servers = this.claim(ids, "stop", (s) => s.status === "ACTIVE");
    for (const s of servers) this.setTask(s, "powering-off");
    return this.runJob("batchStopServers", "stopServer", servers, async (s) => {
      const until = Date.now() + this.scaled("stop");
      await this.stopGuest(s, hard);
      await this.pauseUntil(until);
      this.setStatus(s, "SHUTOFF");
    });
  }

  reboot(ids: readonly string[], hard: boolean): string {
    // Like Nova, a hard reboot also rescues a server in ERROR.
    const servers = this.claim(
      ids,
      "reboot",
      (s) => s.status === "ACTIVE" || (hard && s.status === "ERROR"),
    );
    for (const s of servers) {
      this.setStatus(s, hard ? "HARD_REBOOT" : "REBOOT", hard ? "rebooting_hard" : "rebooting");
    }
    return this.runJob("batchRebootServers", "rebootServer", servers, async (s) => {
      const until = Date.now() + this.scaled(hard ? "hardReboot" : "softReboot");
      await this.stopGuest(s, hard);
      await this.pauseUntil(until);
      await this.boot(s);
    });
  }

  reinstall(id: string, userData: string, withStopServer: boolean, keyName: string): string {
    const [server] = this.claim([id], "reinstall the OS of", (s) =>
      s.status === "ACTIVE" ? withStopServer : s.status === "SHUTOFF" || s.status === "ERROR",
    );
    if (!server) throw serverNotFound(id);
    const stopFirst = server.status === "ACTIVE";
    if (stopFirst) this.setTask(server, "powering-off");
    else this.setStatus(server, "REBUILD", "rebuilding");
    return this.runJob("reinstallOS", "reinstallOS", [server], async (s) => {
      const until = Date.now() + this.scaled("reinstall");
      if (stopFirst) {
        const stopped = Date.now() + this.scaled("stop");
        await this.stopGuest(s, false);
        await this.pauseUntil(stopped);
        this.setStatus(s, "SHUTOFF");
        this.setStatus(s, "REBUILD", "rebuilding");
      } else await this.stopGuest(s, true);
      // The system disk is rebuilt from the image; the data disk stays as it is.
      rmSync(this.systemDir(s), { recursive: true, force: true });
      s.userData = userData;
      // The reinstalled OS gets the login this request names and no other: without keyname
      // (and no adminpass) the box has no SSH key any more (issue 19; ReinstallServerWithCloudInit,
      // ecs_02_0201: keyname/adminpass set the new system's login).
      s.keyName = keyName;
      this.runBootstrap(s);
      await this.pauseUntil(until);
      await this.boot(s);
    });
  }

  async create(specs: readonly NewServerSpec[]): Promise<{ jobId: string; serverIds: string[] }> {
    const servers: ServerRecord[] = [];
    for (const spec of specs) {
      const server = await this.newServer(spec, "BUILD");
      this.setTask(server, "spawning");
      servers.push(server);
    }
    for (const s of servers) s.jobId = "pending";
    const jobId = this.runJob("createServer", "createSingleServer", servers, async (s) => {
      await this.pause(this.scaled("create"));
      this.runBootstrap(s);
      await this.boot(s);
      s.launchedAt = serverTime();
    });
    return { jobId, serverIds: servers.map((s) => s.id) };
  }

  delete(ids: readonly string[], deleteVolume: boolean): string {
    const servers = this.claim(ids, "delete", (s) => s.status !== "DELETED");
    for (const s of servers) this.setTask(s, "deleting");
    return this.runJob("deleteServer", "deleteSingleServer", servers, async (s) => {
      await this.stopGuest(s, true);
      await this.pause(this.scaled("delete"));
      rmSync(this.systemDir(s), { recursive: true, force: true });
      if (deleteVolume) rmSync(this.dataDirOf(s), { recursive: true, force: true });
      this.setStatus(s, "DELETED");
      s.terminatedAt = serverTime();
    });
  }

  // ---- outside the API: seeding and fault injection -----------------------------------------

  /** An ACTIVE server with a running guest, at once (the box that exists before the test). */
  async seed(spec: NewServerSpec): Promise<ServerRecord> {
    const server = await this.newServer(spec, "ACTIVE");
    server.launchedAt = server.created;
    this.runBootstrap(server);
    await this.boot(server);
    return server;
  }

  /** SIGKILL, as the OOM killer does; the unit restarts the gateway after RestartSec. */
  async killGuest(server: ServerRecord): Promise<void> {
    await server.guest?.kill();
  }

  /** One crash (SIGABRT, as an abort or a fatal V8 error ends Node); the unit heals it. */
  async crash(server: ServerRecord): Promise<void> {
    const guest = this.runningGuest(server);
    guest.signal("SIGABRT");
    await guest.exited;
  }

  /** From now on every start dies `afterMs` after it listens; the current run dies now. */
  async crashLoop(server: ServerRecord, afterMs: number | undefined): Promise<void> {
    server.guestFaults.crashLoopAfterMs = afterMs ?? this.options.time.scale(CRASH_LOOP_AFTER_MS);
    const guest = server.guest;
    if (guest?.running) {
      guest.signal("SIGABRT");
      await guest.exited;
    }
  }

  /**
   * The config breaks and the gateway is told to restart (OpenClaw exits 0 after some config
   * changes; SIGTERM makes it exit 0 too): the unit restarts it, and that start exits 78.
   */
  async breakConfig(server: ServerRecord): Promise<void> {
    server.guestFaults.exitConfig = true;
    const guest = server.guest;
    if (guest?.running) {
      guest.signal("SIGTERM");
      await guest.exited;
    }
  }

  /** SIGKILL every `everyMs` (wall-clock), whatever runs then: memory that keeps growing. */
  oomEvery(server: ServerRecord, everyMs: number): void {
    const faults = server.guestFaults;
    if (faults.oomTimer) clearInterval(faults.oomTimer);
    faults.oomEveryMs = everyMs;
    faults.oomTimer = setInterval(() => server.guest?.signal("SIGKILL"), everyMs);
    faults.oomTimer.unref();
  }

  /** Undoes crash-loop, exit-config and oom-every; a failed unit is started again (`systemctl restart`). */
  async heal(server: ServerRecord): Promise<void> {
    const faults = server.guestFaults;
    if (faults.oomTimer) clearInterval(faults.oomTimer);
    Object.assign(faults, {
      crashLoopAfterMs: undefined,
      exitConfig: false,
      oomEveryMs: undefined,
      oomTimer: undefined,
    });
    const unit = server.unit;
    if (unit?.state === "failed" && server.status === "ACTIVE") await unit.start();
  }

  hangGuest(server: ServerRecord, hung: boolean): void {
    const guest = this.runningGuest(server);
    guest.signal(hung ? "SIGSTOP" : "SIGCONT");
    server.hung = hung;
  }

  async setPolling(server: ServerRecord, stalled: boolean): Promise<void> {
    await this.runningGuest(server).command({ type: stalled ? "stall-polling" : "resume-polling" });
    server.pollingStalled = stalled;
  }

  /** Forces a status; SHUTOFF and ERROR take the guest down, ACTIVE brings it up. */
  async forceStatus(server: ServerRecord, status: "ACTIVE" | "SHUTOFF" | "ERROR"): Promise<void> {
    if (server.status === "DELETED") {
      throw new EcsApiError(
        409,
        "LOCAL.DELETED",
        `server ${server.id} is deleted; seed or create a new one`,
      );
    }
    if (status === "ACTIVE") {
      server.fault = undefined;
      if (!server.guest?.running) await this.boot(server);
      else this.setStatus(server, "ACTIVE");
      return;
    }
    await this.stopGuest(server, status === "ERROR");
    if (status === "ERROR") server.fault = "Injected fault: the hypervisor reported an error";
    this.setStatus(server, status);
  }

  /** Synchronous last resort for process exit: a SIGSTOPped guest would never see the IPC close. */
  killAllNow(): void {
    for (const server of this.servers.values()) {
      if (server.guestFaults.oomTimer) clearInterval(server.guestFaults.oomTimer);
      void server.unit?.stop(async () => undefined);
      server.guest?.signal("SIGKILL");
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(new EmulatorClosedError());
    }
    this.pending.clear();
    for (const server of this.all()) {
      if (server.guestFaults.oomTimer) clearInterval(server.guestFaults.oomTimer);
    }
    await Promise.all(this.all().map((s) => this.stopGuest(s, true)));
    await this.options.launcher.close?.();
  }

  // ---- internals ------------------------------------------------------------------------------

  private async newServer(spec: NewServerSpec, status: ServerStatus): Promise<ServerRecord> {
    const taken = new Set(this.all().map((s) => s.gatewayPort));
    const now = serverTime();
    const server: ServerRecord = {
      id: randomUUID(),
      name: spec.name,
      status,
      ...STATES[status],
      taskState: null,
      created: now,
      updated: now,
      launchedAt: "",
      terminatedAt: "",
      flavorRef: spec.flavorRef,
      imageRef: spec.imageRef,
      metadata: { ...spec.metadata },
      tags: [...(spec.tags ?? [])],
      securityGroupIds: [...(spec.securityGroupIds ?? [])],
      userData: spec.userData,
      keyName: spec.keyName ?? "",
      bootstrapRuns: 0,
      gatewayPort: await allocatePort(taken),
      guestSettings: { ...this.options.guest, ...definedOnly(spec.guest ?? {}) },
      guest: undefined,
      unit: undefined,
      guestFaults: {
        crashLoopAfterMs: undefined,
        exitConfig: false,
        oomEveryMs: undefined,
        oomTimer: undefined,
      },
      boots: 0,
      pollingStalled: false,
      hung: false,
      jobId: undefined,
      fault: undefined,
    };
    mkdirSync(this.dataDirOf(server), { recursive: true });
    this.servers.set(server.id, server);
    return server;
  }

  /** Checks every server first so a batch is all-or-nothing, then marks them busy. */
  private claim(
    ids: readonly string[],
    operation: string,
    allowed: (server: ServerRecord) => boolean,
  ): ServerRecord[] {
    const servers = ids.map((id) => this.get(id));
    for (const server of servers) {
      if (server.jobId !== undefined || !allowed(server)) throw wrongState(server, operation);
    }
    for (const server of servers) server.jobId = "pending";
    return servers;
  }

  private runJob(
    type: string,
    subType: string,
    servers: readonly ServerRecord[],
    work: (server: ServerRecord) => Promise<void>,
  ): string {
    const begin = jobTime();
    const subJobs: SubJobRecord[] = servers.map((s) => ({
      id: newJobId(),
      type: subType,
      serverId: s.id,
      status: "INIT",
      beginTime: begin,
      endTime: "",
      errorCode: null,
      failReason: null,
    }));
    const job: JobRecord = {
      id: newJobId(),
      type,
      status: "INIT",
      beginTime: begin,
      endTime: "",
      errorCode: null,
      failReason: null,
      subJobs,
    };
    this.jobs.set(job.id, job);
    for (const s of servers) s.jobId = job.id;
    void this.execute(job, servers, work);
    return job.id;
  }

  private async execute(
    job: JobRecord,
    servers: readonly ServerRecord[],
    work: (server: ServerRecord) => Promise<void>,
  ): Promise<void> {
    try {
      await this.pause(this.scaled("queue"));
    } catch {
      return;
    }
    job.status = "RUNNING";
    for (const sub of job.subJobs) sub.status = "RUNNING";
    const results = await Promise.all(
      servers.map(async (server, i) => {
        const sub = job.subJobs[i] as SubJobRecord;
        try {
          await work(server);
          sub.status = "SUCCESS";
        } catch (error) {
          if (error instanceof EmulatorClosedError) return "closed";
          const reason = error instanceof Error ? error.message : String(error);
          sub.status = "FAIL";
          sub.errorCode = "Ecs.0002";
          sub.failReason = reason;
          server.fault = reason;
          this.setStatus(server, "ERROR");
        } finally {
          sub.endTime = jobTime();
          if (server.jobId === job.id) server.jobId = undefined;
        }
        return sub.status;
      }),
    );
    if (results.includes("closed")) return;
    const failed = job.subJobs.find((sub) => sub.status === "FAIL");
    job.status = failed ? "FAIL" : "SUCCESS";
    job.errorCode = failed?.errorCode ?? null;
    job.failReason = failed?.failReason ?? null;
    job.endTime = jobTime();
  }

  /**
   * The VM comes up: a fresh gateway unit starts the guest and the server is ACTIVE, whether or
   * not the gateway survives its start (a failed unit does not fail the boot).
   */
  private async boot(server: ServerRecord): Promise<void> {
    if (this.closed) throw new EmulatorClosedError();
    await this.stopGuest(server, true);
    const unit = new GatewayUnit({
      restartSecMs: this.options.time.scale(GATEWAY_UNIT.restartSecMs),
      exec: () =>
        this.options.launcher.launch({
          config: this.guestConfig(server),
          serverDir: this.serverDir(server),
          consolePath: join(this.serverDir(server), "console.log"),
          brokenConfig: server.guestFaults.exitConfig,
        }),
      onStarted: (guest) => this.adopt(server, guest),
      onExit: (_exit, guest) => {
        if (guest !== undefined && server.guest !== guest) return;
        server.guest = undefined;
        server.hung = false;
      },
    });
    server.unit = unit;
    server.boots += 1;
    await unit.start();
    if (this.closed) {
      await this.stopGuest(server, true);
      throw new EmulatorClosedError();
    }
    this.setStatus(server, "ACTIVE");
    server.fault = undefined;
  }

  /** Each start of the gateway: a fresh polling state; a crash loop arms its next crash. */
  private adopt(server: ServerRecord, guest: GuestProcess): void {
    server.guest = guest;
    server.pollingStalled = false;
    server.hung = false;
    const after = server.guestFaults.crashLoopAfterMs;
    if (after !== undefined) setTimeout(() => guest.signal("SIGABRT"), after).unref();
  }

  /** `systemctl stop` as the VM goes down: SIGTERM (then SIGKILL after the grace), or SIGKILL. */
  private async stopGuest(server: ServerRecord, hard: boolean): Promise<void> {
    const unit = server.unit;
    if (!unit) return;
    await unit.stop((guest) => (hard ? guest.kill() : guest.stop(this.scaled("softStopGrace"))));
  }

  private runningGuest(server: ServerRecord): GuestProcess {
    const guest = server.guest;
    if (!guest?.running) {
      throw new EcsApiError(
        409,
        "LOCAL.NO_GUEST",
        `server ${server.id} has no running guest (status ${server.status}); start or reboot it first`,
      );
    }
    return guest;
  }

  /** The stand-in's "cloud-init": record the user_data and count the runs. */
  private runBootstrap(server: ServerRecord): void {
    server.bootstrapRuns += 1;
    const dir = this.systemDir(server);
    mkdirSync(dir, { recursive: true });
    const script = Buffer.from(server.userData, "base64");
    writeFileSync(join(dir, "user-data.sh"), script, { mode: 0o700 });
    const record = {
      runCount: server.bootstrapRuns,
      lastRunAt: serverTime(),
      userDataBytes: script.length,
      userDataSha256: createHash("sha256").update(script).digest("hex"),
    };
    writeFileSync(join(dir, "bootstrap.json"), `${JSON.stringify(record, null, 2)}\n`);
  }

  private setStatus(
    server: ServerRecord,
    status: ServerStatus,
    taskState: string | null = null,
  ): void {
    server.status = status;
    server.vmState = STATES[status].vmState;
    server.powerState = STATES[status].powerState;
    server.taskState = taskState;
    server.updated = serverTime();
  }

  private setTask(server: ServerRecord, taskState: string): void {
    server.taskState = taskState;
    server.updated = serverTime();
  }

  private scaled(key: keyof typeof ECS_TIMINGS): number {
    return this.options.time.scale(ECS_TIMINGS[key]);
  }

  private pauseUntil(deadline: number): Promise<void> {
    return this.pause(Math.max(0, deadline - Date.now()));
  }

  private pause(ms: number): Promise<void> {
    if (this.closed) return Promise.reject(new EmulatorClosedError());
    return new Promise((resolve, reject) => {
      const entry = {
        timer: setTimeout(() => {
          this.pending.delete(entry);
          resolve();
        }, ms),
        reject,
      };
      this.pending.add(entry);
    });
  }

  private serverDir(server: ServerRecord): string {
    return join(this.options.dataDir, "servers", server.id);
  }

  private systemDir(server: ServerRecord): string {
    return join(this.serverDir(server), "system");
  }

  private dataDirOf(server: ServerRecord): string {
    return join(this.serverDir(server), "data");
  }
}

function newJobId(): string {
  return randomBytes(16).toString("hex");
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
