import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { invoke, type Target, upsertFunction } from "../../infra/deploy/functions";
import { type LocalCloud, startLocalCloud } from "../../infra/local/cloud";
import {
  type ConfigOverrides,
  deployWatchdogLocally,
  LOCAL_AGENCY,
  type LocalDeployOptions,
  localProductConfig,
} from "../../infra/local/product";
import type { FleetReport } from "../../shared/watchdog/fleet";

export const WATCHDOG = "clawwatch-watchdog";

/** Short grace windows and timeouts so a whole remediation ladder runs in seconds. */
export const FAST_POLICY = {
  grace: { start: "1500ms", softReboot: "1500ms", hardReboot: "1500ms", rebootstrap: "2s" },
  // At time scale 0.01 systemd's restart (RestartSec 5 s → 50 ms) plus a stand-in start take
  // ~0.3 s; an outage must outlast 1 s before its incident opens. Start times may differ by 1 s
  // (a loaded machine delays the probe's clock reading) before they count as a restart.
  selfRestart: { window: "1s", uptimeSlack: "1s" },
  ingressStallAfter: "1s",
  ingressLongestTurn: "2s",
  reminders: { first: "1h" },
};
export const FAST_PROBES = {
  gatewayTimeout: "800ms",
  maasTimeout: "1500ms",
  telegramTimeout: "1500ms",
  serverTimeout: "3s",
  retryDelay: "50ms",
};

export interface SentMessage {
  bot: string;
  chatId: number;
  messageId: number;
  text: string;
  plainText: string;
  replyTo?: number;
  buttons: { text: string; callbackData?: string }[][];
  edited: boolean;
}

/** The local ECS `servers` view of one server. */
export interface ServerView {
  id: string;
  status: string;
  taskState?: string | null;
  guestPid?: number;
  boots: number;
  bootstrapRuns: number;
  pollingStalled: boolean;
  hung: boolean;
  /** The gateway unit: running, auto-restart, failed, stopped. */
  unit: string;
  nRestarts: number;
  lastExit?: string;
  faults: string[];
}

/** One ECS action call on a server, accepted or not. */
export interface EcsCall {
  operation: string;
  status: number;
}

/** Overrides for the deploy; `policy` and `probes` are merged over FAST_POLICY and FAST_PROBES. */
export type DeployOverrides = Omit<LocalDeployOptions, "outDir">;

/** A second copy of the watchdog gets its own config and timeout, but no TIMER trigger. */
export type CopyOverrides = ConfigOverrides & { timeoutSeconds?: number };

export interface HarnessOptions {
  /** The local cloud's time scale (default 0.01: a soft reboot takes 0.4 s). */
  timeScale?: number;
  deploy?: DeployOverrides;
}

/** Another deployment of the watchdog next to the main one (same boxes, its own settings). */
export interface WatchdogCopy {
  functionName: string;
  cycle(box: string): Promise<FleetReport>;
  diagnose(box: string): Promise<FleetReport>;
}

export interface Harness {
  cloud: LocalCloud;
  target: Target;
  secrets: string[];
  cycle(box: string): Promise<FleetReport>;
  diagnose(box: string): Promise<FleetReport>;
  /** Alert-chat messages that name this box. */
  alerts(box: string): Promise<SentMessage[]>;
  /** Alert-chat messages as an edit left them (a resolved incident's first message), newest last. */
  edits(box: string): Promise<SentMessage[]>;
  /** ECS actions ("start", "reboot SOFT", "reinstall", …) requested for this box's server. */
  ecsActions(box: string): Promise<string[]>;
  /** Every ECS action call on this box's server with its HTTP status, refused ones included. */
  ecsCalls(box: string): Promise<EcsCall[]>;
  /** The local ECS view of this box's server (status, guest process, boots). */
  server(box: string): Promise<ServerView>;
  stateOf(box: string): Promise<Record<string, unknown> | undefined>;
  serverOf(box: string): string;
  /** The product config the watchdog was deployed with (env, secrets). */
  product: { env: Record<string, string>; secrets: Record<string, string> };
  /** Built bundles of this deploy: dist/<name>.zip. */
  zipOf(name: "watchdog" | "gateway-probe" | "telegram-webhook"): string;
  /** Deploys the watchdog again under another name, with these overrides on top of the defaults. */
  deployCopy(functionName: string, overrides?: CopyOverrides): Promise<WatchdogCopy>;
  stop(): Promise<void>;
}

function mergeDeploy<T extends ConfigOverrides>(overrides: T): T {
  return {
    ...overrides,
    policy: { ...FAST_POLICY, ...overrides.policy },
    probes: { ...FAST_PROBES, ...overrides.probes },
  };
}

export async function startHarness(boxes: number, options: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "clawwatch-e2e-"));
  const timeScale = options.timeScale ?? 0.01;
  const cloud = await startLocalCloud({ dir: join(dir, "cloud"), timeScale, boxes });
  try {
    const { target, product } = await deployWatchdogLocally(cloud.endpoints, {
      ...mergeDeploy(options.deploy ?? {}),
      outDir: join(dir, "dist"),
    });
    const e = cloud.endpoints;
    const secrets = [...Object.values(product.secrets), e.credentials.sk];
    const runOn = (name: string, command: string) => (box: string) =>
      invoke<FleetReport>(target, name, { command, box });
    const run = (command: string) => runOn(WATCHDOG, command);
    const serverIdOf = (box: string) => {
      const found = e.boxes.find((b) => b.name === box);
      if (!found) throw new Error(`no box ${box}`);
      return found.serverId;
    };
    const ecsCalls = async (box: string): Promise<EcsCall[]> => {
      const serverId = serverIdOf(box);
      const calls = (await cloud.control("ecs", "calls")) as {
        operation?: string;
        serverIds?: string[];
        status: number;
      }[];
      return calls
        .filter((c) => c.operation && c.status > 0 && c.serverIds?.includes(serverId))
        .map((c) => ({ operation: c.operation as string, status: c.status }));
    };
    return {
      cloud,
      target,
      secrets,
      product,
      zipOf: (name) => join(dir, "dist", `${name}.zip`),
      cycle: run("cycle"),
      diagnose: run("diagnose"),
      async alerts(box) {
        const all = (await cloud.control("telegram", "messages", {
          bot: e.telegramBots.alerts.username,
        })) as SentMessage[];
        return all.filter((m) => !m.edited && m.plainText.includes(box));
      },
      async edits(box) {
        const all = (await cloud.control("telegram", "messages", {
          bot: e.telegramBots.alerts.username,
        })) as SentMessage[];
        return all.filter((m) => m.edited && m.plainText.includes(box));
      },
      async ecsActions(box) {
        return (await ecsCalls(box)).filter((c) => c.status < 300).map((c) => c.operation);
      },
      ecsCalls,
      async server(box) {
        const serverId = serverIdOf(box);
        const servers = (await cloud.control("ecs", "servers")) as ServerView[];
        const found = servers.find((s) => s.id === serverId);
        if (!found) throw new Error(`local ECS has no server ${serverId} for ${box}`);
        return found;
      },
      async stateOf(box) {
        const key = `clawwatch/${box}/state.json`;
        // Listed first: get-object answers a missing key with an error (no cycle saved yet).
        const listed = (await cloud.control("obs", "objects", {
          bucket: e.bucket,
          prefix: key,
        })) as { key: string }[];
        if (!listed.some((o) => o.key === key)) return undefined;
        const got = (await cloud.control("obs", "get-object", { bucket: e.bucket, key })) as {
          body?: string;
        };
        return got.body ? (JSON.parse(got.body) as Record<string, unknown>) : undefined;
      },
      serverOf: serverIdOf,
      async deployCopy(functionName, overrides = {}) {
        // The main deploy's bundle (build.mjs writes dist/<name>.zip): no second build.
        const product = localProductConfig(e, mergeDeploy(overrides));
        await upsertFunction(target, {
          name: functionName,
          zipPath: join(dir, "dist", "watchdog.zip"),
          env: product.env,
          secrets: product.secrets,
          agency: LOCAL_AGENCY,
          memoryMb: 256,
          timeoutSeconds: overrides.timeoutSeconds ?? 60,
          maxInstances: 1,
        });
        secrets.push(...Object.values(product.secrets));
        return {
          functionName,
          cycle: runOn(functionName, "cycle"),
          diagnose: runOn(functionName, "diagnose"),
        };
      },
      async stop() {
        await cloud.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await cloud.stop();
    throw error;
  }
}

/** Polls until `check` returns a value (not undefined/false) or the attempts run out. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  attempts = 100,
  intervalMs = 100,
): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}
