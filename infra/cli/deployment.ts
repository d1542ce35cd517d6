import { readFileSync } from "node:fs";
import { z } from "zod";
import { type Config, loadConfig } from "../../shared/config";
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
    server: serverSpecSchema,
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
}

export interface Deployment {
  readonly region: string;
  readonly projectId: string;
  readonly agencies: {
    readonly watchdog: string;
    readonly receiver: string;
    readonly probe: string;
  };
  readonly server: ServerSpec;
  readonly securityGroupName: string;
  readonly functions: FunctionsSpec;
  readonly bootstrap: Record<string, unknown>;
  /** The product config as the functions get it: `${NAME}` references kept, `cloud` filled in. */
  readonly product: Record<string, unknown>;
  /** NAME → value of every `${NAME}` the product config references. */
  readonly secrets: Record<string, string>;
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
  } catch (cause) {
    throw new ConfigError([`${path} is not valid JSON: ${(cause as Error).message}`], { cause });
  }
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
  const projectId =
    options.local?.projectId ?? file?.projectId ?? options.env.HUAWEICLOUD_PROJECT_ID ?? "";
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
      `product.boxes: only one box may omit serverId (the one on server "${file?.server.name ?? "?"}"); give the others their server ids`,
    );
  }
  const serverBox = unplaced[0];

  const cloud = {
    ...(isRecord(productRaw?.cloud) ? productRaw.cloud : {}),
    region,
    projectId: projectId || "unset",
    ...options.local?.cloud,
  };
  const product = productRaw ? { ...productRaw, cloud } : { cloud };
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
      problems.push(...error.problems.map((p) => `product.${p}`));
    }
  }
  if (problems.length > 0 || !file) throw new ConfigError(problems);
  return deployment(file, { region, projectId, product, secrets, serverBox, resolve });
}

function deployment(
  file: DeploymentFile,
  parts: Pick<Deployment, "region" | "projectId" | "product" | "secrets" | "serverBox" | "resolve">,
): Deployment {
  return {
    ...parts,
    agencies: file.agencies,
    server: file.server,
    securityGroupName: file.server.securityGroup ?? `${file.server.name}-sg`,
    functions: file.functions,
    bootstrap: file.bootstrap,
  };
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
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join(".") || "(root)";
    return `${path}: ${issue.message}`;
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
