import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  closeSync,
  type Dirent,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { gatewayEnvironment, openclawPaths, renderOpenclawConfig } from "../../openclaw/config";
import { type OpenclawInstall, requireOpenclawInstall } from "../../openclaw/install";
import { type GuestBoot, type GuestLauncher, GuestProcess } from "../ecs-guest";
import { GuestExitedError } from "../ecs-unit";
import { sleep } from "../http";
import type { GuestConfig } from "./guest-config";
import { startTelegramRelay, type TelegramRelay } from "./openclaw-telegram-relay";
import type { GuestCommand } from "./protocol";

/**
 * The real OpenClaw gateway as an ECS server's guest: `node24 openclaw.mjs gateway run`, with its
 * openclaw.json rendered by infra/openclaw/config.ts (the bootstrap's renderer, target "local") and every
 * file it writes kept in the server's folders:
 *
 *   servers/<id>/system/openclaw/   OPENCLAW_STATE_DIR: openclaw.json, logs/openclaw.log, sqlite
 *   servers/<id>/system/home/       HOME           (wiped by a reinstall, like the state dir)
 *   servers/<id>/system/tmp/        TMPDIR         (compile cache, terminal staging)
 *   servers/<id>/data/workspace/    the agent workspace (kept by a reinstall)
 *   servers/<id>/openclaw-boots.jsonl   one line per launch, listening, ready and exit
 *
 * Except one: OpenClaw keeps its lifecycle locks in /tmp/openclaw-state-locks-<uid>/ whatever
 * TMPDIR says, named by a hash of each sqlite file's path. Every server has its own state dir, so
 * two gateways never share a lock; the launcher deletes its guests' lock files when it closes.
 *
 * It runs under the same systemd-like unit as the stand-in (ecs-unit.ts): exits and kills are
 * restarted after RestartSec, exit 78 leaves it down. `exit-config` starts it without its
 * openclaw.json, which OpenClaw answers with exit 78 ("Missing config", facts §4c).
 *
 * Faults: crash, kill and hang are real signals to the gateway. `slow-boot` delays the gateway's start
 * (the box is slow to come up; the real gateway's own ~10 s boot comes on top). The polling
 * stall cannot be switched on inside the real gateway, so the gateway reaches Telegram through a
 * relay that, when told, stops passing getUpdates on (see openclaw-telegram-relay.ts).
 */

export interface OpenclawLauncherOptions {
  /** The launcher's own files (the orphan guard). */
  readonly dir: string;
  /** Telegram user ids the gateways answer; none = OpenClaw's pairing flow for everyone. */
  readonly allowFrom: readonly number[];
  readonly install?: OpenclawInstall;
}

/** Real shutdown work needs real time (1.4–4 s measured; more on a loaded machine). */
const STOP_GRACE_FLOOR_MS = 20_000;
/** Cold first boots of two gateways at once took 30 s to listen on a busy 2-core machine. */
const LISTEN_TIMEOUT_MS = 180_000;
const READY_WATCH_MS = 300_000;
const POLL_MS = 250;

export function openclawLauncher(options: OpenclawLauncherOptions): GuestLauncher {
  const install = options.install ?? requireOpenclawInstall();
  const guard = writeOrphanGuard(options.dir);
  const launched = new Map<string, GuestDirs>();
  return {
    kind: "openclaw",
    async launch(boot) {
      const dirs = guestDirs(boot.config);
      launched.set(dirs.stateDir, dirs);
      // slow-boot: the box takes this long before its gateway even starts.
      if (boot.config.bootMs > 0) await sleep(boot.config.bootMs);
      return launchOpenclaw(install, guard, options.allowFrom, boot, dirs);
    },
    async close() {
      for (const dirs of launched.values()) {
        const files = lockFilesOf(dirs.stateDir, [dirs.homeDir, dirs.tmpDir, dirs.workspaceDir]);
        for (const file of files) rmSync(file, { force: true });
      }
    },
  };
}

export interface GuestDirs {
  readonly stateDir: string;
  readonly homeDir: string;
  readonly tmpDir: string;
  readonly workspaceDir: string;
}

export function guestDirs(config: GuestConfig): GuestDirs {
  return {
    stateDir: join(config.systemDir, "openclaw"),
    homeDir: join(config.systemDir, "home"),
    tmpDir: join(config.systemDir, "tmp"),
    workspaceDir: join(config.dataDir, "workspace"),
  };
}

/** The real gateway's process: signals as for the stand-in; the polling stall through the relay. */
export class OpenclawGuestProcess extends GuestProcess {
  private frozen = false;

  constructor(
    child: ChildProcess,
    private readonly relay: TelegramRelay | undefined,
  ) {
    super(child);
  }

  override signal(signal: NodeJS.Signals): void {
    super.signal(signal);
    if (signal === "SIGSTOP") this.frozen = true;
    if (signal === "SIGCONT") this.frozen = false;
  }

  /** The emulated grace, but never less than the gateway's real shutdown needs (unless frozen). */
  override stop(graceMs: number): Promise<void> {
    return super.stop(this.frozen ? graceMs : Math.max(graceMs, STOP_GRACE_FLOOR_MS));
  }

  /**
   * A hard stop takes the gateway's helpers too (sqlite workers, spawn broker), as powering off
   * a VM would; left alone they linger a moment and may still touch their /tmp lock files.
   */
  override async kill(): Promise<void> {
    const helpers = descendantsOf(this.pid);
    await super.kill();
    for (const pid of helpers) signalPid(pid, "SIGKILL");
    await untilGone(helpers, 5_000);
  }

  override async command(command: GuestCommand): Promise<void> {
    if (!this.running) throw new Error("the guest is not running; start the server first");
    if (!this.relay) {
      throw new Error("this gateway has no Telegram channel (no bot token), so nothing to stall");
    }
    if (command.type === "stall-polling") this.relay.stall();
    else this.relay.resume();
  }
}

async function launchOpenclaw(
  install: OpenclawInstall,
  guard: string,
  allowFrom: readonly number[],
  boot: GuestBoot,
  dirs: GuestDirs,
): Promise<OpenclawGuestProcess> {
  const { config } = boot;
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  const relay = config.telegramBotToken
    ? await startTelegramRelay(config.telegramApiRoot)
    : undefined;
  const configFile = openclawPaths(dirs.stateDir).configFile;
  if (boot.brokenConfig) rmSync(configFile, { force: true });
  else {
    writeFileSync(configFile, renderGuestConfig(config, dirs, allowFrom, relay?.url), {
      mode: 0o600,
    });
  }

  mkdirSync(dirname(boot.consolePath), { recursive: true });
  const consoleFd = openSync(boot.consolePath, "a");
  let child: ChildProcess;
  try {
    child = spawn(install.node, [install.entry, "gateway", "run"], {
      cwd: dirs.homeDir,
      stdio: ["ignore", consoleFd, consoleFd],
      env: gatewayEnv(install, guard, dirs),
    });
  } catch (error) {
    await relay?.close();
    throw error;
  } finally {
    closeSync(consoleFd);
  }
  const guest = new OpenclawGuestProcess(child, relay);
  const record = bootRecorder(boot.serverDir, guest.pid);
  const url = `http://127.0.0.1:${config.port}`;
  void guest.exited.then(() => {
    void relay?.close();
    record("exit", { code: child.exitCode, signal: child.signalCode });
  });

  const outcome = await untilListening(url, guest);
  if (outcome === "exited") {
    throw new GuestExitedError(
      `the OpenClaw gateway exited during boot (${exitText(child)}): ${consoleTail(boot.consolePath)}`,
      child.exitCode,
      child.signalCode,
    );
  }
  if (outcome === "timeout") {
    await guest.kill();
    throw new Error(
      `the OpenClaw gateway did not listen on ${url} within ${LISTEN_TIMEOUT_MS / 1000} s: ${consoleTail(boot.consolePath)}`,
    );
  }
  record("listening");
  void watchReadiness(url, guest).then((ready) => {
    if (ready) record("ready");
  });
  return guest;
}

/** One renderer, two targets: the same openclaw.json the bootstrap writes, bound to loopback. */
export function renderGuestConfig(
  config: GuestConfig,
  dirs: GuestDirs,
  allowFrom: readonly number[],
  telegramApiRoot: string | undefined,
): string {
  const telegram = telegramApiRoot
    ? {
        botToken: config.telegramBotToken,
        apiRoot: telegramApiRoot,
        ...(allowFrom.length > 0
          ? { dmPolicy: "allowlist" as const, allowFrom: [...allowFrom] }
          : { dmPolicy: "pairing" as const }),
      }
    : // No bot token: the channel is off, as on the stand-in (the renderer still wants a token).
      { enabled: false, botToken: "0:channel-off", dmPolicy: "disabled" as const };
  return renderOpenclawConfig({
    target: "local",
    stateDir: dirs.stateDir,
    workspaceDir: dirs.workspaceDir,
    gateway: { token: config.gatewayToken, port: config.port },
    maas: { baseUrl: config.maasBaseUrl, apiKey: config.maasApiKey, model: config.model },
    telegram,
  }).toJson();
}

function gatewayEnv(install: OpenclawInstall, guard: string, dirs: GuestDirs): NodeJS.ProcessEnv {
  // A minimal environment: the gateway must not inherit the emulator's keys or NODE_OPTIONS.
  return {
    PATH: `${dirname(install.node)}:/usr/bin:/bin`,
    TZ: "UTC",
    ...gatewayEnvironment({
      stateDir: dirs.stateDir,
      tmpDir: dirs.tmpDir,
      homeDir: dirs.homeDir,
      workspaceDir: dirs.workspaceDir,
      offline: true,
    }),
    NODE_OPTIONS: `--import=${pathToFileURL(guard).href}`,
  };
}

/**
 * The stand-in exits when its IPC channel to the emulator closes; the real gateway has no such
 * channel, so this preload (NODE_OPTIONS) gives it the same rule: when its parent changes (the
 * emulator died without stopping it), it sends itself SIGTERM. It does nothing else.
 */
function writeOrphanGuard(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "openclaw-orphan-guard.mjs");
  writeFileSync(
    file,
    [
      "// Written by the local ECS emulator (infra/local/guest/openclaw-guest.ts).",
      "const parent = process.ppid;",
      "setInterval(() => {",
      '  if (process.ppid !== parent) process.kill(process.pid, "SIGTERM");',
      "}, 1000).unref();",
      "",
    ].join("\n"),
  );
  return file;
}

/** Resolves once the gateway answers HTTP at all (any status), exits, or takes too long. */
async function untilListening(
  url: string,
  guest: GuestProcess,
): Promise<"listening" | "exited" | "timeout"> {
  const deadline = Date.now() + LISTEN_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!guest.running) return "exited";
    if ((await httpStatus(`${url}/healthz`)) !== undefined) return "listening";
    await Promise.race([sleep(POLL_MS), guest.exited]);
  }
  return guest.running ? "timeout" : "exited";
}

/** Watches /readyz after a boot so the boot record shows when the gateway became ready. */
async function watchReadiness(url: string, guest: GuestProcess): Promise<boolean> {
  const deadline = Date.now() + READY_WATCH_MS;
  while (Date.now() < deadline && guest.running) {
    if ((await httpStatus(`${url}/readyz`)) === 200) return true;
    await Promise.race([sleep(POLL_MS), guest.exited]);
  }
  return false;
}

async function httpStatus(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

// ---- boot records -------------------------------------------------------------------------------

export type BootEvent = "launch" | "listening" | "ready" | "exit";

export interface BootRecord {
  readonly event: BootEvent;
  readonly pid: number;
  /** ISO time of the event. */
  readonly at: string;
  /** Milliseconds since this process was launched. */
  readonly ms: number;
  readonly code?: number | null;
  readonly signal?: string | null;
}

export const BOOT_LOG = "openclaw-boots.jsonl";

function bootRecorder(
  serverDir: string,
  pid: number,
): (event: BootEvent, extra?: Partial<BootRecord>) => void {
  const launched = Date.now();
  const file = join(serverDir, BOOT_LOG);
  const record = (event: BootEvent, extra: Partial<BootRecord> = {}): void => {
    const line: BootRecord = {
      event,
      pid,
      at: new Date().toISOString(),
      ms: Date.now() - launched,
      ...extra,
    };
    try {
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    } catch {
      // The server was deleted meanwhile: nobody is left to read the record.
    }
  };
  record("launch");
  return record;
}

/** The boot records of one server (`servers/<id>`), oldest first. */
export function readBootRecords(serverDir: string): BootRecord[] {
  const file = join(serverDir, BOOT_LOG);
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as BootRecord);
}

// ---- the /tmp lock files ------------------------------------------------------------------------

/**
 * OpenClaw names each lock `<family>.<first 8 hex of sha256(realpath of the sqlite file)>.lock.sqlite`
 * under /tmp/openclaw-state-locks-<uid>/ (dist: state-database-coordinator-paths). The lock files
 * of one gateway: those named after a sqlite file in its state dir (or `otherRoots`).
 */
export function lockFilesOf(stateDir: string, otherRoots: readonly string[] = []): string[] {
  const lockDir = join("/tmp", `openclaw-state-locks-${process.getuid?.() ?? 0}`);
  if (!existsSync(lockDir)) return [];
  const hashes = new Set(
    sqliteFiles(stateDir, otherRoots).map((file) =>
      createHash("sha256").update(file).digest("hex").slice(0, 8),
    ),
  );
  return readdirSync(lockDir)
    .filter((name) => hashes.has(name.split(".")[1] ?? ""))
    .map((name) => join(lockDir, name));
}

/** Companion databases OpenClaw opens next to a database for a moment, then deletes. */
const TRANSIENT_SUFFIXES = [
  ".reindex-lock.sqlite",
  ".generation-writer.sqlite",
  ".generation-lock.sqlite",
];

function sqliteFiles(stateDir: string, otherRoots: readonly string[]): string[] {
  // The two databases every gateway opens, whether or not they still exist (a reinstall or a
  // delete may have removed the state dir since).
  const known = [
    join(stateDir, "state", "openclaw.sqlite"),
    join(stateDir, "agents", "main", "agent", "openclaw-agent.sqlite"),
  ].map((file) => resolve(file));
  const found: string[] = [];
  const walk = (dir: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".sqlite")) found.push(realpathOr(path));
    }
  };
  for (const root of [stateDir, ...otherRoots]) walk(root);
  const files = [...known, ...found];
  const transient = files.flatMap((file) => TRANSIENT_SUFFIXES.map((suffix) => file + suffix));
  return [...new Set([...files, ...transient])];
}

// ---- the gateway's helper processes -------------------------------------------------------------

/** Every process below `root` (children, their children…), from /proc; empty where there is none. */
function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid …": comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const found: number[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

async function untilGone(pids: readonly number[], limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (pids.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < deadline) {
    await sleep(50);
  }
}

function realpathOr(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return resolve(path);
  }
}

function exitText(child: ChildProcess): string {
  if (child.exitCode === 78) {
    return "exit 78: OpenClaw refused to start (config or a second gateway on the state dir)";
  }
  return child.signalCode ? `signal ${child.signalCode}` : `exit ${child.exitCode}`;
}

function consoleTail(path: string): string {
  try {
    const text = readFileSync(path, "utf8").trim();
    return text.slice(-800) || "(no console output)";
  } catch {
    return "(no console output)";
  }
}
