/**
 * IAM custom policies as Huawei Cloud writes them (IAM user guide, "Custom Policy Syntax":
 * `{"Version":"1.1","Statement":[{"Effect":"Allow"|"Deny","Action":["svc:resource:op",…],
 * "Resource":["SVC:region:domain:type:path",…]}]}`), evaluated the way IAM documents:
 * an explicit Deny wins, then any Allow, and what no statement allows is denied.
 * Actions and resources may use `*` wildcards; a statement without Resource covers every
 * resource. Conditions are not emulated: a policy with one is refused when it is loaded.
 */

export interface PolicyStatement {
  readonly Effect: "Allow" | "Deny";
  readonly Action: readonly string[];
  readonly Resource?: readonly string[];
}

export interface PolicyDocument {
  readonly Version: string;
  readonly Statement: readonly PolicyStatement[];
}

export type Decision = { allowed: true } | { allowed: false; reason: string };

/** Checks a policy's shape; throws with what is wrong (the local cloud fails at start). */
export function parsePolicy(input: unknown, where: string): PolicyDocument {
  const doc = input as { Version?: unknown; Statement?: unknown };
  if (doc === null || typeof doc !== "object" || doc.Version !== "1.1") {
    throw new Error(`${where}: an IAM policy needs "Version": "1.1"`);
  }
  if (!Array.isArray(doc.Statement) || doc.Statement.length === 0) {
    throw new Error(`${where}: an IAM policy needs a non-empty "Statement" list`);
  }
  return {
    Version: "1.1",
    Statement: doc.Statement.map((s, i) => parseStatement(s, `${where} Statement[${i}]`)),
  };
}

function parseStatement(input: unknown, where: string): PolicyStatement {
  const s = input as Record<string, unknown>;
  if (s === null || typeof s !== "object") throw new Error(`${where}: not an object`);
  if (s.Effect !== "Allow" && s.Effect !== "Deny") {
    throw new Error(`${where}: Effect must be "Allow" or "Deny"`);
  }
  if ("Condition" in s) throw new Error(`${where}: Condition is not emulated by the local IAM`);
  const strings = (value: unknown, key: string) => {
    if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === "string")) {
      throw new Error(`${where}: ${key} must be a non-empty list of strings`);
    }
    return value as string[];
  };
  const actions = strings(s.Action, "Action");
  for (const action of actions) {
    if (!/^[a-z0-9*]+:[A-Za-z0-9*]+:[A-Za-z0-9*]+$/.test(action)) {
      throw new Error(`${where}: action "${action}" is not service:resource:operation`);
    }
  }
  return {
    Effect: s.Effect,
    Action: actions,
    ...(s.Resource === undefined ? {} : { Resource: strings(s.Resource, "Resource") }),
  };
}

/** Deny wins, then Allow; nothing matching is an implicit deny. */
export function evaluate(
  policies: readonly PolicyDocument[],
  action: string,
  resource: string | undefined,
): Decision {
  const matching = policies
    .flatMap((p) => p.Statement)
    .filter((s) => s.Action.some((a) => globMatch(a, action, true)))
    .filter(
      (s) =>
        s.Resource === undefined ||
        (resource !== undefined && s.Resource.some((r) => globMatch(r, resource, false))),
    );
  if (matching.some((s) => s.Effect === "Deny")) {
    return { allowed: false, reason: `an explicit Deny covers ${action}` };
  }
  if (matching.some((s) => s.Effect === "Allow")) return { allowed: true };
  return { allowed: false, reason: `no statement allows ${action}` };
}

/** `*` matches any run of characters; actions compare without case (IAM lower-cases the service). */
function globMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`, ignoreCase ? "i" : "").test(value);
}
