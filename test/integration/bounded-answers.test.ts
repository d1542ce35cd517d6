import { spawn } from "node:child_process";
import { once } from "node:events";
import type { ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Listening, listen, sendJson } from "../../infra/local/http";
import { createEcsCompute } from "../../shared/cloud/ecs.lazy";
import { ComputeError } from "../../shared/errors";
import { probeGateway, probeMaas, probeTelegram } from "../../shared/probes";
import { BODY_LIMITS } from "../../shared/runtime/bounded-body";
import { createObsClient, ObsError } from "../../shared/state/obs-client";
import { createObsStateStore } from "../../shared/state/obs-store";

// Every answer the watchdog reads is capped: a loopback server streams up to a gigabyte to any
// request, and each reader must stop early, say "answer too large" and keep going.

const GIGABYTE = 1024 ** 3;
const CHUNK = Buffer.alloc(64 * 1024, "a");
const BOT = "5550001111:AAHfloodTestGatewayBotToken_abcdefghij";
const QUICK = { timeoutMs: 20_000, retryDelayMs: 10 } as const;

let flood: Listening;
let healthy: Listening;
/** HTTP status the flood answers with. */
let floodStatus = 200;
/** Bytes the flood wrote per request, recorded when its response ends or is cut. */
const sent: number[] = [];

async function stream(res: ServerResponse, total: number): Promise<void> {
  res.writeHead(floodStatus, { "content-type": "application/json" });
  let bytes = 0;
  const closed = once(res, "close");
  res.write('{"ready":true,"failing":[],"data":"');
  while (bytes < total && !res.destroyed) {
    bytes += CHUNK.length;
    if (!res.write(CHUNK)) {
      const drained = new Promise<void>((resolve) => res.once("drain", resolve));
      await Promise.race([drained, closed]);
    }
  }
  sent.push(bytes);
  if (!res.destroyed) res.end('"}');
}

beforeAll(async () => {
  flood = await listen((_req, res) => stream(res, GIGABYTE));
  healthy = await listen((req, res) => {
    const path = req.url ?? "";
    if (path === "/readyz") return sendJson(res, 200, { ready: true, failing: [], uptimeMs: 1 });
    if (path === "/v1/models") return sendJson(res, 200, { object: "list", data: [{ id: "m" }] });
    if (path.endsWith("/getMe")) {
      return sendJson(res, 200, {
        ok: true,
        result: { id: 1, is_bot: true, first_name: "gw", username: "gw_bot" },
      });
    }
    if (path.endsWith("/getWebhookInfo")) {
      return sendJson(res, 200, { ok: true, result: { url: "", pending_update_count: 0 } });
    }
    return sendJson(res, 404, { error: "no such path" });
  });
});

afterAll(async () => {
  await Promise.all([flood?.close(), healthy?.close()]);
});

beforeEach(() => {
  floodStatus = 200;
  sent.length = 0;
});

/** The flood was cut off: far less than a gigabyte went out for each request. */
function expectCutOff(): void {
  expect(sent.length).toBeGreaterThan(0);
  for (const bytes of sent) expect(bytes).toBeLessThan(64 * 1024 ** 2);
}

/** The flood records a request once its loop ends, a moment after the client hung up. */
async function settled(requests: number): Promise<void> {
  for (let i = 0; i < 500 && sent.length < requests; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("answers past the cap are a probe result, not a crash", () => {
  it("gateway: a 200 flood is misconfigured, a 503 flood is down", async () => {
    const options = { ...QUICK, url: flood.url, token: "gw-token-0123456789abcdef" };
    const ok = await probeGateway(options);
    expect(ok.status).toBe("misconfigured");
    expect(ok.detail).toContain("answer too large: more than 64 KB");
    floodStatus = 503;
    const failing = await probeGateway(options);
    expect(failing).toMatchObject({ status: "down", httpStatus: 503 });
    expect(failing.detail).toContain("answer too large");
    expect(failing.unreachable).toBeUndefined();
    await settled(3);
    expectCutOff();
  });

  it("MaaS: a 200 flood is not the OpenAI API, a 500 flood is down", async () => {
    const options = {
      ...QUICK,
      baseUrl: `${flood.url}/v1`,
      apiKey: "maas-key-0123456789",
      model: "m",
      completion: false,
    };
    const listed = await probeMaas(options);
    expect(listed.status).toBe("not-found");
    expect(listed.detail).toContain("/models: answer too large: more than 1 MB");
    const completed = await probeMaas({ ...options, completion: true });
    expect(completed.status).toBe("not-found");
    floodStatus = 500;
    const failing = await probeMaas(options);
    expect(failing.status).toBe("down");
    expect(failing.detail).toContain("answer too large");
    await settled(3);
    expectCutOff();
  });

  it("Telegram: a flood is down, and not the watchdog's own network", async () => {
    const result = await probeTelegram({ ...QUICK, apiRoot: flood.url, botToken: BOT });
    expect(result.status).toBe("down");
    expect(result.detail).toContain("answer too large: more than 256 KB");
    expect(result.unreachable).toBeUndefined();
    expect(result.detail).not.toContain(BOT);
    await settled(2);
    expectCutOff();
  });

  it("OBS: an oversized object fails once, unretried, and a state that size is set aside", async () => {
    const client = await createObsClient({
      server: flood.url,
      ak: "AKFLOODTEST0123",
      sk: "sk-flood-test-0123456789",
      maxRetryCount: 2,
    });
    const failure = await client.getText("bucket-1", "clawwatch/box/state.json").catch((e) => e);
    expect(failure).toBeInstanceOf(ObsError);
    expect(failure).toMatchObject({ kind: "too-large", attempts: 1 });
    expect(failure.message).toContain(
      `answer too large: more than ${BODY_LIMITS.obs / 1024 ** 2} MB`,
    );
    const copies: string[] = [];
    const store = createObsStateStore({
      client: {
        getText: (bucket, key) => client.getText(bucket, key),
        putText: async () => undefined,
        list: async () => [],
        remove: async () => undefined,
        copy: async (_bucket, _from, to) => copies.push(to),
      },
      bucket: "bucket-1",
      prefix: "clawwatch",
    });
    const loaded = await store.load("box");
    expect(loaded.kind).toBe("corrupt");
    expect(copies).toHaveLength(1);
    await settled(2);
    expectCutOff();
  });

  it("ECS: the SDK stops reading past the cap (axios maxContentLength)", async () => {
    const compute = createEcsCompute({
      auth: { ak: "AKFLOODTEST0123", sk: "sk-flood-test-0123456789", projectId: "p" },
      endpoint: flood.url,
      timeoutMs: 20_000,
      retryDelayMs: 10,
    });
    const failure = await compute.showServer("srv-1").catch((e) => e);
    expect(failure).toBeInstanceOf(ComputeError);
    expect(failure.message).toContain("answer too large: more than 1 MB");
    await settled(2);
    expectCutOff();
  });
});

describe("a gigabyte answer in a whole fleet cycle", () => {
  it("adds under 64 MB of memory, and every box's state is saved", async () => {
    const child = spawn(
      process.execPath,
      [
        "--max-old-space-size=96",
        "--import",
        "tsx",
        fileURLToPath(new URL("../fixtures/bounded/fleet-under-flood.ts", import.meta.url)),
      ],
      {
        env: { ...process.env, HEALTHY_URL: healthy.url, FLOOD_URL: flood.url },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const [code] = (await once(child, "exit")) as [number | null];
    expect(stderr.slice(-2000)).not.toMatch(/heap out of memory|FATAL/);
    expect(code).toBe(0);
    const result = JSON.parse(stdout.trim()) as {
      extraKb: number;
      saved: string[];
      boxes: {
        box: string;
        decided: boolean;
        gateway?: { status: string; detail: string };
        maas?: { status: string; detail: string };
      }[];
    };
    expect(result.saved).toEqual(["after", "before", "flood"]);
    expect(result.boxes.every((b) => b.decided)).toBe(true);
    const flooded = result.boxes.find((b) => b.box === "flood");
    expect(flooded?.gateway?.detail).toContain("answer too large");
    expect(flooded?.maas?.detail).toContain("answer too large");
    expect(result.boxes.find((b) => b.box === "after")?.gateway?.status).toBe("ok");
    expect(result.extraKb).toBeLessThan(64 * 1024);
    expectCutOff();
  }, 120_000);
});
