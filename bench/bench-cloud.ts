import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Endpoints, type LocalCloud, startLocalCloud } from "../infra/local/cloud";
import type { Listening } from "../infra/local/http";
import { startDelayProxy } from "./delay-proxy";

/** Issue 7's network: the gateway through the VPC, MaaS and Telegram over the internet, OBS. */
export const LATENCY = { gatewayMs: 100, maasMs: 400, telegramMs: 150, obsMs: 20 } as const;

/**
 * Gateway guests started. Each is a node process of ~60 MB and seeding 100 of them took ~3 min
 * on this 2-core machine, so larger fleets put several boxes on one guest (see `boxes`).
 */
export const SERVERS = 10;

export interface BenchCloud {
  cloud: LocalCloud;
  endpoints: Endpoints;
  /** A scratch directory removed by stop(). */
  dir: string;
  /**
   * The endpoints as the product sees `count` boxes: box i is server i % SERVERS (its ECS server,
   * gateway and gateway bot), reached through its own delay proxy, so every box is its own
   * origin to the watchdog (own connection pool, own state object) even when two share a guest.
   */
  boxes(count: number): Promise<Endpoints>;
  stop(): Promise<void>;
}

export async function startBenchCloud(): Promise<BenchCloud> {
  const dir = await mkdtemp(join(tmpdir(), "clawwatch-bench-"));
  const cloud = await startLocalCloud({ dir: join(dir, "cloud"), timeScale: 0.01, boxes: SERVERS });
  const proxies: Listening[] = [];
  const e = cloud.endpoints;
  try {
    await cloud.control("maas", "latency", { ms: LATENCY.maasMs });
    await cloud.control("telegram", "latency", { ms: LATENCY.telegramMs });
    await cloud.control("obs", "latency", { ms: LATENCY.obsMs });
    for (const box of e.boxes) await waitReady(box.gatewayUrl, box.gatewayToken);
  } catch (error) {
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    cloud,
    endpoints: e,
    dir,
    async boxes(count) {
      while (proxies.length < count) {
        const server = e.boxes[proxies.length % e.boxes.length];
        if (!server) throw new Error("the local cloud has no boxes");
        const proxy = await startDelayProxy(server.gatewayUrl, LATENCY.gatewayMs);
        proxies.push(proxy);
        // The delay sits on the path inside the VPC: only the gateway-probe function reaches it.
        await cloud.control("functiongraph", "vpc-host", { host: new URL(proxy.url).host });
      }
      return {
        ...e,
        boxes: Array.from({ length: count }, (_, i) => {
          const server = e.boxes[i % e.boxes.length];
          const proxy = proxies[i];
          if (!server || !proxy) throw new Error(`no server or proxy for box ${i + 1}`);
          return { ...server, name: `box-${i + 1}`, gatewayUrl: proxy.url };
        }),
      };
    },
    async stop() {
      for (const proxy of proxies) await proxy.close();
      await cloud.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The guest boots in 80 ms at this time scale; wait for /readyz so no cycle sees it booting. */
async function waitReady(gatewayUrl: string, token: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const res = await fetch(`${gatewayUrl}/readyz`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(2_000),
      });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the gateway at ${gatewayUrl} did not become ready in 10 s`);
}

/** The local cloud's control views, typed as far as the bench reads them. */
export async function invocations(
  cloud: LocalCloud,
  functionName: string,
): Promise<{ durationMs?: number; coldStart?: boolean; status: string }[]> {
  return (await cloud.control("functiongraph", "invocations", { functionName })) as {
    durationMs?: number;
    coldStart?: boolean;
    status: string;
  }[];
}

export async function obsRequests(cloud: LocalCloud): Promise<number> {
  return ((await cloud.control("obs", "requests")) as { total: number }).total;
}

export async function maasTotals(
  cloud: LocalCloud,
): Promise<{ promptTokens: number; completionTokens: number; totalTokens: number; chat: number }> {
  const usage = (await cloud.control("maas", "usage")) as {
    endpoints: { chat: number };
    totals: { promptTokens: number; completionTokens: number; totalTokens: number };
  };
  return { ...usage.totals, chat: usage.endpoints.chat };
}

export async function alertMessages(cloud: LocalCloud): Promise<number> {
  const bot = cloud.endpoints.telegramBots.alerts.username;
  return ((await cloud.control("telegram", "messages", { bot })) as unknown[]).length;
}
