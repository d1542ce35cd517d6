import { describe, expect, it } from "vitest";
import { parseCommand, readDuration, splitCommand } from "../../shared/receiver";

const H = 3_600_000;
const one = { boxes: ["prod"], ackDefaultMs: H };
const two = { boxes: ["prod", "lab"], ackDefaultMs: H };

function parse(text: string, context = one) {
  const split = splitCommand(text);
  if (!split) throw new Error(`not a command: ${text}`);
  return parseCommand(split, context);
}

describe("splitCommand", () => {
  it("splits name, mention and words", () => {
    expect(splitCommand("/mute@Alerts_Bot  prod 2h  deploy now")).toEqual({
      name: "mute",
      mention: "Alerts_Bot",
      args: ["prod", "2h", "deploy", "now"],
    });
    expect(splitCommand("/STATUS")).toEqual({ name: "status", args: [] });
    expect(splitCommand("/ack\n2h")).toEqual({ name: "ack", args: ["2h"] });
  });

  it("refuses what is not a command", () => {
    for (const text of [
      "status",
      "/",
      "/ status",
      "/status-now",
      "/status@",
      "/a@b@c",
      `/${"x".repeat(33)}`,
    ]) {
      expect(splitCommand(text), text).toBeUndefined();
    }
  });
});

describe("parseCommand with one box", () => {
  it("makes the box optional", () => {
    expect(parse("/status")).toEqual({ ok: true, request: { kind: "status", boxes: ["prod"] } });
    expect(parse("/status prod")).toEqual({
      ok: true,
      request: { kind: "status", boxes: ["prod"] },
    });
    expect(parse("/reboot")).toEqual({ ok: true, request: { kind: "reboot", box: "prod" } });
    expect(parse("/rebootstrap PROD")).toEqual({
      ok: true,
      request: { kind: "rebootstrap", box: "prod" },
    });
    expect(parse("/history")).toEqual({ ok: true, request: { kind: "history", boxes: ["prod"] } });
  });

  it("acks for the default or the given duration", () => {
    expect(parse("/ack")).toEqual({
      ok: true,
      request: { kind: "ack", box: "prod", durationMs: H },
    });
    expect(parse("/ack 1h30m")).toEqual({
      ok: true,
      request: { kind: "ack", box: "prod", durationMs: 1.5 * H },
    });
    expect(parse("/ack prod 2h")).toEqual({
      ok: true,
      request: { kind: "ack", box: "prod", durationMs: 2 * H },
    });
  });

  it("mutes with a required duration and an optional reason", () => {
    expect(parse("/mute 4h deploying the <new> gateway")).toEqual({
      ok: true,
      request: {
        kind: "mute",
        box: "prod",
        durationMs: 4 * H,
        reason: "deploying the <new> gateway",
      },
    });
    expect(parse("/mute 30m")).toEqual({
      ok: true,
      request: { kind: "mute", box: "prod", durationMs: 30 * 60_000 },
    });
    expect(parse("/mute")).toMatchObject({
      ok: false,
      problem: expect.stringContaining("how long"),
    });
    expect(parse(`/mute 1h ${"why ".repeat(100)}`)).toMatchObject({ ok: true });
    const long = parse(`/mute 1h ${"y".repeat(500)}`);
    expect(long).toMatchObject({ ok: true, request: { reason: `${"y".repeat(199)}…` } });
  });

  it("explains bad input", () => {
    expect(parse("/ack 30")).toMatchObject({ ok: false, problem: expect.stringContaining("unit") });
    expect(parse("/ack 10s")).toMatchObject({
      ok: false,
      problem: expect.stringContaining("range"),
    });
    expect(parse("/ack 30d")).toMatchObject({ ok: false });
    expect(parse("/ack 2x")).toMatchObject({
      ok: false,
      problem: expect.stringContaining("not a duration"),
    });
    expect(parse("/ack 2h extra")).toMatchObject({ ok: false });
    expect(parse("/unmute now")).toMatchObject({
      ok: false,
      problem: expect.stringContaining("Unknown box"),
    });
    expect(parse("/reboot other")).toMatchObject({
      ok: false,
      problem: expect.stringContaining("prod"),
    });
    expect(parse("/status other")).toMatchObject({ ok: false });
  });

  it("gives undefined for an unknown command and help for /help and /start", () => {
    expect(parse("/frobnicate")).toBeUndefined();
    expect(parse("/help")).toEqual({ ok: true, request: { kind: "help" } });
    expect(parse("/start")).toEqual({ ok: true, request: { kind: "help" } });
  });
});

describe("parseCommand with several boxes", () => {
  it("asks which box for actions", () => {
    const answer = parse("/ack 2h", two);
    expect(answer).toMatchObject({ ok: false, problem: expect.stringContaining("Which box?") });
    expect(answer).toMatchObject({ problem: expect.stringContaining("prod, lab") });
    expect(parse("/reboot", two)).toMatchObject({ ok: false });
    expect(parse("/mute 1h", two)).toMatchObject({ ok: false });
  });

  it("takes the box first", () => {
    expect(parse("/ack lab 2h", two)).toEqual({
      ok: true,
      request: { kind: "ack", box: "lab", durationMs: 2 * H },
    });
    expect(parse("/mute lab 1h maintenance", two)).toMatchObject({
      ok: true,
      request: { box: "lab", reason: "maintenance" },
    });
    expect(parse("/ack ghost 2h", two)).toMatchObject({
      ok: false,
      problem: expect.stringContaining('Unknown box "ghost"'),
    });
  });

  it("reports on every box when none is named", () => {
    expect(parse("/status", two)).toEqual({
      ok: true,
      request: { kind: "status", boxes: ["prod", "lab"] },
    });
    expect(parse("/history lab", two)).toEqual({
      ok: true,
      request: { kind: "history", boxes: ["lab"] },
    });
  });
});

describe("readDuration", () => {
  it("keeps operator durations between a minute and a week", () => {
    expect(readDuration("1m")).toBe(60_000);
    expect(readDuration("7d")).toBe(7 * 24 * H);
    expect(typeof readDuration("59s")).toBe("string");
    expect(typeof readDuration("8d")).toBe("string");
    expect(typeof readDuration("")).toBe("string");
  });
});
