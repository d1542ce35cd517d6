import { readFileSync } from "node:fs";
import { z } from "zod";
import { type Config, loadConfig } from "../../shared/config";
import { didYouMean, knownKeysAt } from "../../shared/config/did-you-mean";
import { ConfigError } from "../../shared/errors";
import { MEMORY_SIZES } from "../deploy/functions";

/**
 * The deployment config file: where the box goes (region, server spec, network), how the
 * functions are deployed, and the product config they run with. Secrets are never in it: the
 * product config names them as `${NAME}` and the CLI reads NAME from its environment.
 */

const ipv4Cidr = z
  .string()
  .regex(
    /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/([0-9]|[12]\d|3[0-2])$/,
    'an IPv4 CIDR such as "203.0.113.7/32"',
  );

const volumeType = z.enum(["SSD", "GPSSD", "ESSD", "SAS", "SATA"]).default("SSD");

export const serverSpecSchema = z
  .object({
    /** ECS name; create-server adopts an existing server with this exact name. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, "use 1-64 letters, digits, dots, dashes, underscores"),
    /** e.g. "s6.large.2" (2 vCPU, 4 GiB: the gateway needs ~1.3 GB RSS). */
    flavor: z.string().min(1),
    /** The Ubuntu 22.04 or Rocky 9 public image id of the region (IMS console). */
    image: z.string().min(1),
    vpcId: z.string().min(1),
    subnetId: z.string().min(1),
    availabilityZone: z.string().min(1).optional(),
    rootDisk: z
      .object({ type: volumeType, sizeGb: z.number().int().min(40).max(1024).default(40) })
      .prefault({}),
    /** The data disk with the workspace; kept by reinstalls and by `destroy --server`. */
    dataDisk: z
      .object({ type: volumeType, sizeGb: z.number().int().min(10).max(32768).default(100) })
      .prefault({}),
    /** ECS key pair for SSH; without it the box has no login key (cloud-init only). */
    keyPair: z.string().min(1).optional(),
    /** SSH (22) is admitted from here only. */
    adminCidr: ipv4Cidr.refine(
      (cidr) => !cidr.endsWith("/0"),
      "SSH must not be open to the world: use your own address, e.g. 203.0.113.7/32",
    ),
    /** The gateway port (18789) is admitted from the function's subnet only. */
    functionSubnetCidr: ipv4Cidr,
    /** Security group name; default `<name>-sg`. */
    securityGroup: z.string().min(1).optional(),
    /** A public IP for SSH and updates; false = none (reach the box through a bastion or NAT). */
    eip: z
      .union([
        z.literal(false),
        z.object({
          bandwidthMbit: z.number().int().min(1).max(300).default(5),
          chargeMode: z.enum(["traffic", "bandwidth"]).default("traffic"),
          type: z.string().min(1).default("5_bgp"),
        }),
      ])
      .default(false),
  })
  .strict();

const functionSize = (memoryMb: number, timeoutSeconds: number) =>
  z
    .object({
      memoryMb: z
        .number()
        .refine((mb) => MEMORY_SIZES.includes(mb), `one of ${MEMORY_SIZES.join(", ")} (MB)`)
        .default(memoryMb),
      timeoutSeconds: z.number().int().min(3).max(900).default(timeoutSeconds),
    })
    .prefault({});

export const functionsSpecSchema = z
  .object({
    /** The VPC the functions run in; default the server's (required without a server block). */
    vpcId: z.string().min(1).optional(),
    /** The subnet the functions get VPC access through; default the server's subnet. */
    subnetId: z.string().min(1).optional(),
    /** TIMER rate of the watchdog: "1m" … "60m", "1h" … "24h". */
    timerRate: z
      .string()
      .regex(/^(([1-9]|[1-5]\d|60)m|([1-9]|1\d|2[0-4])h)$/, 'a rate such as "1m", "5m" or "1h"')
      .default("1m"),
    webhookPath: z
      .string()
      .regex(/^\/[A-Za-z0-9/_-]*$/, 'a path such as "/clawwatch/telegram"')
      .default("/clawwatch/telegram"),
    /**
     * The dedicated API Gateway the receiver's trigger lives on (required on Huawei Cloud: the
     * shared gateway is closed to new users). deploy looks up the environment id and the
     * group's domains itself.
     */
    apig: z
      .object({
        /** The dedicated gateway's instance id (API Gateway console → Gateways). */
        instanceId: z.string().min(1),
        groupId: z.string().min(1),
        envName: z.string().min(1).default("RELEASE"),
        /** Telegram delivers webhooks over HTTPS only, so the trigger serves nothing else. */
        protocol: z.literal("HTTPS").default("HTTPS"),
        /**
         * A domain bound to the API group (with its certificate): the webhook URL Telegram calls.
         * Without it the group's debug domain is used, which may resolve only inside the
         * gateway's VPC and takes 1,000 calls a day; deploy warns.
         */
        domain: z
          .string()
          .regex(/^[a-z0-9.-]+\.[a-z]{2,}$/, 'a domain name such as "hooks.example.com"')
          .optional(),
      })
      .strict()
      .optional(),
    watchdog: functionSize(256, 60),
    webhook: functionSize(256, 30),
  })
  .strict();

/** Agency names; the policies are infra/iam/watchdog-agency-policy.json and receiver-…. */
export const DEFAULT_AGENCIES = {
  watchdog: "clawwatch-watchdog",
  receiver: "clawwatch-receiver",
  /** The gateway-probe function's: VPC access only (FunctionGraph makes its port with it). */
  probe: "clawwatch-gateway-probe",
} as const;

const agencyName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/);

export const deploymentSchema = z
  .object({
    /** For editors: "./clawwatch.deploy.schema.json" (npm run config-docs makes it). */
    $schema: z.string().optional(),
    region: z.string().min(1).default("cn-north-4"),
    /** Or HUAWEICLOUD_PROJECT_ID in the environment. */
    projectId: z.string().min(1).optional(),
    /** Replaced by `agencies`: one agency for both functions gave the receiver the watchdog's rights. */
    agency: z
      .unknown()
      .refine(
        (value) => value === undefined,
        "one agency per function now: set agencies.watchdog and agencies.receiver (infra/iam/README.md)",
      )
      .optional(),
    /** The IAM agency each function runs as (infra/iam/<function>-agency-policy.json). */
    agencies: z
      .object({
        watchdog: agencyName.default(DEFAULT_AGENCIES.watchdog),
        receiver: agencyName.default(DEFAULT_AGENCIES.receiver),
        probe: agencyName.default(DEFAULT_AGENCIES.probe),
      })
      .strict()
      .prefault({}),
    /**
     * The box create-server builds (or adopts by name). Leave it out to watch servers you already
     * run: every box then gives its serverId and gateway.url ("watch only").
     */
    server: serverSpecSchema.optional(),
    /**
     * Lets the last rung reinstall the system disk of a server clawwatch did not build (adopted
     * by name) with clawwatch's bootstrap. Everything on the system disk is wiped; only the data
     * disk survives. Servers create-server built have the rung without it.
     */
    rebootstrapWipesSystemDisk: z.boolean().default(false),
    functions: functionsSpecSchema.prefault({}),
    /** Passed to the bootstrap renderer (e.g. the pinned openclaw version). */
    bootstrap: z.record(z.string(), z.unknown()).default({}),
    /** The product config (shared/config) the functions run with; secrets as `${NAME}`. */
    product: z.record(z.string(), z.unknown()),
  })
  .strict();

export type ServerSpec = z.output<typeof serverSpecSchema>;
export type FunctionsSpec = z.output<typeof functionsSpecSchema>;
type DeploymentFile = z.output<typeof deploymentSchema>;

export type TargetKind = "local" | "huawei";

/** Overrides the local target applies (its region, project and service endpoints). */
export interface LocalOverrides {
  region: string;
  projectId: string;
  cloud: Record<string, string>;
  /** The local Telegram Bot API: the functions must not reach the public one from here. */
  telegramApiRoot: string;
  /** The local MaaS (OpenAI-compatible base URL, ending in /v1). */
  maasBaseUrl: string;
}

export interface Deployment {
  readonly region: string;
  readonly projectId: string;
  readonly agencies: {
    readonly watchdog: string;
    readonly receiver: string;
    readonly probe: string;
  };
  /** Absent for a watch-only deployment (every box has its serverId). */
  readonly server: ServerSpec | undefined;
  readonly securityGroupName: string | undefined;
  /** The VPC and subnet the functions run in (Huawei Cloud); undefined when none is known. */
  readonly network: { readonly vpcId: string; readonly subnetId: string } | undefined;
  readonly rebootstrapWipesSystemDisk: boolean;
  readonly functions: FunctionsSpec;
  readonly bootstrap: Record<string, unknown>;
  /** The product config as the functions get it: `${NAME}` references kept, `cloud` filled in. */
  readonly product: Record<string, unknown>;
  /** NAME → value of every `${NAME}` the product config references. */
  readonly secrets: Record<string, string>;
  /** What the local target put in place of the file's values (one line each), for the user. */
  readonly overridden: readonly string[];
  /** Index of the box that watches the server of this deployment (it has no serverId). */
  readonly serverBox: number | undefined;
  /** The product config with secrets substituted and the server's box filled in. */
  resolve(serverBox?: { serverId: string; gatewayUrl: string }): Config;
}

export const GATEWAY_PORT = 18789;
const PLACEHOLDER = { serverId: "to-be-created", gatewayUrl: "http://192.0.2.1:18789" };

export function readDeploymentFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new ConfigError([`cannot read ${path}: ${(cause as Error).message}`], { cause });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    // V8 may quote the text around the mistake, which could be a pasted secret: say where only.
    throw new ConfigError([
      `${path}:${jsonErrorPosition(text, error)} is not valid JSON: ${jsonReason(error)}`,
    ]);
  }
}

/** "line:column" (both from 1) of a JSON.parse error; "1:1" when V8 gave no position. */
export function jsonErrorPosition(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : "";
  const lineCol = /\(line (\d+) column (\d+)\)/.exec(message);
  if (lineCol) return `${lineCol[1]}:${lineCol[2]}`;
  const at = /position (\d+)/.exec(message)?.[1];
  const offset =
    at === undefined ? (/end of JSON input/.test(message) ? text.length : 0) : Number(at);
  const before = text.slice(0, offset).split("\n");
  return `${before.length}:${(before.at(-1)?.length ?? 0) + 1}`;
}

function jsonReason(error: unknown): string {
  const message = error instanceof Error ? error.message : "";
  if (/end of JSON input/.test(message)) return "it ends too early (a missing } or ])";
  // V8's own wording without its quote of the text ("Expected ':' after property name").
  const expected = /^(Expected [^"]*?) in JSON/.exec(message)?.[1];
  if (expected) return `${expected.toLowerCase()}: check the quotes, commas and brackets`;
  const token = /^Unexpected (token|number|string|non-whitespace character)/.exec(message)?.[1];
  return token
    ? `unexpected ${token === "token" ? "character" : token} here: check the quotes, commas and brackets (JSON has no comments and no trailing commas)`
    : "check the quotes, commas and brackets (JSON has no comments and no trailing commas)";
}

/**
 * Validates the whole file at once and lists every problem: the deployment fields, the product
 * config inside it, and every secret its `${NAME}` references that the environment lacks.
 */
export function parseDeployment(
  raw: unknown,
  options: {
    target: TargetKind;
    env: Readonly<Record<string, string | undefined>>;
    local?: LocalOverrides;
  },
): Deployment {
  const problems: string[] = [];
  const parsed = deploymentSchema.safeParse(raw);
  if (!parsed.success) problems.push(...issues(parsed.error));
  const file = parsed.success ? parsed.data : undefined;
  const productRaw = isRecord((raw as { product?: unknown } | null)?.product)
    ? ((raw as { product: Record<string, unknown> }).product as Record<string, unknown>)
    : undefined;

  const region = options.local?.region ?? file?.region ?? "cn-north-4";
  // From the raw file too: a mistake elsewhere in it must not make projectId look unset.
  const rawProjectId = (raw as { projectId?: unknown } | null)?.projectId;
  const projectId =
    options.local?.projectId ??
    file?.projectId ??
    (typeof rawProjectId === "string" ? rawProjectId : undefined) ??
    options.env.HUAWEICLOUD_PROJECT_ID ??
    "";
  if (!projectId) {
    problems.push(
      "projectId: set it in the file or HUAWEICLOUD_PROJECT_ID (console → My Credentials → Projects, for the region)",
    );
  }
  if (options.target === "huawei" && file && !file.functions.apig) {
    problems.push(
      "functions.apig: the receiver needs a dedicated API Gateway on Huawei Cloud (the shared one is closed to new users); put its instanceId and the API group's groupId here",
    );
  }

  // Missing ones are reported by loadConfig below, with the path that references them.
  const refs = productRaw ? [...new Set(referencesIn(productRaw))].sort() : [];
  const secrets: Record<string, string> = {};
  for (const name of refs) {
    const value = options.env[name];
    if (value !== undefined && value !== "") secrets[name] = value;
  }

  const boxes = Array.isArray(productRaw?.boxes) ? (productRaw.boxes as unknown[]) : [];
  const unplaced = boxes.flatMap((box, i) =>
    isRecord(box) && box.serverId === undefined ? [i] : [],
  );
  if (unplaced.length > 1) {
    problems.push(
      `product.boxes: only one box may omit serverId (the one on server "${file?.server?.name ?? "?"}"); give the others their server ids`,
    );
  }
  const serverBox = unplaced[0];
  if (file && !file.server && serverBox !== undefined) {
    problems.push(
      `product.boxes.${serverBox}.serverId: there is no server block, so this box must name the server it watches: give it serverId and gateway.url (DEPLOY.md, "I already run OpenClaw"), or add a server block for create-server`,
    );
  }
  if (options.target === "huawei" && file && !networkOf(file)) {
    problems.push(
      "functions.vpcId: without a server block, set functions.vpcId and functions.subnetId to the VPC and subnet of the boxes (the watchdog reaches their gateways from there)",
    );
  }

  const cloud = {
    ...(isRecord(productRaw?.cloud) ? productRaw.cloud : {}),
    region,
    projectId: projectId || "unset",
    ...options.local?.cloud,
  };
  const local = options.local ? localEndpointsIn(productRaw ?? {}, options.local) : undefined;
  const product = { ...(local?.product ?? productRaw ?? {}), cloud };
  // The functions load their config with loadConfig from the same env: validate it the same way.
  const resolve = (box?: { serverId: string; gatewayUrl: string }): Config =>
    loadConfig({
      ...secrets,
      CLAWWATCH_CONFIG: JSON.stringify(withServerBox(product, serverBox, box ?? PLACEHOLDER)),
    });
  if (productRaw) {
    try {
      resolve();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...asWritten(error.problems, productRaw).map((p) => `product.${p}`));
    }
    problems.push(...writtenMistakes(productRaw));
  }
  if (problems.length > 0 || !file) throw new ConfigError([...new Set(problems)]);
  return deployment(file, {
    region,
    projectId,
    product,
    secrets,
    serverBox,
    resolve,
    overridden: local?.notes ?? [],
  });
}

function deployment(
  file: DeploymentFile,
  parts: Pick<
    Deployment,
    "region" | "projectId" | "product" | "secrets" | "serverBox" | "resolve" | "overridden"
  >,
): Deployment {
  return {
    ...parts,
    agencies: file.agencies,
    server: file.server,
    securityGroupName: file.server
      ? (file.server.securityGroup ?? `${file.server.name}-sg`)
      : undefined,
    network: networkOf(file),
    rebootstrapWipesSystemDisk: file.rebootstrapWipesSystemDisk,
    functions: file.functions,
    bootstrap: file.bootstrap,
  };
}

/**
 * Every endpoint the local target serves itself: the alert bot's Bot API and every MaaS base URL
 * (in boxDefaults and in each box that sets one), so nothing deployed here calls the internet.
 */
function localEndpointsIn(
  productRaw: Record<string, unknown>,
  local: LocalOverrides,
): { product: Record<string, unknown>; notes: string[] } {
  const notes: string[] = [];
  const alerts = isRecord(productRaw.alerts) ? productRaw.alerts : undefined;
  const product: Record<string, unknown> = { ...productRaw };
  if (alerts) {
    if (alerts.apiRoot !== local.telegramApiRoot) {
      notes.push(
        `alerts.apiRoot: ${alerts.apiRoot === undefined ? "unset" : String(alerts.apiRoot)} → the local Telegram ${local.telegramApiRoot}`,
      );
    }
    product.alerts = { ...alerts, apiRoot: local.telegramApiRoot };
  }
  const maasIn = (entry: unknown, path: string): unknown => {
    if (!isRecord(entry) || !isRecord(entry.maas) || entry.maas.baseUrl === undefined) return entry;
    if (entry.maas.baseUrl !== local.maasBaseUrl) {
      notes.push(
        `${path}.maas.baseUrl: ${String(entry.maas.baseUrl)} → the local MaaS ${local.maasBaseUrl}`,
      );
    }
    return { ...entry, maas: { ...entry.maas, baseUrl: local.maasBaseUrl } };
  };
  if (isRecord(productRaw.boxDefaults))
    product.boxDefaults = maasIn(productRaw.boxDefaults, "boxDefaults");
  if (Array.isArray(productRaw.boxes)) {
    product.boxes = productRaw.boxes.map((box, i) => maasIn(box, `boxes.${i}`));
  }
  return { product, notes };
}

function networkOf(file: DeploymentFile): Deployment["network"] {
  const vpcId = file.functions.vpcId ?? file.server?.vpcId;
  const subnetId = file.functions.subnetId ?? file.server?.subnetId;
  return vpcId && subnetId ? { vpcId, subnetId } : undefined;
}

/** The server's box gets the server id and gateway URL found at deploy time. */
function withServerBox(
  product: Record<string, unknown>,
  index: number | undefined,
  box: { serverId: string; gatewayUrl: string },
): Record<string, unknown> {
  if (index === undefined || !Array.isArray(product.boxes)) return product;
  const boxes = (product.boxes as unknown[]).map((entry, i) => {
    if (i !== index || !isRecord(entry)) return entry;
    const gateway = isRecord(entry.gateway) ? entry.gateway : {};
    return {
      ...entry,
      serverId: box.serverId,
      gateway: { ...gateway, url: gateway.url ?? box.gatewayUrl },
    };
  });
  return { ...product, boxes };
}

const REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/** Every NAME of a `${NAME}` string anywhere in the value. */
export function referencesIn(value: unknown): string[] {
  if (typeof value === "string") {
    const name = REF.exec(value)?.[1];
    return name === undefined ? [] : [name];
  }
  if (Array.isArray(value)) return value.flatMap(referencesIn);
  if (isRecord(value)) return Object.values(value).flatMap(referencesIn);
  return [];
}

function issues(error: z.ZodError): string[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String).join(".") || "(root)";
    if (issue.code === "unrecognized_keys") {
      const known = knownKeysAt(deploymentSchema, issue.path);
      return issue.keys.map((key) => {
        const near = didYouMean(key, known);
        return `${[...issue.path.map(String), key].join(".")}: unknown key${near ? `; did you mean "${near}"?` : ""}`;
      });
    }
    return [`${path}: ${issue.message}`];
  });
}

/**
 * loadConfig reports a value merged in from boxDefaults at every box it reached
 * (`boxes.0.maas.baseUrl`, `boxes.1.…`): say it once, where the user wrote it.
 */
function asWritten(problems: readonly string[], productRaw: Record<string, unknown>): string[] {
  const defaults = isRecord(productRaw.boxDefaults) ? productRaw.boxDefaults : undefined;
  const boxes = Array.isArray(productRaw.boxes) ? productRaw.boxes : [];
  return problems.map((problem) => {
    const m = /^boxes\.(\d+)\.([^:]+): /.exec(problem);
    if (!m || !defaults) return problem;
    const rest = (m[2] ?? "").split(".");
    if (hasPath(boxes[Number(m[1])], rest) || !hasPath(defaults, rest)) return problem;
    return `boxDefaults.${m[2]}: ${problem.slice(m[0].length)}`;
  });
}

function hasPath(value: unknown, path: readonly string[]): boolean {
  let current = value;
  for (const part of path) {
    if (!isRecord(current) || !(part in current)) return false;
    current = current[part];
  }
  return true;
}

const SECRET_KEYS: Record<string, string> = {
  "gateway.token": "GATEWAY_TOKEN",
  "telegram.botToken": "GATEWAY_BOT_TOKEN",
  "maas.apiKey": "MAAS_API_KEY",
};

/**
 * Mistakes the schema cannot see: a secret written into the file (it would land in the
 * functions' plain environment), a gateway URL with a path, a MaaS URL without its /v1.
 */
function writtenMistakes(productRaw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const inline = (path: string, value: unknown, name: string) => {
    if (typeof value === "string" && value !== "" && !REF.test(value)) {
      problems.push(
        `product.${path}: a secret written into the file would land in the functions' plain environment: write "\${${name}}" here and export ${name}`,
      );
    }
  };
  const alerts = isRecord(productRaw.alerts) ? productRaw.alerts : {};
  inline("alerts.botToken", alerts.botToken, "ALERT_BOT_TOKEN");
  inline("alerts.webhookSecret", alerts.webhookSecret, "WEBHOOK_SECRET");
  const boxes: unknown[] = Array.isArray(productRaw.boxes) ? productRaw.boxes : [];
  const entries: [string, unknown][] = [
    ["boxDefaults", productRaw.boxDefaults],
    ...boxes.map((box, i): [string, unknown] => [`boxes.${i}`, box]),
  ];
  for (const [at, entry] of entries) {
    if (!isRecord(entry)) continue;
    for (const [key, name] of Object.entries(SECRET_KEYS)) {
      const [section = "", field = ""] = key.split(".");
      const part = entry[section];
      if (isRecord(part)) inline(`${at}.${key}`, part[field], name);
    }
    const url = isRecord(entry.gateway) ? entry.gateway.url : undefined;
    if (typeof url === "string" && !REF.test(url)) {
      const problem = gatewayUrlProblem(url);
      if (problem) problems.push(`product.${at}.gateway.url: ${problem}`);
    }
    const base = isRecord(entry.maas) ? entry.maas.baseUrl : undefined;
    if (typeof base === "string" && !REF.test(base)) {
      const problem = maasUrlProblem(base);
      if (problem) problems.push(`product.${at}.maas.baseUrl: ${problem}`);
    }
  }
  return problems;
}

function gatewayUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined; // the schema reports an unparsable URL
  }
  if (parsed.pathname === "/" && !parsed.search && !parsed.hash) return undefined;
  return `the gateway's root on its port, without a path: use "${parsed.origin}" (the probes add /readyz and /healthz themselves)`;
}

function maasUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const path = parsed.pathname.replace(/\/+$/, "").replace(/\/chat\/completions$/, "");
  if (/\/v\d+$/.test(path)) return undefined;
  return `the OpenAI-compatible base ends in /v1: use "${parsed.origin}${path}/v1" (the API URL from the MaaS console's "View Call Description", without /chat/completions)`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
