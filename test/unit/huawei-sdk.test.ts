import { describe, expect, it } from "vitest";
import { createFunctionGraphClient } from "../../infra/deploy/fgs-client";
import { createEcsClient } from "../../shared/cloud/ecs-client";
import { normaliseEndpoint } from "../../shared/cloud/huawei-sdk";
import { ConfigError } from "../../shared/errors";

const auth = { ak: "AK", sk: "SK", projectId: "p" };

describe("building Huawei SDK clients", () => {
  it("refuses a region without a built-in endpoint, naming the service", () => {
    expect(() => createEcsClient({ auth, region: "mars-1" })).toThrow(ConfigError);
    expect(() => createFunctionGraphClient({ auth, region: "mars-1" })).toThrow(
      /FunctionGraph has no built-in endpoint for "mars-1"/,
    );
  });

  it("needs an endpoint or a region", () => {
    expect(() => createEcsClient({ auth })).toThrow(/ECS client: set an endpoint or a region/);
  });

  it("builds for a known region or a custom endpoint", () => {
    expect(createEcsClient({ auth, region: "cn-north-4" })).toBeDefined();
    expect(createFunctionGraphClient({ auth, endpoint: "http://127.0.0.1:1/" })).toBeDefined();
  });

  it("strips trailing slashes, which would break the signature", () => {
    expect(normaliseEndpoint("http://127.0.0.1:9/")).toBe("http://127.0.0.1:9");
  });
});
