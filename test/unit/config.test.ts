import { describe, expect, it } from "vitest";
import {
  envRef,
  loadConfig,
  normaliseMaasBaseUrl,
  parseConfig,
  secretsOf,
} from "../../shared/config";
import { ConfigError } from "../../shared/errors";

const valid = {
  boxes: [
    {
      name: "main",
      serverId: "5a4b3c2d-0000-4000-8000-000000000001",
      gateway: { url: "http://192.168.0.12:18789/", token: envRef("GATEWAY_TOKEN") },
      telegram: { botToken: envRef("GATEWAY_BOT_TOKEN") },
      maas: {
        baseUrl: "https://api.modelarts-maas.com/v1/chat/completions",
        apiKey: envRef("MAAS_API_KEY"),
        model: "deepseek-v3",
      },
    },
  ],
  alerts: { botToken: envRef("ALERT_BOT_TOKEN"), chatId: -100123, allowedUserIds: [42] },
  cloud: { projectId: "0123456789abcdef" },
  state: { bucket: "clawwatch-state" },
};

const env = {
  CLAWWATCH_CONFIG: JSON.stringify(valid),
  GATEWAY_TOKEN: "gw-secret-token",
  GATEWAY_BOT_TOKEN: "123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  MAAS_API_KEY: "maas-secret-key",
  ALERT_BOT_TOKEN: "987654321:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
};

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("loads from env, substitutes env references for secrets and fills defaults", () => {
    const config = loadConfig(env);
    const box = config.boxes[0];
    expect(box?.gateway.token).toBe("gw-secret-token");
    expect(box?.gateway.url).toBe("http://192.168.0.12:18789");
    expect(box?.maas.baseUrl).toBe("https://api.modelarts-maas.com/v1");
    expect(config.state.prefix).toBe("clawwatch");
    expect(config.cloud.region).toBe("cn-north-4");
    expect(config.policy.failureThreshold).toBe(3);
    expect(config.probes.gatewayTimeout).toBe(5_000);
    expect(config.runtime.concurrency).toBe(32);
  });

  it("lists every problem with its path and a hint", () => {
    const broken = {
      ...valid,
      boxes: [{ ...valid.boxes[0], name: "Bad Name", maas: { baseUrl: "ftp://x", model: "" } }],
      alerts: { chatId: "general" },
      state: { bucket: "A" },
    };
    const problems = problemsOf(() => parseConfig(broken));
    const text = problems.join("\n");
    expect(text).toContain("boxes.0.name:");
    expect(text).toContain("boxes.0.maas.baseUrl:");
    expect(text).toContain("View Call Description");
    expect(text).toContain("boxes.0.maas.apiKey:");
    expect(text).toContain("alerts.botToken:");
    expect(text).toContain("alerts.chatId:");
    expect(text).toContain("state.bucket:");
    expect(problems.length).toBeGreaterThanOrEqual(7);
  });

  it("names unset environment variables without printing any secret", () => {
    const { MAAS_API_KEY: _, ...partial } = env;
    const problems = problemsOf(() => loadConfig(partial));
    expect(problems).toContain("boxes.0.maas.apiKey: environment variable MAAS_API_KEY is not set");
    expect(problems.join("\n")).not.toContain("gw-secret-token");
  });

  it("explains a missing or unreadable config", () => {
    expect(problemsOf(() => loadConfig({}))[0]).toMatch(/set CLAWWATCH_CONFIG/);
    expect(problemsOf(() => loadConfig({ CLAWWATCH_CONFIG: "{" }))[0]).toMatch(/not valid JSON/);
    expect(problemsOf(() => loadConfig({ CLAWWATCH_CONFIG_FILE: "/nonexistent.json" }))[0]).toMatch(
      /cannot read config file/,
    );
  });

  it("rejects an alert bot token that is a gateway's bot token, naming the box, not the token", () => {
    const same = { ...env, ALERT_BOT_TOKEN: env.GATEWAY_BOT_TOKEN };
    const problems = problemsOf(() => loadConfig(same));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^alerts\.botToken: is also the gateway bot of box "main" \(boxes\.0\.telegram\.botToken\)/,
    );
    expect(problems[0]).toMatch(/409 Conflict/);
    expect(problems[0]).toMatch(/separate alert bot/);
    expect(problems.join("\n")).not.toContain(env.GATEWAY_BOT_TOKEN);
  });

  it("rejects duplicate box names", () => {
    const twice = { ...valid, boxes: [valid.boxes[0], valid.boxes[0]] };
    expect(problemsOf(() => parseConfig(twice, [])).join()).toMatch(/unique/);
  });

  it("collects every secret for the redactor", () => {
    const secrets = secretsOf(loadConfig(env));
    expect(secrets).toEqual(
      expect.arrayContaining([
        env.GATEWAY_TOKEN,
        env.GATEWAY_BOT_TOKEN,
        env.MAAS_API_KEY,
        env.ALERT_BOT_TOKEN,
      ]),
    );
  });

  it("normalises both MaaS URL forms to the base", () => {
    expect(normaliseMaasBaseUrl("https://h/v1/chat/completions/")).toBe("https://h/v1");
    expect(normaliseMaasBaseUrl("https://h/v1")).toBe("https://h/v1");
  });
});

describe("boxDefaults", () => {
  it("is merged under every box, the box's own values winning", () => {
    const { boxes: _, ...rest } = valid;
    const box = valid.boxes[0] as (typeof valid.boxes)[number];
    const config = loadConfig({
      ...env,
      CLAWWATCH_CONFIG: JSON.stringify({
        ...rest,
        boxDefaults: { maas: box.maas, gateway: { token: box.gateway.token } },
        boxes: [
          {
            name: "a",
            serverId: "s-a",
            gateway: { url: "http://10.0.0.1:18789" },
            telegram: box.telegram,
          },
          {
            name: "b",
            serverId: "s-b",
            gateway: { url: "http://10.0.0.2:18789", token: "own-token" },
            telegram: box.telegram,
          },
        ],
      }),
    });
    expect(config.boxes.map((b) => b.gateway.token)).toEqual(["gw-secret-token", "own-token"]);
    expect(config.boxes[1]?.maas.model).toBe("deepseek-v3");
  });
});
