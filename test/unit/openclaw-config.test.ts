import { describe, expect, it } from "vitest";
import {
  gatewayEnvironment,
  type OpenclawConfigInput,
  openclawPaths,
  renderOpenclawConfig,
  VPC_ADDRESS_PLACEHOLDER,
} from "../../infra/openclaw/config";
import { ConfigError } from "../../shared/errors";

const secrets = {
  gatewayToken: "gw-0123456789abcdef0123",
  maasKey: "maas-key-abcdef",
  botToken: "123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
};

const box: OpenclawConfigInput = {
  target: "box",
  stateDir: "/var/lib/openclaw/state/",
  workspaceDir: "/mnt/data/clawd",
  gateway: { token: secrets.gatewayToken, bindHost: "192.168.0.12" },
  maas: {
    baseUrl: "https://api.modelarts-maas.com/v1/chat/completions/",
    apiKey: secrets.maasKey,
    model: "DeepSeek-V3",
  },
  telegram: { botToken: secrets.botToken, allowFrom: [424242, "515151"] },
};

const local: OpenclawConfigInput = {
  target: "local",
  stateDir: "/tmp/guest/state",
  gateway: { token: secrets.gatewayToken, port: 40_693, httpChatCompletions: true },
  maas: { baseUrl: "http://127.0.0.1:4010/v1", apiKey: secrets.maasKey, model: "fake-model" },
  telegram: {
    botToken: secrets.botToken,
    allowFrom: ["424242"],
    apiRoot: "http://127.0.0.1:4020/",
  },
};

function problemsOf(input: unknown): readonly string[] {
  try {
    renderOpenclawConfig(input as OpenclawConfigInput);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

/** Every JSON path whose string value contains `needle`. */
function pathsHolding(value: unknown, needle: string, path = ""): string[] {
  if (typeof value === "string") return value.includes(needle) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => pathsHolding(v, needle, `${path}.${i}`));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => pathsHolding(v, needle, `${path}.${k}`));
  }
  return [];
}

describe("renderOpenclawConfig", () => {
  it("renders the box target: VPC bind, token auth, MaaS provider, Telegram, no updates or heartbeat", () => {
    const { config } = renderOpenclawConfig(box);
    expect(config).toEqual({
      gateway: {
        mode: "local",
        port: 18789,
        bind: "custom",
        customBindHost: "192.168.0.12",
        auth: { mode: "token", token: secrets.gatewayToken },
      },
      update: { checkOnStart: false },
      logging: { file: "/var/lib/openclaw/state/logs/openclaw.log" },
      models: {
        mode: "merge",
        catalogRefresh: { enabled: false },
        providers: {
          maas: {
            baseUrl: "https://api.modelarts-maas.com/v1",
            apiKey: secrets.maasKey,
            api: "openai-completions",
            models: [
              {
                id: "DeepSeek-V3",
                name: "DeepSeek-V3",
                reasoning: false,
                input: ["text"],
                contextWindow: 128_000,
                maxTokens: 4_096,
              },
            ],
          },
        },
      },
      agents: {
        defaults: {
          model: { primary: "maas/DeepSeek-V3" },
          heartbeat: { every: "0m" },
          workspace: "/mnt/data/clawd",
        },
      },
      channels: {
        telegram: {
          enabled: true,
          botToken: secrets.botToken,
          dmPolicy: "allowlist",
          allowFrom: ["424242", "515151"],
        },
      },
    });
  });

  it("renders the local target: loopback, its own port, apiRoot and chat endpoint only when asked", () => {
    const { config } = renderOpenclawConfig(local);
    expect(config.gateway).toEqual({
      mode: "local",
      port: 40_693,
      bind: "loopback",
      auth: { mode: "token", token: secrets.gatewayToken },
      http: { endpoints: { chatCompletions: { enabled: true } } },
    });
    expect(config.channels.telegram.apiRoot).toBe("http://127.0.0.1:4020");
    expect(config.logging.file).toBe("/tmp/guest/state/logs/openclaw.log");
    expect(config.agents.defaults).not.toHaveProperty("workspace");
    expect(renderOpenclawConfig(box).config.channels.telegram).not.toHaveProperty("apiRoot");
    expect(renderOpenclawConfig(box).config.gateway).not.toHaveProperty("http");
  });

  it("never lets the base URL end in /chat/completions, whatever the console gave", () => {
    for (const url of [
      "https://maas.example.com/v1/chat/completions",
      "https://maas.example.com/v1/chat/completions/",
      "https://maas.example.com/v1/",
      "https://maas.example.com/v1",
    ]) {
      const { config } = renderOpenclawConfig({ ...box, maas: { ...box.maas, baseUrl: url } });
      expect(config.models.providers.maas?.baseUrl).toBe("https://maas.example.com/v1");
    }
  });

  it("puts each secret in exactly the one place it belongs", () => {
    const { config } = renderOpenclawConfig(box);
    expect(pathsHolding(config, secrets.gatewayToken)).toEqual([".gateway.auth.token"]);
    expect(pathsHolding(config, secrets.maasKey)).toEqual([".models.providers.maas.apiKey"]);
    expect(pathsHolding(config, secrets.botToken)).toEqual([".channels.telegram.botToken"]);
  });

  it("toJson is stable, parseable and ends in a newline", () => {
    const rendered = renderOpenclawConfig(box);
    const json = rendered.toJson();
    expect(json.endsWith("}\n")).toBe(true);
    expect(JSON.parse(json)).toEqual(rendered.config);
    expect(renderOpenclawConfig(box).toJson()).toBe(json);
  });

  it("accepts the VPC address placeholder for the box, filled in on the box", () => {
    const { config } = renderOpenclawConfig({
      ...box,
      gateway: { token: secrets.gatewayToken, bindHost: VPC_ADDRESS_PLACEHOLDER },
    });
    expect(config.gateway.customBindHost).toBe(VPC_ADDRESS_PLACEHOLDER);
  });

  it("lists every invalid field at once, without echoing secrets", () => {
    const problems = problemsOf({
      target: "box",
      stateDir: "relative/state",
      gateway: { token: "short-secret", port: 70_000 },
      maas: { baseUrl: "ftp://maas", apiKey: "", model: "has space" },
      telegram: { botToken: secrets.botToken, dmPolicy: "allowlist", apiRoot: "https://x/bot123" },
    });
    const text = problems.join("\n");
    for (const path of [
      "openclaw.stateDir",
      "openclaw.gateway.token",
      "openclaw.gateway.port",
      "openclaw.maas.baseUrl",
      "openclaw.maas.apiKey",
      "openclaw.maas.model",
      "openclaw.telegram.apiRoot",
    ]) {
      expect(text).toContain(path);
    }
    expect(text).not.toContain("short-secret");
    expect(text).not.toContain(secrets.botToken);
  });

  it("checks target rules: box needs a bind host, local must not have one, allowlist needs ids", () => {
    expect(problemsOf({ ...box, gateway: { token: secrets.gatewayToken } })).toEqual([
      expect.stringMatching(/^openclaw\.gateway\.bindHost: .*VPC address/),
    ]);
    expect(
      problemsOf({ ...local, gateway: { token: secrets.gatewayToken, bindHost: "10.0.0.5" } }),
    ).toEqual([expect.stringMatching(/^openclaw\.gateway\.bindHost: .*loopback/)]);
    expect(problemsOf({ ...box, telegram: { botToken: secrets.botToken } })).toEqual([
      expect.stringMatching(/^openclaw\.telegram\.allowFrom: .*pairing/),
    ]);
    const pairing = renderOpenclawConfig({
      ...box,
      telegram: { botToken: secrets.botToken, dmPolicy: "pairing" },
    });
    expect(pairing.config.channels.telegram).toMatchObject({ dmPolicy: "pairing", allowFrom: [] });
  });
});

describe("openclawPaths and gatewayEnvironment", () => {
  it("keeps config and logs in the state dir", () => {
    expect(openclawPaths("/s")).toEqual({
      configFile: "/s/openclaw.json",
      logDir: "/s/logs",
      logFile: "/s/logs/openclaw.log",
    });
  });

  it("turns auto-update and bonjour off and moves temp files out of /tmp", () => {
    expect(
      gatewayEnvironment({ stateDir: "/s", tmpDir: "/t", workspaceDir: "/w", offline: true }),
    ).toEqual({
      OPENCLAW_STATE_DIR: "/s",
      OPENCLAW_WORKSPACE_DIR: "/w",
      OPENCLAW_NO_AUTO_UPDATE: "1",
      OPENCLAW_DISABLE_BONJOUR: "1",
      OPENCLAW_OFFLINE: "1",
      TMPDIR: "/t",
    });
  });
});
