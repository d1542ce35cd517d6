/**
 * Every action clawwatch can take on a box, in one place. The watchdog's rungs, the receiver's
 * manual actions, the config's ladder, the budgets, the grace periods, the labels, the prompt an
 * operator confirms, the Compute call that carries it out and the IAM actions that call needs
 * are all read from here. Adding an action is one entry (plus, for a new kind of ECS request, a
 * Compute method with its adapter); the `satisfies` below and the exhaustive switches over
 * `ComputeCall` make the compiler point at anything else. Pure data: no I/O.
 *
 * Key order matters: REMEDIATIONS and MANUAL_ACTIONS list the actions in this order.
 */

/** Automatic and manual actions share one budget per kind (policy.budget). */
export const BUDGET_KINDS = ["reboots", "rebootstraps"] as const;
export type BudgetKind = (typeof BUDGET_KINDS)[number];

/** The request to the Compute port (shared/cloud/compute.ts) an action makes. */
export type ComputeCall =
  | { readonly kind: "start" }
  | { readonly kind: "reboot"; readonly type: "SOFT" | "HARD" }
  /** Reinstalls the system disk with the box's bootstrap user_data. */
  | { readonly kind: "reinstall" };

/** What the receiver shows for an action an operator starts with a command. */
export interface ManualSpec {
  /** The prompt's and replies' word for it: "Reboot". */
  readonly title: string;
  /** What the operator confirms: what happens to the server, with the grace already formatted. */
  readonly confirm: (serverId: string, grace: string) => readonly string[];
  /** Said again once ECS accepted it. */
  readonly done: readonly string[];
}

export interface ActionSpec {
  /** The watchdog takes it by itself (a Remediation). */
  readonly automatic: boolean;
  /** Its place on the ladder (policy.ladder, lowest first), or undefined when it is no rung. */
  readonly rung: number | undefined;
  /** Which budget it spends, or undefined when it spends none. */
  readonly budget: BudgetKind | undefined;
  /** The key under policy.grace: how long failures do not count after it. */
  readonly grace: string;
  /** How notices and logs name it: "soft reboot". */
  readonly label: string;
  /** Set when an operator can ask for it through the receiver (a ManualAction). */
  readonly manual: ManualSpec | undefined;
  /** Reinstalls from the bootstrap user_data: unavailable for a box without one. */
  readonly needsBootstrap: boolean;
  readonly compute: ComputeCall;
  /**
   * The IAM actions the Compute call needs (ECS permission tables, see infra/local/ecs.ts
   * IAM_ACTIONS); test/unit/iam-policy.test.ts checks the agency policies grant exactly these.
   */
  readonly iam: readonly string[];
}

export const ACTIONS = {
  start: {
    automatic: true,
    rung: undefined,
    budget: undefined,
    grace: "start",
    label: "start",
    manual: undefined,
    needsBootstrap: false,
    compute: { kind: "start" },
    iam: ["ecs:cloudServers:start"],
  },
  "soft-reboot": {
    automatic: true,
    rung: 1,
    budget: "reboots",
    grace: "softReboot",
    label: "soft reboot",
    manual: undefined,
    needsBootstrap: false,
    compute: { kind: "reboot", type: "SOFT" },
    iam: ["ecs:cloudServers:reboot"],
  },
  "hard-reboot": {
    automatic: true,
    rung: 2,
    budget: "reboots",
    grace: "hardReboot",
    label: "hard reboot",
    manual: undefined,
    needsBootstrap: false,
    compute: { kind: "reboot", type: "HARD" },
    iam: ["ecs:cloudServers:reboot"],
  },
  /** An operator's reboot is a soft one: it waits like the soft-reboot rung. */
  reboot: {
    automatic: false,
    rung: undefined,
    budget: "reboots",
    grace: "softReboot",
    label: "reboot",
    manual: {
      title: "Reboot",
      confirm: (serverId, grace) => [
        `A soft reboot of server ${serverId}: the gateway is down for a few minutes.`,
        `The watchdog then waits ${grace} before counting failures.`,
      ],
      done: [],
    },
    needsBootstrap: false,
    compute: { kind: "reboot", type: "SOFT" },
    iam: ["ecs:cloudServers:reboot"],
  },
  rebootstrap: {
    automatic: true,
    rung: 3,
    budget: "rebootstraps",
    grace: "rebootstrap",
    label: "rebootstrap",
    manual: {
      title: "Rebootstrap",
      confirm: (serverId, grace) => [
        `The SYSTEM DISK of server ${serverId} is reinstalled from its image and the bootstrap runs again.`,
        "The DATA DISK (the gateway's workspace) is kept.",
        `It takes about 15 minutes; the watchdog waits ${grace} before counting failures.`,
      ],
      done: ["The system disk is being reinstalled; the data disk is kept."],
    },
    needsBootstrap: true,
    compute: { kind: "reinstall" },
    // The ECS adapter shows the server first: a reinstall must keep the box's key pair.
    iam: ["ecs:cloudServers:get", "ecs:cloudServers:rebuild"],
  },
} as const satisfies Record<string, ActionSpec>;

type Catalog = typeof ACTIONS;
export type ActionName = keyof Catalog;
type Named<Shape> = { [K in ActionName]: Catalog[K] extends Shape ? K : never }[ActionName];

/** What the watchdog does by itself. */
export type Remediation = Named<{ automatic: true }>;
/** What an operator does by hand through the receiver. */
export type ManualAction = Named<{ manual: ManualSpec }>;
/** The automatic rungs for an ACTIVE server whose gateway is down. */
export type LadderRung = Named<{ rung: number }>;
/** The keys of policy.grace: the config schema must have exactly these. */
export type GraceKey = Catalog[ActionName]["grace"];

const NAMES = Object.keys(ACTIONS) as ActionName[];

export const ACTION_NAMES: readonly ActionName[] = NAMES;
export const REMEDIATIONS: readonly Remediation[] = NAMES.filter(
  (name): name is Remediation => ACTIONS[name].automatic,
);
export const MANUAL_ACTIONS: readonly ManualAction[] = NAMES.filter(
  (name): name is ManualAction => ACTIONS[name].manual !== undefined,
);
export const LADDER_RUNGS: readonly LadderRung[] = NAMES.filter(
  (name): name is LadderRung => ACTIONS[name].rung !== undefined,
).sort((a, b) => ACTIONS[a].rung - ACTIONS[b].rung);

export function budgetKindOf(action: ActionName): BudgetKind | undefined {
  return ACTIONS[action].budget;
}

export function graceKeyOf(action: ActionName): GraceKey {
  return ACTIONS[action].grace;
}

export function actionLabel(action: ActionName): string {
  return ACTIONS[action].label;
}

export function manualSpec(action: ManualAction): ManualSpec {
  return ACTIONS[action].manual;
}

/** The IAM actions the given actions need, sorted and once each. */
export function iamActionsOf(actions: readonly ActionName[]): string[] {
  return [...new Set(actions.flatMap((a) => ACTIONS[a].iam))].sort();
}
