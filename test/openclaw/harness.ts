import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildFunctions } from "../../build.mjs";
import { registerWebhook } from "../../infra/cli/telegram";
import { ensureApig, invoke, type Target, upsertFunction } from "../../infra/deploy/functions";
import { type LocalCloud, startLocalCloud } from "../../infra/local/cloud";
import { type BootRecord, readBootRecords } from "../../infra/local/guest/openclaw-guest";
import { deployWatchdogLocally, LOCAL_AGENCY, localGateway } from "../../infra/local/product";
import { openclawInstall, requireOpenclawInstall } from "../../infra/openclaw/install";
import type { FleetReport } from "../../shared/watchdog/fleet";

/**
 * The deployed watchdog (and receiver) on the local cloud, every box running the real OpenClaw
 * gateway. Durations are real: the gateway boots in real time (10–30 s), so the policy's grace
 * windows and probe timeouts are seconds, not the stand-in suite's milliseconds.
 */

export const WATCHDOG = "clawwatch-watchdog";
export const RECEIVER = "clawwatch-telegram-webhook";

export const REAL_POLICY = {
  // While a server reboots the watchdog sees REBOOT, then a booting gateway (503 startup-sidecars):
  // neither counts, so the grace only needs to bridge the moments in between.
  grace: { start: "30s", softReboot: "30s", hardReboot: "30s", rebootstrap: "2m" },
  // The unit's restart is RestartSec 5 s × 0.05 plus the real gateway's warm boot (10–30 s, more
  // on a loaded machine): an outage opens its incident only after 2 min of cycles a second apart.
  selfRestart: { window: "2m" },
  ingressStallAfter: "10s",
  ingressLongestTurn: "20s",
  reminders: { first: "1h" },
};
/** A busy 2-core machine can take a second or two to answer /readyz of a gateway that boots. */
export const REAL_PROBES = {
  gatewayTimeout: "3s",
  maasTimeout: "5s",
  telegramTimeout: "5s",
  serverTimeout: "10s",
  retryDelay: "200ms",
};
/** ECS jobs at 1/20: a soft reboot is 2 s of emulated work, then the real gateway's own boot. */
export const TIME_SCALE = 0.05;
/** A cold boot on a loaded machine has taken up to ~100 s to listen; ready comes a little later. */
export const BOOT_LIMIT_MS = 240_000;

export interface SentMessage {
  bot: string;
  chatId: number;
  messageId: number;
  text: string;
  plainText: string;
  replyTo?: number | null;
  buttons: { text: string; callbackData?: string }[][];
  edited: boolean;
  time: string;
}

export interface ServerView {
  id: string;
  status: string;
  guestPid?: number;
  boots: number;
  hung: boolean;
  pollingStalled: boolean;
  /** The gateway's systemd-like unit (ecs-unit.ts): running, auto-restart, failed, stopped. */
  unit: string;
  nRestarts: number;
  lastExit?: string;
}

export interface OpenclawHarness {
  cloud: LocalCloud;
  target: Target;
  dir: string;
  secrets: string[];
  /** Set when the receiver was deployed (its webhook registered for the alert bot). */
  receiverUrl?: string;
  cycle(box: string): Promise<FleetReport>;
  diagnose(box: string): Promise<FleetReport>;
  alerts(box: string): Promise<SentMessage[]>;
  ecsActions(box: string): Promise<string[]>;
  server(box: string): Promise<ServerView>;
  serverOf(box: string): string;
  gateway(box: string): { url: string; token: string; bot: string };
  boots(box: string): BootRecord[];
  /** The box's OPENCLAW_STATE_DIR. */
  stateDir(box: string): string;
  /** Resolves with the boot record of a gateway (not `notPid`) once it reports /readyz 200. */
  readyBoot(box: string, notPid?: number): Promise<BootRecord>;
  stop(): Promise<void>;
}

export async function startOpenclawHarness(boxes: number): Promise<OpenclawHarness> {
  requireOpenclawInstall();
  const dir = await mkdtemp(join(tmpdir(), "clawwatch-openclaw-"));
  const cloudDir = join(dir, "cloud");
  const cloud = await startLocalCloud({
    dir: cloudDir,
    timeScale: TIME_SCALE,
    boxes,
    guest: "openclaw",
  });
  try {
    const e = cloud.endpoints;
    const box = (name: string) => {
      const found = e.boxes.find((b) => b.name === name);
      if (!found) throw new Error(`no box ${name}`);
      return found;
    };
    const serverDir = (name: string) => join(cloudDir, "ecs", "servers", box(name).serverId);
    const { target, product } = await deployWatchdogLocally(e, {
      outDir: join(dir, "dist"),
      policy: REAL_POLICY,
      probes: REAL_PROBES,
      timeoutSeconds: 120,
    });
    const receiverUrl = await deployReceiver(cloud, target, dir, product).catch(
      (error: unknown) => {
        console.warn(`receiver not deployed: ${(error as Error).message}`);
        return undefined;
      },
    );
    const run = (command: string) => (name: string) =>
      invoke<FleetReport>(target, WATCHDOG, { command, box: name });
    const harness: OpenclawHarness = {
      cloud,
      target,
      dir,
      secrets: [...Object.values(product.secrets), e.credentials.sk],
      receiverUrl,
      cycle: run("cycle"),
      diagnose: run("diagnose"),
      async alerts(name) {
        const all = (await cloud.control("telegram", "messages", {
          bot: e.telegramBots.alerts.username,
        })) as SentMessage[];
        return all.filter((m) => m.plainText.includes(name));
      },
      async ecsActions(name) {
        const calls = (await cloud.control("ecs", "calls")) as {
          operation?: string;
          serverIds?: string[];
          status: number;
        }[];
        return calls
          .filter((c) => c.operation && c.status < 300 && c.serverIds?.includes(box(name).serverId))
          .map((c) => c.operation as string);
      },
      async server(name) {
        const all = (await cloud.control("ecs", "servers")) as ServerView[];
        const found = all.find((s) => s.id === box(name).serverId);
        if (!found) throw new Error(`no server for ${name}`);
        return found;
      },
      serverOf: (name) => box(name).serverId,
      gateway: (name) => ({
        url: box(name).gatewayUrl,
        token: box(name).gatewayToken,
        bot: box(name).telegramBot.username,
      }),
      boots: (name) => readBootRecords(serverDir(name)),
      stateDir: (name) => join(serverDir(name), "system", "openclaw"),
      readyBoot: (name, notPid) =>
        eventually(
          async () => {
            // The newest boot's record: an older gateway's "ready" does not count.
            const last = readBootRecords(serverDir(name)).findLast((r) => r.event === "ready");
            return last && last.pid !== notPid ? last : undefined;
          },
          `the real gateway on ${name} to be ready`,
          BOOT_LIMIT_MS,
          500,
        ),
      async stop() {
        await cloud.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
    for (const b of e.boxes) await harness.readyBoot(b.name);
    return harness;
  } catch (error) {
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The receiver behind the local APIG, the alert bot's webhook pointed at it (as the deploy does). */
async function deployReceiver(
  cloud: LocalCloud,
  target: Target,
  dir: string,
  product: { env: Record<string, string>; secrets: Record<string, string>; webhookSecret: string },
): Promise<string> {
  const [built] = await buildFunctions({ outDir: join(dir, "dist"), names: ["telegram-webhook"] });
  if (!built) throw new Error("the build made no telegram-webhook bundle");
  await upsertFunction(target, {
    name: RECEIVER,
    zipPath: built.zipPath,
    env: product.env,
    secrets: product.secrets,
    agency: LOCAL_AGENCY,
    memoryMb: 256,
    timeoutSeconds: 30,
    maxInstances: 1,
  });
  const e = cloud.endpoints;
  const { url } = await ensureApig(target, RECEIVER, "/telegram", await localGateway(e));
  await registerWebhook(
    {
      botToken: e.telegramBots.alerts.token,
      apiRoot: e.telegram,
      webhookSecret: product.webhookSecret,
    },
    url,
    { secretUnchanged: false },
  );
  return url;
}

/** Polls until `check` gives a value (not undefined/false) or `limitMs` passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  limitMs = 30_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${limitMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The size of the openclaw cache, for the suite's closing numbers. */
export function installSize(): string {
  const result = spawnSync("du", ["-sk", openclawInstall().cacheDir], { encoding: "utf8" });
  const kb = Number(result.stdout?.split(/\s/)[0]);
  return Number.isFinite(kb) && kb > 0 ? `${Math.round(kb / 1024)} MB` : "unknown";
}

/** Plain numbers for the closing summary, printed once at the end. */
export class Measurements {
  private readonly lines: string[] = [];

  add(what: string, ms: number): void {
    this.lines.push(`${what}: ${(ms / 1000).toFixed(1)} s`);
  }

  note(line: string): void {
    this.lines.push(line);
  }

  print(): void {
    console.log(`\nreal OpenClaw gateway suite — measured:\n  ${this.lines.join("\n  ")}\n`);
  }
}
