import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { GuestExitedError } from "./ecs-unit";
import type { GuestConfig } from "./guest/guest-config";
import { type GuestCommand, type GuestReport, isGuestReport } from "./guest/protocol";

/**
 * The guest of an emulated server: a child process (the stand-in gateway) tracked by PID,
 * controlled by signals and a fork-style IPC channel.
 */

const STAND_IN_SOURCE = fileURLToPath(new URL("./guest/standin-gateway.ts", import.meta.url));
/** Process start is real work, never scaled: a loaded machine may need a few seconds. */
const LISTEN_TIMEOUT_MS = 15_000;
const COMMAND_TIMEOUT_MS = 3_000;

/** Bundles the stand-in once into `outDir`, so each boot is a plain `node bundle.mjs` (no tsx start-up). */
export async function bundleStandIn(outDir: string): Promise<string> {
  const outfile = join(outDir, "standin-gateway.mjs");
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [STAND_IN_SOURCE],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "silent",
  });
  return outfile;
}

// ---- guest kinds ----------------------------------------------------------------------------

/** Which gateway a server runs: the built-in stand-in, or the real openclaw (npm run openclaw:setup). */
export type GuestKind = "standin" | "openclaw";

export interface GuestBoot {
  readonly config: GuestConfig;
  /** `servers/<id>`: holds system/, data/ and the console log. */
  readonly serverDir: string;
  readonly consolePath: string;
  /**
   * The `exit-config` fault: the gateway's config is broken, so it exits 78 at start (as OpenClaw
   * does without a usable config, reference/openclaw-gateway-facts.md §4c).
   */
  readonly brokenConfig: boolean;
}

/** Starts a server's guest for one boot; resolves once it listens (as the stand-in reports it). */
export interface GuestLauncher {
  readonly kind: GuestKind;
  launch(boot: GuestBoot): Promise<GuestProcess>;
  /** Called once every guest is gone (emulator close): clean up what the guests left outside. */
  close?(): Promise<void>;
}

/** The stand-in: its config file in the system dir, then `node <bundle> <config>`. */
export function standinLauncher(bundle: string): GuestLauncher {
  return {
    kind: "standin",
    launch({ config, consolePath, brokenConfig }) {
      mkdirSync(config.systemDir, { recursive: true });
      const configPath = join(config.systemDir, "gateway-config.json");
      // Broken: the port alone, so the stand-in's config check fails and it exits 78.
      const written = brokenConfig ? { port: config.port } : config;
      writeFileSync(configPath, JSON.stringify(written, null, 2), { mode: 0o600 });
      return launchGuest({ bundle, configPath, consolePath });
    },
  };
}

// ---- the stand-in's process -----------------------------------------------------------------

export interface LaunchSpec {
  readonly bundle: string;
  readonly configPath: string;
  /** The guest's stdout and stderr (its "serial console"). */
  readonly consolePath: string;
}

export class GuestProcess {
  readonly exited: Promise<void>;
  private readonly reports = new Set<(report: GuestReport) => void>();

  constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    child.on("message", (message: unknown) => {
      if (!isGuestReport(message)) return;
      for (const listener of this.reports) listener(message);
    });
    // A guest that exits closes the channel; a write racing that must not crash the emulator.
    child.on("error", () => undefined);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** How the process ended (both null while it runs). */
  exitStatus(): { code: number | null; signal: string | null } {
    return { code: this.child.exitCode, signal: this.child.signalCode };
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL once `graceMs` has passed; resolves when the process is gone. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.signal("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    });
    const gone = await Promise.race([this.exited.then(() => false), timedOut]);
    clearTimeout(timer);
    if (gone) this.signal("SIGKILL");
    await this.exited;
  }

  async kill(): Promise<void> {
    this.signal("SIGKILL");
    await this.exited;
  }

  /** Sends a command over IPC and waits for the guest's acknowledgement. */
  async command(command: GuestCommand): Promise<void> {
    if (!this.running || !this.child.connected) {
      throw new Error("the guest is not running; start the server first");
    }
    const acked = this.waitFor((r) => r.type === "ack" && r.command === command.type);
    this.child.send(command);
    await withTimeout(
      acked,
      COMMAND_TIMEOUT_MS,
      `the guest did not acknowledge ${command.type} (is it hung? send resume first)`,
    );
  }

  waitFor(match: (report: GuestReport) => boolean): Promise<GuestReport> {
    return new Promise((resolve) => {
      const listener = (report: GuestReport): void => {
        if (!match(report)) return;
        this.reports.delete(listener);
        resolve(report);
      };
      this.reports.add(listener);
    });
  }
}

/** Starts the guest and resolves once it listens; a guest that dies first becomes an error with its console tail. */
export async function launchGuest(spec: LaunchSpec): Promise<GuestProcess> {
  mkdirSync(dirname(spec.consolePath), { recursive: true });
  const consoleFd = openSync(spec.consolePath, "a");
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [spec.bundle, spec.configPath], {
      stdio: ["ignore", consoleFd, consoleFd, "ipc"],
      // A minimal environment: the guest must not inherit the emulator's keys or NODE_OPTIONS.
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TZ: "UTC" },
    });
  } finally {
    closeSync(consoleFd);
  }
  const guest = new GuestProcess(child);
  const listening = guest.waitFor((r) => r.type === "listening").then(() => "listening" as const);
  const outcome = await withTimeout(
    Promise.race([listening, guest.exited.then(() => "exited" as const)]),
    LISTEN_TIMEOUT_MS,
    "the guest did not start listening in time",
  ).catch(async (error: unknown) => {
    await guest.kill();
    throw error;
  });
  if (outcome === "exited") {
    const { code, signal } = guest.exitStatus();
    throw new GuestExitedError(
      `the guest exited during boot (${signal ?? `exit ${code}`}): ${consoleTail(spec.consolePath)}`,
      code,
      signal,
    );
  }
  return guest;
}

/** A free loopback port for a server's gateway; it stays that server's port for good. */
export async function allocatePort(taken: ReadonlySet<number>): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const probe = createServer();
      probe.once("error", reject);
      probe.listen(0, "127.0.0.1", () => {
        const address = probe.address();
        const found = typeof address === "object" && address !== null ? address.port : 0;
        probe.close(() => resolve(found));
      });
    });
    if (!taken.has(port)) return port;
  }
}

function consoleTail(path: string): string {
  try {
    const text = readFileSync(path, "utf8").trim();
    return text.slice(-500) || "(no console output)";
  } catch {
    return "(no console output)";
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
