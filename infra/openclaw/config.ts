/**
 * The one renderer of openclaw.json, for two targets: the gateway host built by the bootstrap
 * ("box": bound to the VPC address) and a local guest of the real gateway ("local": loopback).
 * Only keys verified against the real package are emitted (see reference/openclaw-gateway-facts.md
 * and the docs shipped in the openclaw npm package).
 */
import { z } from "zod";
import { normaliseMaasBaseUrl } from "../../shared/config/schema";
import { ConfigError } from "../../shared/errors";

export const OPENCLAW_GATEWAY_PORT = 18789;
/** The provider id under models.providers; the agent's model is "maas/<model id>". */
export const MAAS_PROVIDER_ID = "maas";
/**
 * Stands in for the box's VPC address when it is only known on the box: the bootstrap replaces it
 * with the address it finds at boot.
 */
export const VPC_ADDRESS_PLACEHOLDER = "__CLAWWATCH_VPC_ADDRESS__";

const secret = z.string().min(1, "must not be empty");
const httpUrl = z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, ""));
const absolutePath = z
  .string()
  .regex(/^\/[^\0\n\r]*$/, "use an absolute path")
  .transform((p) => (p.length > 1 ? p.replace(/\/+$/, "") : p));

export const gatewaySchema = z.object({
  token: z
    .string()
    .min(16, "use at least 16 random characters (for example: openssl rand -hex 24)"),
  port: z.number().int().min(1).max(65_535).default(OPENCLAW_GATEWAY_PORT),
  /** Box target: the VPC address the gateway binds to (or VPC_ADDRESS_PLACEHOLDER). */
  bindHost: z.union([z.ipv4(), z.literal(VPC_ADDRESS_PLACEHOLDER)]).optional(),
  /** Turns on the gateway's OpenAI-compatible /v1/chat/completions (off by default in OpenClaw). */
  httpChatCompletions: z.boolean().default(false),
});

export const maasSchema = z.object({
  /** The console's API URL or its base; "/chat/completions" is removed either way. */
  baseUrl: httpUrl.transform(normaliseMaasBaseUrl),
  apiKey: secret,
  model: z.string().regex(/^\S+$/, "use the model id from the MaaS call description"),
  name: z.string().min(1).optional(),
  contextWindow: z.number().int().positive().default(128_000),
  maxTokens: z.number().int().positive().default(4_096),
});

export const telegramSchema = z
  .object({
    enabled: z.boolean().default(true),
    botToken: secret,
    dmPolicy: z.enum(["pairing", "allowlist", "open", "disabled"]).default("allowlist"),
    /** Telegram user ids allowed to talk to the agent. */
    allowFrom: z
      .array(z.union([z.number().int(), z.string().regex(/^\S+$/, "must not contain spaces")]))
      .default([])
      .transform((ids) => ids.map(String)),
    /** Bot API root only (never …/bot<token>); omitted means OpenClaw's default api.telegram.org. */
    apiRoot: httpUrl
      .refine((u) => !/\/bot[^/]*$/.test(u), "use the Bot API root, without /bot<token>")
      .optional(),
  })
  .superRefine((t, ctx) => {
    if (t.dmPolicy === "allowlist" && t.allowFrom.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["allowFrom"],
        message: 'list at least one Telegram user id, or set dmPolicy to "pairing"',
      });
    }
  });

export const openclawConfigInputSchema = z
  .object({
    target: z.enum(["box", "local"]),
    /** OPENCLAW_STATE_DIR: openclaw.json and the logs live here. */
    stateDir: absolutePath,
    workspaceDir: absolutePath.optional(),
    gateway: gatewaySchema,
    maas: maasSchema,
    telegram: telegramSchema,
  })
  .superRefine((input, ctx) => {
    if (input.target === "box" && input.gateway.bindHost === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["gateway", "bindHost"],
        message: "the box target binds to its VPC address: give it (or VPC_ADDRESS_PLACEHOLDER)",
      });
    }
    if (input.target === "local" && input.gateway.bindHost !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["gateway", "bindHost"],
        message: "the local target always binds to loopback: leave bindHost out",
      });
    }
  });

export type OpenclawConfigInput = z.input<typeof openclawConfigInputSchema>;
type ParsedInput = z.output<typeof openclawConfigInputSchema>;

export interface OpenclawModel {
  id: string;
  name: string;
  reasoning: false;
  input: ["text"];
  contextWindow: number;
  maxTokens: number;
}

/** The subset of openclaw.json clawwatch writes. */
export interface OpenclawConfig {
  gateway: {
    mode: "local";
    port: number;
    bind: "custom" | "loopback";
    customBindHost?: string;
    auth: { mode: "token"; token: string };
    http?: { endpoints: { chatCompletions: { enabled: true } } };
  };
  update: { checkOnStart: false };
  logging: { file: string };
  models: {
    mode: "merge";
    catalogRefresh: { enabled: false };
    providers: Record<
      string,
      { baseUrl: string; apiKey: string; api: "openai-completions"; models: OpenclawModel[] }
    >;
  };
  agents: {
    defaults: {
      model: { primary: string };
      heartbeat: { every: "0m" };
      workspace?: string;
    };
  };
  channels: {
    telegram: {
      enabled: boolean;
      botToken: string;
      dmPolicy: "pairing" | "allowlist" | "open" | "disabled";
      allowFrom: string[];
      apiRoot?: string;
    };
  };
}

export interface RenderedOpenclawConfig {
  config: OpenclawConfig;
  /** openclaw.json text: stable key order, two-space indent, trailing newline. */
  toJson(): string;
}

/** Where OpenClaw keeps its files for a given OPENCLAW_STATE_DIR. */
export function openclawPaths(stateDir: string): {
  configFile: string;
  logDir: string;
  logFile: string;
} {
  const logDir = `${stateDir}/logs`;
  return { configFile: `${stateDir}/openclaw.json`, logDir, logFile: `${logDir}/openclaw.log` };
}

/** Validates the input (every problem listed in one ConfigError) and renders openclaw.json. */
export function renderOpenclawConfig(input: OpenclawConfigInput): RenderedOpenclawConfig {
  const parsed = openclawConfigInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (issue) => `openclaw.${issue.path.map(String).join(".")}: ${issue.message}`,
      ),
    );
  }
  const config = buildConfig(parsed.data);
  return { config, toJson: () => `${JSON.stringify(config, null, 2)}\n` };
}

function buildConfig(input: ParsedInput): OpenclawConfig {
  const { gateway, maas, telegram } = input;
  return {
    gateway: {
      mode: "local",
      port: gateway.port,
      ...(input.target === "box"
        ? { bind: "custom" as const, customBindHost: gateway.bindHost }
        : { bind: "loopback" as const }),
      auth: { mode: "token", token: gateway.token },
      ...(gateway.httpChatCompletions
        ? { http: { endpoints: { chatCompletions: { enabled: true as const } } } }
        : {}),
    },
    // The gateway must not phone home or update itself: the bootstrap pins the version.
    update: { checkOnStart: false },
    // OpenClaw's default log file is under /tmp, outside the state dir.
    logging: { file: openclawPaths(input.stateDir).logFile },
    models: {
      mode: "merge",
      // Only the MaaS model is used; the remote catalog refresh would reach out every 6 h.
      catalogRefresh: { enabled: false },
      providers: {
        [MAAS_PROVIDER_ID]: {
          baseUrl: maas.baseUrl,
          apiKey: maas.apiKey,
          api: "openai-completions",
          models: [
            {
              id: maas.model,
              name: maas.name ?? maas.model,
              reasoning: false,
              input: ["text"],
              contextWindow: maas.contextWindow,
              maxTokens: maas.maxTokens,
            },
          ],
        },
      },
    },
    agents: {
      defaults: {
        model: { primary: `${MAAS_PROVIDER_ID}/${maas.model}` },
        // The default 30-minute heartbeat runs a paid LLM turn; clawwatch watches from outside.
        heartbeat: { every: "0m" },
        ...(input.workspaceDir ? { workspace: input.workspaceDir } : {}),
      },
    },
    channels: {
      telegram: {
        enabled: telegram.enabled,
        botToken: telegram.botToken,
        dmPolicy: telegram.dmPolicy,
        allowFrom: telegram.allowFrom,
        ...(telegram.apiRoot ? { apiRoot: telegram.apiRoot } : {}),
      },
    },
  };
}

export interface GatewayEnvironmentInput {
  stateDir: string;
  /** TMPDIR: OpenClaw's compile cache and terminal staging follow it (default /tmp). */
  tmpDir: string;
  homeDir?: string;
  workspaceDir?: string;
  /** Local target: no catalog or telemetry lookups at all. */
  offline?: boolean;
}

/**
 * The gateway process's environment (besides PATH), shared by the systemd unit on the box and
 * the local guest runner, so both run the gateway the same way.
 */
export function gatewayEnvironment(input: GatewayEnvironmentInput): Record<string, string> {
  return {
    ...(input.homeDir ? { HOME: input.homeDir } : {}),
    OPENCLAW_STATE_DIR: input.stateDir,
    ...(input.workspaceDir ? { OPENCLAW_WORKSPACE_DIR: input.workspaceDir } : {}),
    OPENCLAW_NO_AUTO_UPDATE: "1",
    OPENCLAW_DISABLE_BONJOUR: "1",
    ...(input.offline ? { OPENCLAW_OFFLINE: "1" } : {}),
    TMPDIR: input.tmpDir,
  };
}
