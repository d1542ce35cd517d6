/**
 * Renders the gateway host's cloud-init user_data from config: the bash template beside this file
 * plus a settings block of shell-quoted values and the embedded openclaw.json, units and script.
 * Secrets only ever appear inside the quoted heredoc of openclaw.json, where the shell expands nothing.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "../../shared/errors";
import {
  gatewaySchema,
  maasSchema,
  openclawPaths,
  renderOpenclawConfig,
  telegramSchema,
  VPC_ADDRESS_PLACEHOLDER,
} from "../openclaw/config";
import { renderCliWrapper, renderGatewayUnit, renderRepairUnit } from "./installed-files";
import { BOX_LAYOUT, installDirs, type PinnedVersions } from "./layout";
import { assertUserDataSize } from "./user-data";

export const DEFAULT_VERSIONS: PinnedVersions = {
  openclaw: "2026.9.6",
  node: "24.21.0",
  npm: "11.19.1",
};

const version = z
  .string()
  .regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/, "use an exact x.y.z version");

export const bootstrapInputSchema = z.object({
  gateway: gatewaySchema.omit({ bindHost: true }).extend({
    /** The VPC address to bind to; omitted, the box uses the IPv4 address it has at boot. */
    bindHost: z.ipv4().optional(),
  }),
  maas: maasSchema,
  telegram: telegramSchema,
  versions: z
    .object({
      openclaw: version.default(DEFAULT_VERSIONS.openclaw),
      node: version
        .refine((v) => Number(v.split(".")[0]) >= 24, "the gateway needs Node 24 or later")
        .default(DEFAULT_VERSIONS.node),
      npm: version.default(DEFAULT_VERSIONS.npm),
    })
    .prefault({}),
  /** Where Node, npm and openclaw come from (a mirror such as Huawei Cloud's works too). */
  npmRegistry: z
    .url({ protocol: /^https?$/ })
    .transform((u) => u.replace(/\/+$/, ""))
    .default("https://registry.npmjs.org"),
  /**
   * "auto": a disk labelled clawdata, else the only unused extra disk; "none": no data disk;
   * or a device path. Only a blank disk is ever formatted.
   */
  dataDevice: z
    .union([
      z.enum(["auto", "none"]),
      // One name right under /dev (or under /dev/disk/by-*/): no "..", nothing the shell or
      // mkfs could read as another path.
      z
        .string()
        .regex(
          /^\/dev\/(?:disk\/by-[a-z]+\/)?[A-Za-z0-9][A-Za-z0-9_.:-]*$/,
          'use "auto", "none" or a device path such as /dev/vdb',
        )
        .refine(
          (path) => !path.split("/").some((part) => part === "." || part === ".."),
          'a device path must not contain "." or ".." segments',
        ),
    ])
    .default("auto"),
  /** The dedicated non-root user the gateway runs as. */
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,30}$/, "use a lower-case Linux user name")
    .refine((u) => u !== "root", "the gateway must not run as root")
    .default("openclaw"),
});

export type BootstrapInput = z.input<typeof bootstrapInputSchema>;
type ParsedInput = z.output<typeof bootstrapInputSchema>;

const TEMPLATE_URL = new URL("./bootstrap.sh", import.meta.url);
const HEREDOC = { json: "CLAWWATCH_OPENCLAW_JSON", file: "CLAWWATCH_FILE" } as const;

/** Quotes a value for bash: single quotes, with embedded single quotes spliced in. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The user_data script (bash). Throws ConfigError for bad input, UserDataTooLargeError past 32 KB. */
export function renderBootstrap(input: BootstrapInput): string {
  const parsed = bootstrapInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (issue) => `bootstrap.${issue.path.map(String).join(".")}: ${issue.message}`,
      ),
    );
  }
  const config = parsed.data;
  const script = fill(readFileSync(TEMPLATE_URL, "utf8"), {
    SETTINGS: settings(config),
    OPENCLAW_JSON: heredocBody(openclawJson(config), HEREDOC.json),
    GATEWAY_UNIT: heredocBody(renderGatewayUnit(config.versions, config.user), HEREDOC.file),
    REPAIR_UNIT: heredocBody(renderRepairUnit(), HEREDOC.file),
    CLI_WRAPPER: heredocBody(renderCliWrapper(config.versions, config.user), HEREDOC.file),
  });
  assertUserDataSize(script);
  return script;
}

function openclawJson(config: ParsedInput): string {
  const json = renderOpenclawConfig({
    target: "box",
    stateDir: BOX_LAYOUT.stateDir,
    workspaceDir: BOX_LAYOUT.workspaceDir,
    gateway: { ...config.gateway, bindHost: config.gateway.bindHost ?? VPC_ADDRESS_PLACEHOLDER },
    maas: config.maas,
    telegram: config.telegram,
  })
    .toJson()
    .trimEnd();
  // The box fills in its address by replacing the placeholder where it stands for the bind
  // address, and only there: any other occurrence (a token that is the placeholder) is refused.
  const expected = config.gateway.bindHost === undefined ? 1 : 0;
  const bindLine = `"customBindHost": "${VPC_ADDRESS_PLACEHOLDER}"`;
  const found = json.split(VPC_ADDRESS_PLACEHOLDER).length - 1;
  const inBindLine = json.split(bindLine).length - 1;
  if (found !== expected || inBindLine !== expected) {
    throw new ConfigError([`bootstrap: no setting may contain ${VPC_ADDRESS_PLACEHOLDER}`]);
  }
  return json;
}

function settings(config: ParsedInput): string {
  const { nodeDir, npmDir, appDir } = installDirs(config.versions);
  const values: Record<string, string> = {
    OPENCLAW_VERSION: config.versions.openclaw,
    NODE_VERSION: config.versions.node,
    NPM_VERSION: config.versions.npm,
    NPM_REGISTRY: config.npmRegistry,
    SERVICE_USER: config.user,
    DATA_DEVICE: config.dataDevice,
    DATA_LABEL: BOX_LAYOUT.dataLabel,
    // Empty: found on the box at run time (the address its VPC port has).
    BIND_HOST: config.gateway.bindHost ?? "",
    VPC_ADDRESS_PLACEHOLDER,
    OPT_DIR: BOX_LAYOUT.optDir,
    NODE_DIR: nodeDir,
    NPM_DIR: npmDir,
    APP_DIR: appDir,
    HOME_DIR: BOX_LAYOUT.homeDir,
    STATE_DIR: BOX_LAYOUT.stateDir,
    CONFIG_FILE: openclawPaths(BOX_LAYOUT.stateDir).configFile,
    LOG_DIR: openclawPaths(BOX_LAYOUT.stateDir).logDir,
    TMP_DIR: BOX_LAYOUT.tmpDir,
    DATA_DIR: BOX_LAYOUT.dataDir,
    WORKSPACE_DIR: BOX_LAYOUT.workspaceDir,
    SELF: BOX_LAYOUT.selfPath,
    CLI: BOX_LAYOUT.cliPath,
    GATEWAY_PORT: String(config.gateway.port),
    UNIT_DIR: BOX_LAYOUT.unitDir,
    GATEWAY_UNIT: BOX_LAYOUT.gatewayUnit,
    REPAIR_UNIT: BOX_LAYOUT.repairUnit,
  };
  return Object.entries(values)
    .map(([name, value]) => `${name}=${shellQuote(value)}`)
    .join("\n");
}

/** Text for a quoted heredoc: it must not contain its own terminator line. */
function heredocBody(text: string, terminator: string): string {
  if (text.split("\n").some((line) => line === terminator)) {
    throw new Error(`embedded text contains the heredoc terminator ${terminator}`);
  }
  return text;
}

function fill(template: string, parts: Record<string, string>): string {
  let out = template;
  for (const [name, text] of Object.entries(parts)) {
    const marker = `# @${name}@`;
    if (out.split(marker).length !== 2) {
      throw new Error(`bootstrap.sh must contain the marker line "${marker}" exactly once`);
    }
    out = out.replace(marker, () => text);
  }
  return out;
}
