import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NotifyError } from "../../shared/errors";
import {
  CALLBACK_ACTIONS,
  CALLBACK_DATA_MAX_BYTES,
  CallbackDataError,
  type CallbackPayload,
  decodeCallback,
  encodeCallback,
} from "../../shared/notify/callback-data";
import { COMPONENTS } from "../../shared/policy/state";
import { incidentRef } from "../../shared/policy/text";

const LONGEST_BOX = `a${"-".repeat(38)}z`;
const bytes = (text: string): number => Buffer.byteLength(text, "utf8");

const boxArb = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,39}$/);
const payloadArb: fc.Arbitrary<CallbackPayload> = fc.record(
  {
    action: fc.constantFrom(...CALLBACK_ACTIONS),
    box: boxArb,
    arg: fc.stringMatching(/^[A-Za-z0-9_.-]{1,10}$/),
    component: fc.constantFrom(...COMPONENTS),
  },
  { requiredKeys: ["action", "box"] },
);

describe("callback data", () => {
  it("round-trips every action", () => {
    for (const action of CALLBACK_ACTIONS) {
      const payload: CallbackPayload = { action, box: "prod-gw" };
      expect(decodeCallback(encodeCallback(payload))).toEqual(payload);
    }
  });

  it("is compact and versioned", () => {
    expect(encodeCallback({ action: "ack", box: "prod-gw", arg: "1h", component: "maas" })).toBe(
      "1:a:prod-gw:1h:maas",
    );
    expect(encodeCallback({ action: "status", box: "b1" })).toBe("1:s:b1");
    expect(encodeCallback({ action: "ack", box: "b1", component: "gateway" })).toBe(
      "1:a:b1::gateway",
    );
    expect(decodeCallback("2:a:prod-gw:1h")).toBeUndefined();
  });

  it("fits in 64 bytes in the longest case: 40-character box, 10-character arg, longest component", () => {
    const longest: CallbackPayload = {
      action: "rebootstrap-confirm",
      box: LONGEST_BOX,
      arg: "x".repeat(10),
      component: "telegram",
    };
    const data = encodeCallback(longest);
    expect(bytes(data)).toBeLessThanOrEqual(CALLBACK_DATA_MAX_BYTES);
    expect(decodeCallback(data)).toEqual(longest);
    // A stamp-sized arg (unix seconds in base 36) on a confirmation fits too.
    const stamp = Math.floor(Date.UTC(2100, 0, 1) / 1000).toString(36);
    expect(
      decodeCallback(encodeCallback({ action: "reboot-confirm", box: LONGEST_BOX, arg: stamp })),
    ).toBeDefined();
  });

  it("carries an Ack's incident reference, and still fits 64 bytes with the longest box", () => {
    const ack: CallbackPayload = {
      action: "ack",
      box: LONGEST_BOX,
      arg: "1h",
      component: "watchdog",
      incident: incidentRef(`${LONGEST_BOX}.watchdog.1764849600000`),
    };
    const data = encodeCallback(ack);
    expect(bytes(data)).toBe(CALLBACK_DATA_MAX_BYTES);
    expect(decodeCallback(data)).toEqual(ack);
    expect(encodeCallback({ ...ack, box: "b1" })).toBe(`1:a:b1:1h:watchdog:${ack.incident}`);
    // A reference needs its component, and exactly 7 characters.
    expect(() => encodeCallback({ action: "ack", box: "b1", incident: "abcdefg" })).toThrow(
      CallbackDataError,
    );
    expect(() => encodeCallback({ ...ack, incident: "abc" })).toThrow(CallbackDataError);
    expect(decodeCallback("1:a:b1:1h:gateway:abc")).toBeUndefined();
    expect(decodeCallback("1:a:b1:1h:gateway:abcdefg:x")).toBeUndefined();
  });

  it("refuses at encode time what would not fit or could not be read back", () => {
    const tooLong = (): string =>
      encodeCallback({
        action: "ack",
        box: LONGEST_BOX,
        arg: "y".repeat(20),
        component: "watchdog",
      });
    expect(tooLong).toThrow(CallbackDataError);
    expect(tooLong).toThrow(/64/);
    expect(() => encodeCallback({ action: "ack", box: `${LONGEST_BOX}x` })).toThrow(
      CallbackDataError,
    );
    expect(() => encodeCallback({ action: "ack", box: "Prod" })).toThrow(CallbackDataError);
    expect(() => encodeCallback({ action: "ack", box: "b1", arg: "1:h" })).toThrow(
      CallbackDataError,
    );
    expect(() => encodeCallback({ action: "ack", box: "b1", arg: "" })).toThrow(CallbackDataError);
    expect(new CallbackDataError("x")).toBeInstanceOf(NotifyError);
  });

  it("decodes malformed or unknown data to undefined", () => {
    for (const data of [
      "",
      "1",
      "1:a",
      "1:a:",
      "1:q:box",
      "1:a:Box",
      "1:a:box:",
      "1:a:box::",
      "1:a:box:1h:kitchen",
      "1:a:box:1h:gateway:extra",
      "1:a:box:1 h",
      `1:a:${LONGEST_BOX}x`,
      `1:s:${"a".repeat(70)}`,
      "v1:a:box",
      "ack:box",
    ]) {
      expect(decodeCallback(data), data).toBeUndefined();
    }
    for (const data of [undefined, null, 42, {}, ["1:a:box"]]) {
      expect(decodeCallback(data)).toBeUndefined();
    }
  });

  it("round-trips any valid payload within 64 bytes", () => {
    fc.assert(
      fc.property(payloadArb, (payload) => {
        const data = encodeCallback(payload);
        expect(bytes(data)).toBeLessThanOrEqual(CALLBACK_DATA_MAX_BYTES);
        expect(decodeCallback(data)).toEqual(payload);
      }),
    );
  });

  it("never throws on arbitrary input, and only accepts what it would write itself", () => {
    const nearMiss = fc
      .array(fc.constantFrom("1", ":", "a", "m", "R", "x", "b", "-", "1h", "gateway", ""), {
        maxLength: 12,
      })
      .map((parts) => parts.join(""));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), nearMiss), (data) => {
        const payload = decodeCallback(data);
        if (payload !== undefined) expect(encodeCallback(payload)).toBe(data);
      }),
      { numRuns: 1_000 },
    );
  });
});
