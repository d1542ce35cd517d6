import { randomBytes } from "node:crypto";

export interface Credential {
  readonly ak: string;
  readonly sk: string;
  /** Present for temporary (agency) credentials; must accompany every request made with them. */
  readonly securityToken?: string;
  readonly expiresAt?: number;
}

/** The local cloud's key store: one permanent test key pair plus temporary agency keys. */
export class Iam {
  readonly projectId = "0c1a2b3c4d5e6f70clawwatchlocal";
  /** The region the local cloud plays; limits that differ by region follow it. */
  readonly region: string;
  readonly domainId = "clawwatch-local-domain";
  private readonly keys = new Map<string, Credential>();

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

  /** Issues agency credentials as FunctionGraph hands them to a function (valid 24 h). */
  issueTemporary(now = Date.now()): Required<Credential> {
    const cred = {
      ak: randomKey("TMPAK"),
      sk: randomKey("TMPSK"),
      securityToken: randomKey("TOKEN", 48),
      expiresAt: now + 24 * 3_600_000,
    };
    this.keys.set(cred.ak, cred);
    return cred;
  }
}

function randomKey(prefix: string, bytes = 16): string {
  return `${prefix}${randomBytes(bytes).toString("hex").toUpperCase()}`;
}
