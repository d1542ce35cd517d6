import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { IAM_ACTIONS } from "../../infra/local/ecs";
import { evaluate, type PolicyStatement, parsePolicy } from "../../infra/local/iam-policy";
import {
  ACTION_NAMES,
  ACTIONS,
  type ActionName,
  type ComputeCall,
  iamActionsOf,
  MANUAL_ACTIONS,
  REMEDIATIONS,
} from "../../shared/policy/catalog";
import { bootstrapKey, commandKey, corruptKey, eventKey, stateKey } from "../../shared/state/keys";
import { createObsStateStore } from "../../shared/state/obs-store";

// The agency policies in infra/iam, read as IAM reads them (infra/local/iam-policy.ts: an explicit
// Deny wins, `*` matches anything), against the object keys the product really writes.

type Statement = PolicyStatement;

const BUCKET = "my-state";
const BOX = "prod";
const SERVER = "0d1f7a3c-1111-2222-3333-444455556666";
const NOW = Date.UTC(2026, 11, 4, 12);

function policy(name: "watchdog" | "receiver" | "gateway-probe"): Statement[] {
  const url = new URL(`../../infra/iam/${name}-agency-policy.json`, import.meta.url);
  const text = readFileSync(url, "utf8")
    .replaceAll("<state-bucket>", BUCKET)
    .replaceAll("<box>", BOX)
    .replaceAll("<server-id>", SERVER);
  return [...parsePolicy(JSON.parse(text), name).Statement];
}

/** The local cloud's own evaluator: the one every emulated ECS, OBS and FunctionGraph call meets. */
function allowed(statements: Statement[], action: string, resource: string): boolean {
  return evaluate([{ Version: "1.1", Statement: statements }], action, resource).allowed;
}

const object = (key: string) => `OBS:*:*:object:${BUCKET}/${key}`;
const put = (who: Statement[], key: string) => allowed(who, "obs:object:PutObject", object(key));
const get = (who: Statement[], key: string) => allowed(who, "obs:object:GetObject", object(key));

const keys = {
  state: stateKey("clawwatch", BOX),
  events: eventKey("clawwatch", BOX, NOW, "incident-opened-1"),
  operatorEvents: eventKey("clawwatch", BOX, NOW, "ack-1", "receiver"),
  command: commandKey("clawwatch", BOX, NOW, "tg-1"),
  corrupt: corruptKey("clawwatch", BOX, NOW),
  bootstrap: bootstrapKey("clawwatch", BOX),
  ledger: "clawwatch/_receiver/confirm/-100/42.json",
};

describe("agency policies", () => {
  const watchdog = policy("watchdog");
  const receiver = policy("receiver");
  const probeAgency = policy("gateway-probe");

  it("only deploy writes the bootstrap user_data", () => {
    expect(put(watchdog, keys.bootstrap)).toBe(false);
    expect(put(receiver, keys.bootstrap)).toBe(false);
    expect(allowed(watchdog, "obs:object:DeleteObject", object(keys.bootstrap))).toBe(false);
    expect(get(watchdog, keys.bootstrap) && get(receiver, keys.bootstrap)).toBe(true);
  });

  it("the watchdog writes state, its audit events and corrupt copies, and deletes commands", () => {
    for (const key of [keys.state, keys.events, keys.corrupt])
      expect(put(watchdog, key)).toBe(true);
    for (const key of [keys.command, keys.operatorEvents, keys.ledger]) {
      expect(put(watchdog, key), key).toBe(false);
    }
    expect(allowed(watchdog, "obs:object:DeleteObject", object(keys.command))).toBe(true);
    expect(allowed(watchdog, "obs:object:DeleteObject", object(keys.state))).toBe(false);
  });

  it("the receiver writes only commands, its own audit folder and its ledger", () => {
    for (const key of [keys.command, keys.operatorEvents, keys.ledger]) {
      expect(put(receiver, key), key).toBe(true);
    }
    for (const key of [keys.state, keys.events, keys.corrupt])
      expect(put(receiver, key), key).toBe(false);
    expect(allowed(receiver, "obs:object:DeleteObject", object(keys.command))).toBe(false);
    expect(get(receiver, keys.state)).toBe(true);
  });

  it("ECS actions name the watched server, and nothing else is reachable", () => {
    const server = `ECS:*:*:instance:${SERVER}`;
    const other = "ECS:*:*:instance:99999999-0000-0000-0000-000000000000";
    for (const action of ["ecs:cloudServers:reboot", "ecs:cloudServers:rebuild"]) {
      expect(allowed(watchdog, action, server) && allowed(receiver, action, server)).toBe(true);
      expect(allowed(watchdog, action, other) || allowed(receiver, action, other)).toBe(false);
    }
    expect(allowed(receiver, "ecs:cloudServers:start", server)).toBe(false);
    for (const statements of [watchdog, receiver]) {
      expect(statements.flatMap((s) => s.Action).some((a) => a.includes("*"))).toBe(false);
    }
  });

  it("the watchdog and the receiver may only invoke the gateway-probe function, and have no VPC actions", () => {
    const probe = "FunctionGraph:*:*:function:default/clawwatch-gateway-probe";
    const other = "FunctionGraph:*:*:function:default/clawwatch-watchdog";
    for (const statements of [watchdog, receiver]) {
      const fgs = statements.flatMap((s) => s.Action).filter((a) => a.startsWith("functiongraph:"));
      expect(fgs).toEqual(["functiongraph:function:invoke"]);
      expect(allowed(statements, "functiongraph:function:invoke", probe)).toBe(true);
      expect(allowed(statements, "functiongraph:function:invoke", other)).toBe(false);
      expect(statements.flatMap((s) => s.Action).some((a) => a.startsWith("vpc:"))).toBe(false);
    }
  });

  it("the gateway-probe agency has the VPC actions and nothing else", () => {
    const actions = probeAgency.flatMap((s) => s.Action);
    expect(actions.every((a) => a.startsWith("vpc:"))).toBe(true);
    expect(actions).toContain("vpc:ports:delete");
  });
});

/**
 * The ECS actions each function needs besides those of the actions it runs: the watchdog's server
 * probe shows the server (ShowServer) every few cycles. The receiver needs none of its own.
 */
const OTHER_ECS = {
  watchdog: ["ecs:cloudServers:get"],
  receiver: [],
} as const;

/** The ECS operations each kind of Compute call makes (shared/cloud/ecs.lazy.ts). */
const OPERATIONS: Record<ComputeCall["kind"], readonly string[]> = {
  start: ["BatchStartServers"],
  reboot: ["BatchRebootServers"],
  // The key pair the reinstalled system must keep comes from ShowServer.
  reinstall: ["ShowServer", "ReinstallServerWithCloudInit"],
};

describe("agency policies and the action catalog", () => {
  const server = `ECS:*:*:instance:${SERVER}`;
  const runs = { watchdog: REMEDIATIONS, receiver: MANUAL_ACTIONS } as const;
  const ecsActions = (statements: Statement[]) =>
    [
      ...new Set(
        statements
          .filter((s) => s.Effect === "Allow")
          .flatMap((s) => s.Action)
          .filter((a) => a.startsWith("ecs:")),
      ),
    ].sort();

  it("each action names the IAM actions of the ECS operations its Compute call makes", () => {
    for (const name of ACTION_NAMES) {
      const operations = OPERATIONS[ACTIONS[name].compute.kind];
      const wanted = operations.map((op) => IAM_ACTIONS[op]);
      expect([...ACTIONS[name].iam].sort(), name).toEqual([...wanted].sort());
    }
  });

  for (const fn of ["watchdog", "receiver"] as const) {
    it(`the ${fn} is granted exactly the ECS actions of the actions it runs`, () => {
      const actions: readonly ActionName[] = runs[fn];
      const wanted = [...new Set([...iamActionsOf(actions), ...OTHER_ECS[fn]])].sort();
      expect(ecsActions(policy(fn))).toEqual(wanted);
      for (const name of actions) {
        for (const iam of ACTIONS[name].iam) {
          expect(allowed(policy(fn), iam, server), `${fn} ${name}: ${iam}`).toBe(true);
        }
      }
    });
  }
});

describe("the stores write where the policies allow", () => {
  function objects() {
    const map = new Map<string, string>();
    return {
      map,
      client: {
        getText: async (_b: string, key: string) => {
          const text = map.get(key);
          return text === undefined ? { found: false as const } : { found: true as const, text };
        },
        putText: async (_b: string, key: string, text: string) => {
          map.set(key, text);
        },
        list: async (_b: string, prefix: string) =>
          [...map.keys()].filter((k) => k.startsWith(prefix)),
        remove: async (_b: string, key: string) => {
          map.delete(key);
        },
        copy: async () => undefined,
      },
    };
  }

  it("the receiver's audit events land in operator-events/, and /history reads both folders", async () => {
    const { map, client } = objects();
    const event = (type: string, at: number) => ({ at, box: BOX, type, detail: type }) as never;
    const receiverStore = createObsStateStore({
      client,
      bucket: BUCKET,
      prefix: "clawwatch",
      writer: "receiver",
    });
    const watchdogStore = createObsStateStore({ client, bucket: BUCKET, prefix: "clawwatch" });
    await receiverStore.appendEvents(BOX, [event("ack", NOW + 1)]);
    await watchdogStore.appendEvents(BOX, [event("incident-opened", NOW)]);
    const written = [...map.keys()];
    expect(written.filter((k) => k.includes("/operator-events/"))).toHaveLength(1);
    for (const key of written) {
      const writer = key.includes("/operator-events/") ? policy("receiver") : policy("watchdog");
      expect(put(writer, key), key).toBe(true);
    }
    const history = await receiverStore.recentEvents(BOX, { limit: 10, days: 1, now: NOW });
    expect(history.map((e: { type: string }) => e.type)).toEqual(["ack", "incident-opened"]);
  });
});
