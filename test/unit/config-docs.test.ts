import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  deploymentJsonSchema,
  REFERENCE_FILE,
  referenceMarkdown,
  SCHEMA_FILE,
} from "../../infra/cli/config-docs";
import { parseDeployment } from "../../infra/cli/deployment";

/** The committed example, editor schema and reference table agree with the schemas. */

const root = resolve(__dirname, "../..");
const read = (file: string) => readFileSync(resolve(root, file), "utf8");

describe("config docs", () => {
  it("clawwatch.deploy.example.json is a valid deployment for Huawei Cloud", () => {
    const example = JSON.parse(read("clawwatch.deploy.example.json"));
    const env = {
      GATEWAY_TOKEN: "gateway-token-0123456789",
      MAAS_API_KEY: "maas-key",
      GATEWAY_BOT_TOKEN: "123:abc",
      ALERT_BOT_TOKEN: "456:def",
      WEBHOOK_SECRET: "webhook-secret-0123456789",
    };
    const deployment = parseDeployment(example, { target: "huawei", env });
    expect(deployment.server?.name).toBe("openclaw-1");
    expect(Object.keys(deployment.secrets).sort()).toEqual(Object.keys(env).sort());
  });

  it(`${SCHEMA_FILE} is the one npm run config-docs generates`, () => {
    expect(JSON.parse(read(SCHEMA_FILE))).toEqual(deploymentJsonSchema());
  });

  it(`${REFERENCE_FILE} lists every policy and probes key with its unit and default`, () => {
    expect(read(REFERENCE_FILE)).toBe(referenceMarkdown());
    expect(referenceMarkdown()).toContain(
      '| `probes.gatewayTimeout` | duration ("30s", "5m", "1h30m" or ms) | `"5s"` |',
    );
  });
});
