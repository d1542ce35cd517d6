import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalCloud, startLocalCloud } from "../../infra/local/cloud";

let dir: string;
let cloud: LocalCloud;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "clawwatch-cloud-"));
  cloud = await startLocalCloud({ dir: join(dir, "cloud"), timeScale: 0.01, boxes: 2 });
});

afterAll(async () => {
  await cloud?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("the local cloud", () => {
  it("writes every endpoint and the test credentials to endpoints.json (mode 600)", async () => {
    const written = JSON.parse(await readFile(cloud.endpointsFile, "utf8"));
    expect(written).toEqual(cloud.endpoints);
    for (const key of [
      "ecs",
      "obs",
      "functionGraph",
      "apig",
      "vpc",
      "telegram",
      "maas",
      "control",
    ]) {
      expect(written[key]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    }
    expect(written.boxes).toHaveLength(2);
    expect(
      new Set(written.boxes.map((b: { telegramBot: { token: string } }) => b.telegramBot.token))
        .size,
    ).toBe(2);
    expect((await stat(cloud.endpointsFile)).mode & 0o777).toBe(0o600);
  });

  it("serves a ready stand-in gateway for every box", async () => {
    for (const box of cloud.endpoints.boxes) {
      const res = await fetch(`${box.gatewayUrl}/healthz`);
      expect(res.status).toBe(200);
    }
  });

  it("control API: lists services, routes actions, resets faults, refuses unknown paths", async () => {
    const list = (await (await fetch(cloud.endpoints.control)).json()) as {
      services: { name: string }[];
    };
    expect(list.services.map((s) => s.name).sort()).toEqual([
      "ecs",
      "functiongraph",
      "iam",
      "maas",
      "obs",
      "telegram",
      "vpc",
    ]);
    await cloud.control("maas", "status", { status: 500 });
    const down = await fetch(`${cloud.endpoints.maas}/v1/models`, {
      headers: { authorization: `Bearer ${cloud.endpoints.maasApi.apiKey}` },
    });
    expect(down.status).toBe(500);
    const reset = await fetch(`${cloud.endpoints.control}/reset`, { method: "POST" });
    expect(reset.status).toBe(200);
    const up = await fetch(`${cloud.endpoints.maas}/v1/models`, {
      headers: { authorization: `Bearer ${cloud.endpoints.maasApi.apiKey}` },
    });
    expect(up.status).toBe(200);
    await expect(cloud.control("nope", "x")).rejects.toThrow(/404/);
    await expect(cloud.control("ecs", "no-such-action")).rejects.toThrow(/400/);
    const get = await fetch(`${cloud.endpoints.control}/ecs/servers`);
    expect(get.status).toBe(405);
  });
});

describe("npm run local-cloud", () => {
  it("starts, writes endpoints.json, and stops on SIGINT", async () => {
    const cliDir = join(dir, "cli");
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "infra/local/main.ts", "--dir", cliDir],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    try {
      for (let i = 0; i < 200 && !out.includes("endpoints and test credentials"); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(out).toMatch(/local cloud ready in \d+ ms/);
      const endpoints = JSON.parse(await readFile(join(cliDir, "endpoints.json"), "utf8"));
      expect(endpoints.ecs).toMatch(/^http:\/\/127\.0\.0\.1:/);
      expect(out).not.toContain(endpoints.credentials.sk);
    } finally {
      const exited = new Promise((r) => child.once("exit", r));
      if (child.pid) process.kill(child.pid, "SIGINT");
      await exited;
    }
  });
});
