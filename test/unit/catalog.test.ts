import { describe, expect, it } from "vitest";
import { COMPONENT_INFO, probedComponents } from "../../shared/policy/components";
import { COMPONENTS } from "../../shared/policy/state";
import { BOOTING_SERVER } from "../../shared/policy/verdicts";
import { PROBE_INFO, PROBES, toneOf } from "../../shared/probes/catalog";

describe("probe catalog", () => {
  it("gives a status one tone whichever probe reports it", () => {
    const seen = new Map<string, string>();
    for (const probe of PROBES) {
      for (const [status, tone] of Object.entries(PROBE_INFO[probe].tones)) {
        expect(seen.get(status) ?? tone, `${probe} ${status}`).toBe(tone);
        seen.set(status, tone);
      }
    }
  });

  it("reads causes and unknown verdicts by the status they are named after", () => {
    expect(toneOf("rate-limited")).toBe("warning");
    expect(toneOf("REBOOT")).toBe("waiting");
    expect(toneOf("error")).toBe("warning");
    expect(toneOf("maas-down")).toBe("failing");
    expect(toneOf("skipped")).toBe("failing");
  });
});

describe("component catalog", () => {
  it("names a known probe for every probed component, in COMPONENTS order", () => {
    const probed = probedComponents();
    expect(probed.map((p) => p.component)).toEqual(
      COMPONENTS.filter((c) => COMPONENT_INFO[c].probe !== undefined),
    );
    for (const { probe } of probed) expect(PROBES).toContain(probe);
  });
});

describe("the server's /status tones", () => {
  it("show as waiting exactly the statuses the policy waits on", () => {
    const waiting = Object.entries(PROBE_INFO.server.tones)
      .filter(([, tone]) => tone === "waiting")
      .map(([status]) => status);
    expect(waiting.sort()).toEqual([...BOOTING_SERVER].sort());
  });
});
