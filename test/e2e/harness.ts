import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { invoke, type Target } from "../../infra/deploy/functions";
import { type LocalCloud, startLocalCloud } from "../../infra/local/cloud";
import { deployWatchdogLocally } from "../../infra/local/product";
import type { FleetReport } from "../../shared/watchdog/fleet";

export const WATCHDOG = "clawwatch-watchdog";

/** Short grace windows and timeouts so a whole remediation ladder runs in seconds. */
export const FAST_POLICY = {
  grace: { start: "1500ms", softReboot: "1500ms", hardReboot: "1500ms", rebootstrap: "2s" },
  ingressStallAfter: "1s",
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

export interface Harness {
  cloud: LocalCloud;
  target: Target;
  secrets: string[];
  cycle(box: string): Promise<FleetReport>;
  diagnose(box: string): Promise<FleetReport>;
  /** Alert-chat messages that name this box. */
  alerts(box: string): Promise<SentMessage[]>;
  /** ECS actions ("start", "reboot SOFT", "reinstall", …) requested for this box's server. */
  ecsActions(box: string): Promise<string[]>;
  stateOf(box: string): Promise<Record<string, unknown> | undefined>;
  serverOf(box: string): string;
  stop(): Promise<void>;
}

export async function startHarness(boxes: number): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "clawwatch-e2e-"));
  const cloud = await startLocalCloud({ dir: join(dir, "cloud"), timeScale: 0.01, boxes });
  try {
    const { target, product } = await deployWatchdogLocally(cloud.endpoints, {
      outDir: join(dir, "dist"),
      policy: FAST_POLICY,
      probes: FAST_PROBES,
    });
    const e = cloud.endpoints;
    const run = (command: string) => (box: string) =>
      invoke<FleetReport>(target, WATCHDOG, { command, box });
    return {
      cloud,
      target,
      secrets: [...Object.values(product.secrets), e.credentials.sk],
      cycle: run("cycle"),
      diagnose: run("diagnose"),
      async alerts(box) {
        const all = (await cloud.control("telegram", "messages", {
          bot: e.telegramBots.alerts.username,
        })) as SentMessage[];
        return all.filter((m) => m.plainText.includes(box));
      },
      async ecsActions(box) {
        const serverId = e.boxes.find((b) => b.name === box)?.serverId;
        const calls = (await cloud.control("ecs", "calls")) as {
          operation?: string;
          serverIds?: string[];
          status: number;
        }[];
        return calls
          .filter((c) => c.operation && c.status < 300 && c.serverIds?.includes(serverId ?? ""))
          .map((c) => c.operation as string);
      },
      async stateOf(box) {
        const got = (await cloud.control("obs", "get-object", {
          bucket: e.bucket,
          key: `clawwatch/${box}/state.json`,
        })) as { body?: string; found?: boolean };
        return got.body ? (JSON.parse(got.body) as Record<string, unknown>) : undefined;
      },
      serverOf(box) {
        const found = e.boxes.find((b) => b.name === box);
        if (!found) throw new Error(`no box ${box}`);
        return found.serverId;
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
