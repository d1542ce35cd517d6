import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Iam } from "../../infra/local/iam";
import { type ObsService, startObs } from "../../infra/local/obs";
import { timeScale } from "../../infra/local/service";
import { CALLBACK_ACTIONS, encodeCallback } from "../../shared/notify/callback-data";
import { COMPONENTS, initialState, PAUSE_LIMITS, STATE_VERSION } from "../../shared/policy";
import { createObsLedger, type MemoryLedger } from "../../shared/receiver";
import type { MemoryStateStore } from "../../shared/state/memory";
import { createObsClient, type ObsClient } from "../../shared/state/obs-client";
import { COMMAND_MAX_BYTES, createObsStateStore } from "../../shared/state/obs-store";
import { type StoredState, storedStateSchema } from "../../shared/state/schema";
import {
  ANN,
  CHAT,
  HOUR,
  hostileConfig,
  MALLORY,
  MINUTE,
  SECRETS,
  T0,
  World,
} from "../unit/hostile-world";

// Issue 21's fuzz suite: generated hostile input through the production receiver handler and the
// production watchdog cycle (OBS objects on the local OBS), checking three things of every run:
// nothing unauthorised changed, nothing crashed, and no secret reached any output.

const DAY = 24 * HOUR;
const SKEW = 2 * MINUTE;
const Y2100 = Date.UTC(2100, 0, 1);

function containsSecret(texts: readonly string[], secrets: readonly string[]): string | undefined {
  for (const text of texts) for (const secret of secrets) if (text.includes(secret)) return secret;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// 1. Updates through the receiver's handler

const userArb = fc.oneof(
  { weight: 5, arbitrary: fc.constant(ANN) },
  fc.constant(MALLORY),
  fc.record({ id: fc.integer(), username: fc.string({ maxLength: 70 }) }),
);
const chatArb = fc.oneof(
  { weight: 5, arbitrary: fc.constant(CHAT) },
  fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }),
);
const wordArb = fc.oneof(
  fc.constantFrom("prod", "lab", "1h", "30m", "8d", "0m", "30", "1h30m", "99999999d", "", " "),
  fc.constantFrom(...Object.values(SECRETS)),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
);
const textArb = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(
        "/ack",
        "/mute",
        "/unmute",
        "/reboot",
        "/rebootstrap",
        "/status",
        "/history",
        "/help",
        "/start",
        "/mute@alerts_bot",
        "/ack@other_bot",
        "/frobnicate",
      ),
      fc.array(wordArb, { maxLength: 4 }),
    )
    .map(([name, words]) => [name, ...words].join(" ")),
  fc.string({ maxLength: 200 }),
  fc.constant(`/mute prod 1h ${"x".repeat(300)}`),
  fc.constant("x".repeat(8_200)),
);
const dataArb = fc.oneof(
  fc
    .record(
      {
        action: fc.constantFrom(...CALLBACK_ACTIONS),
        box: fc.constantFrom("prod", "ghost"),
        arg: fc.constantFrom("1h", "4h", "8d", "0m", "x"),
        component: fc.constantFrom(...COMPONENTS),
      },
      { requiredKeys: ["action", "box"] },
    )
    .map((payload) => {
      try {
        return encodeCallback(payload);
      } catch {
        return "1:a:prod";
      }
    }),
  fc.constant("PROMPT"), // replaced by the real confirm button of the prompt
  fc.string({ maxLength: 80 }),
);
const updateArb = fc.record(
  {
    secret: fc.oneof(
      { weight: 8, arbitrary: fc.constant(SECRETS.webhook) },
      fc.constantFrom("", `${SECRETS.webhook}x`, SECRETS.alertBot),
    ),
    updateId: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 1_000_000_000 }) },
      fc.constantFrom(5, 5, 6), // redeliveries
      fc.constant(-1),
      fc.double(),
    ),
    from: userArb,
    chat: chatArb,
    isBot: fc.boolean(),
    kind: fc.constantFrom("message", "button", "garbage", "edited"),
    text: textArb,
    data: dataArb,
    messageId: fc.integer({ min: 0, max: 600 }),
    garbage: fc.jsonValue(),
  },
  { requiredKeys: ["secret", "updateId", "from", "chat", "kind", "text", "data", "messageId"] },
);
type Generated = typeof updateArb extends fc.Arbitrary<infer T> ? T : never;

function bodyOf(u: Generated, prompt: { data: string; messageId: number }): unknown {
  if (u.kind === "garbage") return u.garbage;
  const from = {
    id: u.from.id,
    is_bot: u.isBot ?? false,
    first_name: "x",
    username: u.from.username,
  };
  const chat = { id: u.chat, type: "supergroup" };
  if (u.kind === "button") {
    const real = u.data === "PROMPT";
    return {
      update_id: u.updateId,
      callback_query: {
        id: `q-${u.updateId}`,
        from,
        chat_instance: "1",
        data: real ? prompt.data : u.data,
        message: { message_id: real ? prompt.messageId : u.messageId, date: 1, chat },
      },
    };
  }
  const message = { message_id: u.messageId, date: 1, chat, from, text: u.text };
  return u.kind === "edited"
    ? { update_id: u.updateId, edited_message: message }
    : { update_id: u.updateId, message };
}

/** Everything an update could change: commands, audit, ECS, the receiver's own records. */
function snapshot(w: World): string {
  const store = w.store as MemoryStateStore;
  const ledger = w.ledger as MemoryLedger;
  return JSON.stringify([
    [...store.commands],
    store.events,
    w.compute.calls,
    [...ledger.records].filter(([key]) => !key.startsWith("updates/")),
  ]);
}

function isAuthorised(u: Generated): boolean {
  return (
    u.kind !== "garbage" &&
    u.kind !== "edited" &&
    u.secret === SECRETS.webhook &&
    Number.isInteger(u.updateId) &&
    u.updateId >= 0 &&
    u.chat === CHAT &&
    u.from.id === ANN.id
  );
}

describe("fuzz: generated updates through the receiver's handler", () => {
  it("200+ updates: 0 unauthorised changes, 0 crashes, 0 secrets in any output", async () => {
    let updates = 0;
    let authorisedChanges = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(updateArb, { minLength: 3, maxLength: 8 }), async (batch) => {
        const w = new World();
        const app = w.receiver(0);
        // A real prompt, so generated presses can hit a pending confirmation.
        await w.send(app, w.say("/reboot"));
        const posted = w.chat.posts.at(-1);
        const prompt = {
          data: posted?.message.keyboard?.inline_keyboard[0]?.[0]?.callback_data ?? "",
          messageId: posted?.messageId ?? 0,
        };
        const responses: string[] = [];
        for (const u of batch) {
          updates += 1;
          const before = snapshot(w);
          const reboots = w.compute.calls.length;
          const response = await w.send(app, bodyOf(u, prompt), u.secret);
          responses.push(JSON.stringify(response));
          expect([200, 400, 401, 405, 413]).toContain(response.status);
          const after = snapshot(w);
          if (!isAuthorised(u)) {
            expect(after, JSON.stringify(u).slice(0, 300)).toBe(before);
            continue;
          }
          if (after !== before) authorisedChanges += 1;
          // Even an allowed operator changes only what the commands allow.
          for (const command of (w.store as MemoryStateStore).commands.values()) {
            expect(command.by.userId).toBe(ANN.id);
            if (command.until !== undefined) {
              const length = command.until - command.at;
              expect(length).toBeGreaterThanOrEqual(PAUSE_LIMITS.minMs);
              expect(length).toBeLessThanOrEqual(PAUSE_LIMITS.maxMs);
            }
          }
          if (w.compute.calls.length > reboots) {
            expect(u.kind === "button" && u.data === "PROMPT").toBe(true);
          }
        }
        // One prompt, one reboot at most, however often it was pressed.
        expect(w.compute.reboots().length).toBeLessThanOrEqual(1);
        const leaked = containsSecret([...w.chat.texts(), ...w.logs, ...responses], w.secrets());
        expect(leaked).toBeUndefined();
      }),
      { numRuns: 45, seed: 2121 },
    );
    expect(updates).toBeGreaterThanOrEqual(200);
    expect(authorisedChanges).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. OBS objects (state, commands, ledger) through the watchdog cycle, on the local OBS

const BUCKET = "clawwatch-fuzz";
let iam: Iam;
let obs: ObsService;
let client: ObsClient;

beforeAll(async () => {
  iam = new Iam();
  obs = await startObs({ iam, time: timeScale(1), buckets: [BUCKET] });
  client = await createObsClient({
    server: obs.url,
    ak: iam.root.ak,
    sk: iam.root.sk,
    maxRetryCount: 0,
  });
});

afterAll(async () => {
  client?.close();
  await obs?.close();
});

const offsetArb = fc.oneof(
  fc.integer({ min: -3 * DAY, max: 0 }),
  fc.integer({ min: 1, max: 400 * DAY }),
  fc.constantFrom(0, SKEW, SKEW + 1, -DAY, Y2100 - T0),
);
const timeArb = fc.oneof(
  { weight: 6, arbitrary: offsetArb.map((o) => T0 + o) },
  fc.constantFrom(0, -1, 1e300, Number.MAX_SAFE_INTEGER, 8.64e15 + 1),
  fc.double(),
  fc.constantFrom("12", null, true),
);
const commandArb = fc.record(
  {
    id: fc.oneof(fc.constantFrom("dup-1", "dup-2", "tg-1"), fc.string({ maxLength: 100 })),
    kind: fc.constantFrom("ack", "mute", "unmute", "manual-action", "reboot"),
    at: timeArb,
    by: fc.oneof(
      { weight: 4, arbitrary: fc.constant({ userId: ANN.id }) },
      fc.constant({ userId: MALLORY.id }),
      fc.constant("ann"),
    ),
    until: timeArb,
    reason: fc.string({ maxLength: 260 }),
    action: fc.constantFrom("reboot", "rebootstrap", "format-disk"),
    jobId: fc.string({ maxLength: 90 }),
    incidentComponent: fc.constantFrom(...COMPONENTS, "kitchen"),
    failed: fc.boolean(),
  },
  { requiredKeys: ["id", "kind", "at", "by"] },
);
const encodingArb = fc.constantFrom("json", "json", "json", "truncated", "oversize", "garbage");

function encode(value: unknown, how: string): string {
  const text = JSON.stringify(value);
  if (how === "truncated") return text.slice(0, Math.floor(text.length / 2));
  if (how === "oversize") return `${text}${" ".repeat(COMMAND_MAX_BYTES)}`;
  if (how === "garbage") return "\u0000\u00ff{[}";
  return text;
}

const stateArb = fc.record({
  history: fc.array(
    fc.record({
      action: fc.constantFrom("soft-reboot", "hard-reboot", "rebootstrap", "reboot"),
      at: timeArb,
      key: fc.string({ maxLength: 20 }),
    }),
    { maxLength: 6 },
  ),
  graceUntil: fc.option(timeArb, { nil: undefined }),
  firstFailureAt: fc.option(timeArb, { nil: undefined }),
  opens: fc.array(timeArb, { maxLength: 5 }),
  failures: fc.integer({ min: 0, max: 10 }),
  savedAt: timeArb,
  how: fc.constantFrom("json", "json", "json", "truncated", "garbage", "newer", "missing"),
});
const ledgerArb = fc.record({
  state: fc.constantFrom("pending", "started", "done", "weird"),
  box: fc.constantFrom("prod", "lab"),
  action: fc.constantFrom("reboot", "rebootstrap", "wipe"),
  askedAt: timeArb,
  askedBy: fc.constant({ userId: ANN.id }),
});
const worldArb = fc.record({
  state: stateArb,
  commands: fc.array(fc.tuple(commandArb, encodingArb), { maxLength: 3 }),
  ledger: fc.option(fc.tuple(ledgerArb, encodingArb), { nil: undefined }),
});
type ObsWorld = typeof worldArb extends fc.Arbitrary<infer T> ? T : never;

function stateObject(spec: ObsWorld["state"]): string {
  const policy = initialState("prod") as unknown as Record<string, unknown> & {
    history: unknown[];
    remediation: Record<string, unknown>;
    counters: { gateway: Record<string, unknown> };
    openLog: unknown[];
  };
  policy.history = spec.history;
  if (spec.graceUntil !== undefined) policy.remediation.graceUntil = spec.graceUntil;
  policy.counters.gateway.consecutiveFailures = spec.failures;
  if (spec.firstFailureAt !== undefined)
    policy.counters.gateway.firstFailureAt = spec.firstFailureAt;
  policy.openLog = spec.opens.map((at) => ({
    component: "gateway",
    cause: "down",
    at,
    incidentId: `prod.gateway.${at}`,
  }));
  const stored = {
    version: spec.how === "newer" ? STATE_VERSION + 1 : STATE_VERSION,
    savedAt: spec.savedAt,
    policy,
    probes: {},
  };
  return encode(stored, spec.how === "truncated" || spec.how === "garbage" ? spec.how : "json");
}

/** Necessary conditions for a command the watchdog may apply (a looser, independent oracle). */
function mayApply(raw: ObsWorld["commands"][number], now: number, kind: string): boolean {
  const [c, how] = raw;
  if (how !== "json" || c.kind !== kind || typeof c.at !== "number") return false;
  if (typeof c.by !== "object" || c.by.userId !== ANN.id) return false;
  if (c.at > now + SKEW || c.at < now - DAY - 10 * MINUTE) return false;
  if ((kind === "mute" || kind === "ack") && c.until !== undefined) {
    if (typeof c.until !== "number") return false;
    const length = c.until - c.at;
    if (length < PAUSE_LIMITS.minMs || length > PAUSE_LIMITS.maxMs) return false;
  }
  return true;
}

/** Every number under a key naming a moment must not be later than now allows. */
function futureTimes(value: unknown, now: number, path = ""): string[] {
  if (typeof value === "number") {
    const name = path.split(".").at(-1) ?? "";
    if (/until$/i.test(name)) return value > now + PAUSE_LIMITS.maxMs + SKEW ? [path] : [];
    if (/(At|at|Since|since)$/.test(name)) return value > now + SKEW ? [path] : [];
    return [];
  }
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => futureTimes(v, now, path ? `${path}.${k}` : k));
}

describe("fuzz: generated OBS objects through the watchdog cycle", () => {
  it("100+ generated objects: 0 unauthorised state changes, 0 crashes, 0 secrets in any output", async () => {
    let objects = 0;
    let run = 0;
    const outputs: string[] = [];
    await fc.assert(
      fc.asyncProperty(worldArb, async (spec) => {
        run += 1;
        const prefix = `fuzz${run}`;
        const store = createObsStateStore({ client, bucket: BUCKET, prefix, now: () => T0 });
        const ledger = createObsLedger({ client, bucket: BUCKET, prefix });
        const w = new World(hostileConfig(), store, ledger);
        if (spec.state.how !== "missing") {
          await client.putText(BUCKET, `${prefix}/prod/state.json`, stateObject(spec.state));
          objects += 1;
        }
        for (const [i, [command, how]] of spec.commands.entries()) {
          await client.putText(
            BUCKET,
            `${prefix}/prod/commands/2026-${i}.json`,
            encode(command, how),
          );
          objects += 1;
        }
        if (spec.ledger) {
          const [record, how] = spec.ledger;
          await client.putText(
            BUCKET,
            `${prefix}/_receiver/confirm/${CHAT}/77.json`,
            encode(record, how),
          );
          objects += 1;
        }

        const reports = [await w.cycle("down")];
        for (const report of reports) {
          expect(report.decided).toBe(true);
          expect(report.errors.join("\n")).not.toMatch(/crashed/);
        }
        const saved = await client.getText(BUCKET, `${prefix}/prod/state.json`);
        expect(saved.found).toBe(true);
        const state = JSON.parse(saved.found ? saved.text : "{}") as StoredState;
        expect(storedStateSchema.safeParse(state).success).toBe(true);
        expect(futureTimes(state.policy, w.now)).toEqual([]);
        const now = w.now; // the cycle's clock applied the commands
        if (state.policy.mute) {
          expect(spec.commands.some((c) => mayApply(c, now, "mute"))).toBe(true);
        }
        if (state.policy.incidents.gateway?.ackedUntil !== undefined) {
          expect(spec.commands.some((c) => mayApply(c, now, "ack"))).toBe(true);
        }
        for (const entry of state.policy.history.filter((e) => e.by !== undefined)) {
          expect(spec.commands.some((c) => mayApply(c, now, "manual-action"))).toBe(true);
          expect(entry.at).toBeLessThanOrEqual(now + SKEW);
        }
        // No command survives a cycle, valid or not: each was applied once or refused and audited.
        expect(await client.list(BUCKET, `${prefix}/prod/commands/`)).toEqual([]);

        // The receiver reads its own ledger record back: a forged or odd one acts only when it is a
        // fresh, pending reboot prompt for this box.
        const app = w.receiver(0);
        const data = encodeCallback({ action: "reboot-confirm", box: "prod" });
        const before = w.compute.calls.length;
        const response = await w.send(app, w.press(data, 77));
        expect(response.status).toBe(200);
        const record = spec.ledger?.[1] === "json" ? spec.ledger[0] : undefined;
        const fresh =
          record !== undefined &&
          record.state === "pending" &&
          record.box === "prod" &&
          record.action === "reboot" &&
          typeof record.askedAt === "number" &&
          record.askedAt <= w.now + SKEW &&
          w.now - record.askedAt <= 10 * MINUTE;
        if (!fresh) expect(w.compute.calls.length).toBe(before);

        outputs.push(
          ...reports.map((r) => JSON.stringify(r)),
          ...w.notifier.sent.map((m) => `${m.rendered.html}\n${m.rendered.text}`),
          ...w.chat.texts(),
          ...w.logs,
        );
      }),
      { numRuns: 50, seed: 2122 },
    );
    // State, command and ledger objects, each read (or refused) by the production code.
    expect(objects).toBeGreaterThanOrEqual(100);
    // Every object the runs left in OBS (states, events, corrupt copies, commands, ledger), read
    // through the emulator's own view: no need to sign 500 GETs for it.
    const stored = (await obs.control("objects", { bucket: BUCKET, prefix: "fuzz" })) as {
      key: string;
    }[];
    expect(stored.length).toBeGreaterThan(objects);
    for (const { key } of stored) {
      const view = (await obs.control("get-object", { bucket: BUCKET, key })) as { body: string };
      outputs.push(view.body);
    }
    const secrets = [...new World().secrets(), iam.root.sk, iam.root.ak];
    expect(containsSecret(outputs, secrets)).toBeUndefined();
  });

  it("a 20 MB command is refused unparsed, audited and removed, never applied", async () => {
    const prefix = "huge";
    const store = createObsStateStore({ client, bucket: BUCKET, prefix });
    const w = new World(hostileConfig(), store);
    const command = { id: "big", kind: "mute", at: T0, until: T0 + HOUR, by: { userId: ANN.id } };
    // Valid JSON and a valid command once parsed: only the size gives it away.
    const text = JSON.stringify(command).replace("{", `{${" ".repeat(20 * 1024 * 1024)}`);
    await client.putText(BUCKET, `${prefix}/prod/commands/20261125T120000000Z-big.json`, text);
    const report = await w.cycle("ok");
    expect(report.errors.join()).toMatch(/ignored malformed commands/);
    const saved = await client.getText(BUCKET, `${prefix}/prod/state.json`);
    expect(saved.found && (JSON.parse(saved.text) as StoredState).policy.mute).toBeUndefined();
    const events = await store.recentEvents("prod", { limit: 10, days: 1, now: w.now });
    expect(events.map((e) => [e.type, e.detail])).toEqual([
      // The OBS client's body cap stops the download before the command's own size check.
      ["command-ignored", expect.stringMatching(/larger than the OBS client reads; removed/)],
    ]);
    expect(await client.list(BUCKET, `${prefix}/prod/commands/`)).toEqual([]);
  });
});
