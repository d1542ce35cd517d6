import { describe, expect, it } from "vitest";
import { type DedicatedGateway, webhookUrlFor } from "../../infra/deploy/apig";

const gateway: DedicatedGateway = {
  instanceId: "apig-1",
  groupId: "group-1",
  envName: "RELEASE",
  envId: "DEFAULT_ENVIRONMENT_RELEASE_ID",
  slDomain: "0a1b2c.apic.cn-north-4.huaweicloudapis.com",
  boundDomains: ["hooks.example.com"],
};
const invokeUrl = "https://0a1b2c.apic.cn-north-4.huaweicloudapis.com/clawwatch/telegram";

describe("webhookUrlFor", () => {
  it("uses a bound domain without a warning", () => {
    expect(webhookUrlFor(gateway, invokeUrl, "/clawwatch/telegram", "hooks.example.com")).toEqual({
      url: "https://hooks.example.com/clawwatch/telegram",
    });
  });

  it("refuses a domain the group does not have bound", () => {
    expect(() =>
      webhookUrlFor(gateway, invokeUrl, "/clawwatch/telegram", "other.example.com"),
    ).toThrow(/other.example.com is not bound to API group group-1 \(bound: hooks.example.com\)/);
  });

  it("warns when the webhook would be the debug domain", () => {
    const hook = webhookUrlFor(gateway, invokeUrl, "/clawwatch/telegram", undefined);
    expect(hook.url).toBe(invokeUrl);
    expect(hook.warning).toMatch(/debug domain.*1,000 calls a day.*functions.apig.domain/);
  });
});
