import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { type Decision, evaluate, type PolicyDocument, parsePolicy } from "./iam-policy";
import { ControlError, type LocalService } from "./service";

export type { PolicyDocument } from "./iam-policy";

export interface Credential {
  readonly ak: string;
  readonly sk: string;
  /** Present for temporary (agency) credentials; must accompany every request made with them. */
  readonly securityToken?: string;
  readonly expiresAt?: number;
  /** The agency whose temporary key this is: its policies decide each call. */
  readonly agency?: string;
}

/** One call the local IAM refused, for the control API and the tests. */
export interface Denial {
  agency: string;
  action: string;
  resource?: string;
  time: string;
}

/** The local cloud's key store: one permanent test key pair plus temporary agency keys. */
export class Iam {
  readonly projectId = "0c1a2b3c4d5e6f70clawwatchlocal";
  /** The region the local cloud plays; limits that differ by region follow it. */
  readonly region: string;
  readonly domainId = "clawwatch-local-domain";
  private readonly keys = new Map<string, Credential>();
  /** Agency name → its policy documents (several may be attached, as in IAM). */
  private readonly agencies = new Map<string, PolicyDocument[]>();
  private readonly denials: Denial[] = [];

  constructor(
    readonly root: Credential = { ak: randomKey("AK"), sk: randomKey("SK") },
    options: { region?: string } = {},
  ) {
    this.region = options.region ?? "local-1";
    this.keys.set(root.ak, root);
  }

  lookup(ak: string, now = Date.now()): Credential | undefined {
    const cred = this.keys.get(ak);
    if (cred?.expiresAt !== undefined && cred.expiresAt < now) return undefined;
    return cred;
  }

  /**
   * Issues temporary credentials (valid 24 h). With an agency they are what FunctionGraph hands
   * a function whose xrole is that agency, and only what its policies allow is allowed; without
   * one they carry the full rights of the account, like a temporary key of the account's user.
   */
  issueTemporary(
    agency?: string,
    now = Date.now(),
  ): Required<Omit<Credential, "agency">> & Credential {
    const cred = {
      ak: randomKey("TMPAK"),
      sk: randomKey("TMPSK"),
      securityToken: randomKey("TOKEN", 48),
      expiresAt: now + 24 * 3_600_000,
      ...(agency === undefined ? {} : { agency }),
    };
    this.keys.set(cred.ak, cred);
    return cred;
  }

  /** Creates or replaces an agency with these policy documents (validated now). */
  setAgency(name: string, policies: readonly unknown[]): void {
    this.agencies.set(
      name,
      policies.map((p, i) => parsePolicy(p, `agency ${name} policy ${i}`)),
    );
  }

  agencyPolicies(name: string): readonly PolicyDocument[] | undefined {
    return this.agencies.get(name);
  }

  /**
   * Whether this credential may perform the action on the resource. The account's own keys may
   * do everything; an agency's key only what the agency's policies allow (an agency that does
   * not exist here has none). Every refusal is remembered.
   */
  authorize(credential: Credential, action: string, resource?: string): Decision {
    if (credential.agency === undefined) return { allowed: true };
    const policies = this.agencies.get(credential.agency);
    const decision: Decision = policies
      ? evaluate(policies, action, resource)
      : { allowed: false, reason: `agency ${credential.agency} does not exist in the local IAM` };
    if (!decision.allowed) {
      this.denials.push({
        agency: credential.agency,
        action,
        ...(resource === undefined ? {} : { resource }),
        time: new Date().toISOString(),
      });
      if (this.denials.length > 200) this.denials.shift();
    }
    return decision;
  }

  /** Refused calls, oldest first. */
  deniedCalls(): Denial[] {
    return this.denials.map((d) => ({ ...d }));
  }
}

function randomKey(prefix: string, bytes = 16): string {
  return `${prefix}${randomBytes(bytes).toString("hex").toUpperCase()}`;
}

/** The agencies local deployments run their functions as, one per function as on Huawei Cloud. */
export const LOCAL_AGENCIES = {
  watchdog: "clawwatch-watchdog",
  receiver: "clawwatch-receiver",
  probe: "clawwatch-gateway-probe",
};
/** The watchdog's agency (the deployment file's default too). */
export const LOCAL_AGENCY = LOCAL_AGENCIES.watchdog;

const POLICY_FILES: Record<keyof typeof LOCAL_AGENCIES, string> = {
  watchdog: "watchdog",
  receiver: "receiver",
  probe: "gateway-probe",
};

/**
 * The agency policy the repository tells operators to create (infra/iam/<fn>-agency-policy.json),
 * with `<state-bucket>` filled in. The local cloud makes its boxes and servers as tests go, so
 * `<box>` and `<server-id>` become `*`: every other line is enforced exactly as a real deployment
 * grants it (the Deny on the receiver's prefixes included).
 */
export function repositoryAgencyPolicy(bucket: string, fn: keyof typeof LOCAL_AGENCIES): unknown {
  const file = new URL(`../iam/${POLICY_FILES[fn]}-agency-policy.json`, import.meta.url);
  const text = readFileSync(file, "utf8")
    .replaceAll("<state-bucket>", bucket)
    .replaceAll("<box>", "*")
    .replaceAll("<server-id>", "*");
  return JSON.parse(text) as unknown;
}

/** The three functions' agencies with the repository's policies, for the local cloud's IAM. */
export function repositoryAgencies(bucket: string): Record<string, readonly unknown[]> {
  return {
    [LOCAL_AGENCIES.watchdog]: [repositoryAgencyPolicy(bucket, "watchdog")],
    [LOCAL_AGENCIES.receiver]: [repositoryAgencyPolicy(bucket, "receiver")],
    [LOCAL_AGENCIES.probe]: [repositoryAgencyPolicy(bucket, "probe")],
  };
}

/**
 * The local IAM on the control API (it has no HTTP API of its own): `denials` lists the calls
 * it refused, `set-agency {name, policies}` creates or replaces an agency's policy documents.
 */
export function iamControl(iam: Iam): LocalService {
  return {
    name: "iam",
    url: "",
    async control(action, params) {
      switch (action) {
        case "denials":
          return iam.deniedCalls();
        case "set-agency": {
          if (typeof params.name !== "string" || !Array.isArray(params.policies)) {
            throw new ControlError("set-agency needs {name, policies: [policy documents]}");
          }
          try {
            iam.setAgency(params.name, params.policies);
          } catch (error) {
            throw new ControlError((error as Error).message);
          }
          return { ok: true };
        }
        default:
          throw new ControlError(`unknown iam action ${action}: use denials or set-agency`, 404);
      }
    },
    reset: () => undefined,
    close: async () => undefined,
  };
}
