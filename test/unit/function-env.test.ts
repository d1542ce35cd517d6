import { describe, expect, it } from "vitest";
import { envRef } from "../../shared/config";
import { functionEnv, loadFunctionConfig } from "../../shared/runtime/env";

const context = (userData: Record<string, string>) => ({
  getUserData: (key: string) => userData[key],
});

describe("functionEnv", () => {
  it("reads the context first, then RUNTIME_USERDATA, then process.env", () => {
    const lookup = functionEnv(context({ A: "from-context", E: "" }), {
      RUNTIME_USERDATA: JSON.stringify({ A: "from-userdata", B: "from-userdata" }),
      A: "from-env",
      B: "from-env",
      C: "from-env",
      E: "from-env",
    });
    expect(lookup("A")).toBe("from-context");
    expect(lookup("B")).toBe("from-userdata");
    expect(lookup("C")).toBe("from-env");
    // An empty value from the context is "not set": the next source answers.
    expect(lookup("E")).toBe("from-env");
    expect(lookup("D")).toBeUndefined();
  });

  it("ignores a RUNTIME_USERDATA that is not a JSON object", () => {
    for (const raw of ["{", "[1]", "null", "x".repeat(9000)]) {
      expect(functionEnv(context({}), { RUNTIME_USERDATA: raw, A: "env" })("A")).toBe("env");
    }
  });

  it("loads the config with secrets that only the context has", () => {
    const config = {
      boxes: [
        {
          name: "box-1",
          serverId: "3f0b7c9e-2a41-4d6b-9e55-0c2f7a1d8b64",
          gateway: { url: "http://192.0.2.10:18789", token: envRef("GATEWAY_TOKEN") },
          telegram: { botToken: envRef("BOT_1") },
          maas: {
            baseUrl: "https://maas.example.test/v1",
            apiKey: envRef("MAAS_API_KEY"),
            model: "m",
          },
        },
      ],
      alerts: { botToken: envRef("ALERT_BOT_TOKEN"), chatId: -100123 },
      cloud: { region: "cn-north-4", projectId: "p" },
      state: { bucket: "clawwatch-state" },
    };
    const secrets = {
      GATEWAY_TOKEN: "gw-secret",
      BOT_1: "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi",
      MAAS_API_KEY: "maas-secret",
      ALERT_BOT_TOKEN: "654321:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi",
    };
    const plain = { CLAWWATCH_CONFIG: JSON.stringify(config) };
    const loaded = loadFunctionConfig(context({ ...plain, ...secrets }), {
      RUNTIME_USERDATA: JSON.stringify(plain),
    });
    expect(loaded.boxes[0]?.gateway.token).toBe("gw-secret");
    expect(loaded.alerts.botToken).toBe(secrets.ALERT_BOT_TOKEN);
  });
});
