import { describe, expect, it } from "vitest";
import { defaultPolicyConfig } from "../../shared/config/policy-schema";
import {
  type Action,
  applyOutcomes,
  type BoxState,
  decide,
  initialState,
  type Outcome,
} from "../../shared/policy";
import { type Observations, SERVER_STATUSES, type ServerStatus } from "../../shared/probes/types";
import { loadModel } from "./sdk-models";

/**
 * Every ECS server status Huawei documents maps to a deliberate treatment by the watchdog, and
 * the policy does what the table says when the gateway is down and the server shows that status.
 *
 * Source of the list and the meanings: ECS API Reference, Appendix > ECS Statuses (ecs_08_0002,
 * https://support.huaweicloud.com/intl/en-us/api-ecs/ecs_08_0002.html). The SDK types
 * `ServerDetail.status` as a plain string (huaweicloud-sdk-ecs v2/model/ServerDetail.d.ts), so
 * the doc is the only list.
 */

type Treatment =
  /** The cloud is changing the server: waited on like a reboot, never counted, never acted on. */
  | "changing"
  /** Running as far as ECS knows: a down gateway is the guest's problem, the reboot ladder runs. */
  | "running"
  /** Properly stopped: started. */
  | "stopped"
  /** Nothing a start or reboot can fix: a human is asked at once. */
  | "needs-human"
  /**
   * Not running and not startable with os-start (shelved: unshelve is not an ECS action of the
   * watchdog), or unknown: counted as down, but no action passes its precondition (reboot wants
   * ACTIVE, start wants SHUTOFF), so the incident ends with the operator.
   */
  | "held";

const DOCUMENTED: Record<string, { meaning: string; treatment: Treatment }> = {
  BUILD: { meaning: "created but is not running", treatment: "changing" },
  REBOOT: { meaning: "being restarted", treatment: "changing" },
  HARD_REBOOT: { meaning: "being forcibly restarted", treatment: "changing" },
  REBUILD: { meaning: "being rebuilt", treatment: "changing" },
  MIGRATING: { meaning: "being live migrated", treatment: "changing" },
  RESIZE: {
    meaning: "received a specifications modification request and started the modification",
    treatment: "changing",
  },
  ACTIVE: { meaning: "running properly", treatment: "running" },
  SHUTOFF: { meaning: "properly stopped", treatment: "stopped" },
  REVERT_RESIZE: { meaning: "rolling back resizing", treatment: "changing" },
  VERIFY_RESIZE: { meaning: "verifying the modified configuration", treatment: "changing" },
  ERROR: { meaning: "an error has occurred", treatment: "needs-human" },
  DELETED: { meaning: "has been deleted", treatment: "needs-human" },
  SHELVED: { meaning: "booting from an image, shelved", treatment: "held" },
  SHELVED_OFFLOADED: { meaning: "booting from a volume, shelved", treatment: "held" },
  UNKNOWN: { meaning: "status is unknown", treatment: "held" },
};

const MINUTE = 60_000;
const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

function observe(server: ServerStatus): Observations {
  return {
    gateway: { status: "down", latencyMs: 5, detail: "connect ECONNREFUSED", failing: [] },
    maas: { status: "ok", latencyMs: 40, detail: "maas ok", checked: "models" },
    telegram: { status: "ok", latencyMs: 30, detail: "telegram ok", pendingUpdateCount: 0 },
    server: { status: server, latencyMs: 80, detail: `server ${server}` },
    watchdogErrors: [],
  };
}

/** Twenty cycles, a minute apart, every action carried out: what the policy asked for. */
function run(server: ServerStatus) {
  let state: BoxState = initialState("box-1");
  const remediations: string[] = [];
  const notifications: string[] = [];
  for (let i = 0; i < 20; i += 1) {
    const now = T0 + i * MINUTE;
    const decision = decide(state, observe(server), now, defaultPolicyConfig);
    const outcomes = decision.actions.flatMap((a: Action): Outcome[] => {
      if (a.kind === "notify") {
        notifications.push(a.notification.type);
        return [{ kind: "notified", notificationId: a.notification.id, messageId: 100 + i }];
      }
      if (a.kind === "remediate") {
        remediations.push(a.action);
        const base = { idempotencyKey: a.idempotencyKey, action: a.action };
        return [{ kind: "remediated", ...base, jobId: `job-${i}` }];
      }
      return [];
    });
    state = applyOutcomes(decision.state, outcomes, now, defaultPolicyConfig);
  }
  return { state, remediations, notifications };
}

describe("ECS server statuses (ECS API Reference, ecs_08_0002)", () => {
  it("the probe knows every documented status: none folds into UNKNOWN", () => {
    expect([...SERVER_STATUSES].sort()).toEqual(Object.keys(DOCUMENTED).sort());
    expect(loadModel("ecs", "ServerDetail").fields.get("status")?.type).toEqual({
      kind: "string",
    });
  });

  it.each(Object.entries(DOCUMENTED))("%s is treated as the table says", (status, row) => {
    const { state, remediations, notifications } = run(status as ServerStatus);
    const incident = state.incidents.gateway;
    switch (row.treatment) {
      case "changing":
        expect(state.counters.gateway.consecutiveFailures).toBe(0);
        expect(incident).toBeUndefined();
        expect(remediations).toEqual([]);
        return;
      case "running":
        expect(incident?.cause).toBe("down");
        expect(remediations[0]).toBe("soft-reboot");
        return;
      case "stopped":
        expect(incident?.cause).toBe("server-shutoff");
        expect(remediations[0]).toBe("start");
        return;
      case "needs-human":
        expect(incident?.cause).toMatch(/^server-(error|deleted)$/);
        expect(remediations).toEqual([]);
        expect(notifications).toContain("opened");
        return;
      case "held":
        expect(incident?.cause).toBe("down");
        expect(remediations).toEqual([]);
        expect(notifications).toContain("opened");
    }
  });
});
