import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDeployment, readDeploymentFile } from "../../infra/cli/deployment";
import { envRef } from "../../shared/config";
import { ConfigError } from "../../shared/errors";

/** Each config mistake a user makes, with the exact message the CLI prints for it. */

const ENV = {
  GATEWAY_TOKEN: "gateway-token-0123456789",
  MAAS_API_KEY: "maas-key",
  GATEWAY_BOT_TOKEN: "123:abc",
  ALERT_BOT_TOKEN: "456:def",
};

// biome-ignore lint/suspicious/noExplicitAny: each test breaks one arbitrary path of the JSON
function validFile(): Record<string, any> {
  return {
    projectId: "0123456789abcdef0123456789abcdef",
    functions: { vpcId: "vpc-1", subnetId: "subnet-1", apig: { instanceId: "i", groupId: "g" } },
    product: {
      boxDefaults: {
        gateway: { token: envRef("GATEWAY_TOKEN") },
        maas: {
          baseUrl: "https://api.modelarts-maas.com/v1",
          apiKey: envRef("MAAS_API_KEY"),
          model: "deepseek-v3",
        },
      },
      boxes: [
        {
          name: "openclaw-1",
          serverId: "4f1c2a7e-0000-4000-8000-000000000001",
          gateway: { url: "http://192.168.0.10:18789" },
          telegram: { botToken: envRef("GATEWAY_BOT_TOKEN") },
        },
      ],
      alerts: { botToken: envRef("ALERT_BOT_TOKEN"), chatId: -1001234567890 },
      state: { bucket: "my-state" },
    },
  };
}

function problemsOf(raw: unknown, env: Record<string, string> = ENV): string[] {
  try {
    parseDeployment(raw, { target: "huawei", env });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe("deployment config mistakes, each with its exact message", () => {
  it("accepts the valid watch-only file (no server block)", () => {
    expect(problemsOf(validFile())).toEqual([]);
  });

  it("a typo in a product key gets a did-you-mean, at every level", () => {
    const file = validFile();
    file.product.polcy = { thresholds: {} };
    file.product.alerts.allowedUserIDs = [42];
    expect(problemsOf(file)).toEqual([
      'product.alerts.allowedUserIDs: unknown key; did you mean "allowedUserIds"?',
      'product.polcy: unknown key; did you mean "policy"?',
    ]);
  });

  it("a deployment-level typo is the only problem: no false projectId", () => {
    const file = validFile();
    file.functons = {};
    expect(problemsOf(file)).toEqual(['functons: unknown key; did you mean "functions"?']);
  });

  it("an unset variable referenced in boxDefaults is reported once, where it was written", () => {
    const file = validFile();
    file.product.boxes.push({
      ...file.product.boxes[0],
      name: "openclaw-2",
      serverId: "4f1c2a7e-0000-4000-8000-000000000002",
      gateway: { url: "http://192.168.0.11:18789" },
    });
    const { GATEWAY_TOKEN: _unset, ...env } = ENV;
    expect(problemsOf(file, env)).toEqual([
      "product.boxDefaults.gateway.token: environment variable GATEWAY_TOKEN is not set",
    ]);
  });

  it("a gateway URL with a path names the root to use", () => {
    const file = validFile();
    file.product.boxes[0].gateway.url = "http://192.168.0.10:18789/dashboard";
    expect(problemsOf(file)).toEqual([
      'product.boxes.0.gateway.url: the gateway\'s root on its port, without a path: use "http://192.168.0.10:18789" (the probes add /readyz and /healthz themselves)',
    ]);
  });

  it("a secret written into product names the variable to export instead", () => {
    const file = validFile();
    file.product.alerts.botToken = "456:an-inline-token";
    expect(problemsOf(file)).toEqual([
      `product.alerts.botToken: a secret written into the file would land in the functions' plain environment: write "${envRef("ALERT_BOT_TOKEN")}" here and export ALERT_BOT_TOKEN`,
    ]);
  });

  it("a MaaS URL without /v1 names the base to use", () => {
    const file = validFile();
    file.product.boxDefaults.maas.baseUrl = "https://api.modelarts-maas.com";
    expect(problemsOf(file)).toEqual([
      'product.boxDefaults.maas.baseUrl: the OpenAI-compatible base ends in /v1: use "https://api.modelarts-maas.com/v1" (the API URL from the MaaS console\'s "View Call Description", without /chat/completions)',
    ]);
  });

  it("a box without serverId needs a server block", () => {
    const file = validFile();
    delete file.product.boxes[0].serverId;
    expect(problemsOf(file)).toEqual([
      'product.boxes.0.serverId: there is no server block, so this box must name the server it watches: give it serverId and gateway.url (DEPLOY.md, "I already run OpenClaw"), or add a server block for create-server',
    ]);
  });
});

describe("reading the deployment file", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "clawwatch-deployment-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("says where the JSON breaks as line:column, never quoting the text", async () => {
    const file = join(dir, "broken.json");
    await writeFile(file, '{\n  "projectId": "p",\n  "product": { "secret" "456:token" }\n}\n');
    expect(() => readDeploymentFile(file)).toThrow(ConfigError);
    try {
      readDeploymentFile(file);
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        `${file}:3:25 is not valid JSON: expected ':' after property name: check the quotes, commas and brackets`,
      ]);
      expect(String((error as Error).message)).not.toContain("456:token");
    }
  });
});
