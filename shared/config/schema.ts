import { z } from "zod";
import { duration, policySchema } from "./policy-schema";

const secret = z.string().min(1, "must not be empty");
const httpUrl = z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, ""));

/**
 * MaaS consoles show the full API URL ("…/v1/chat/completions"); the OpenAI client wants the
 * base ("…/v1"). Accept both, keep the base.
 */
export function normaliseMaasBaseUrl(url: string): string {
  return url.replace(/\/+$/, "").replace(/\/chat\/completions$/, "");
}

const boxName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "use 1-40 lower-case letters, digits and dashes");

export const boxSchema = z.object({
  name: boxName,
  serverId: z.string().min(1),
  gateway: z.object({
    url: httpUrl,
    token: secret,
  }),
  telegram: z.object({
    /** The gateway's own bot: probed with getMe/getWebhookInfo, never getUpdates. */
    botToken: secret,
  }),
  maas: z.object({
    baseUrl: httpUrl.transform(normaliseMaasBaseUrl),
    apiKey: secret,
    model: z.string().min(1),
  }),
  /** Bootstrap user_data (base64) used for the "re-run bootstrap" rung; without it that rung is skipped. */
  bootstrapUserData: z.string().optional(),
});

export const alertsSchema = z.object({
  /** A separate alert bot (recommended) keeps alerts flowing when the gateway's token is the problem. */
  botToken: secret,
  chatId: z.union([z.number().int(), z.string().regex(/^-?\d+$|^@\w+$/)]),
  /** Telegram user ids allowed to ack, mute and act. */
  allowedUserIds: z.array(z.number().int()).default([]),
  /** Secret token Telegram sends in X-Telegram-Bot-Api-Secret-Token to the receiver. */
  webhookSecret: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,256}$/, "use 16-256 characters of A-Z a-z 0-9 _ -")
    .optional(),
  /** Optional plain JSON POST target, used when Telegram cannot be reached. */
  secondaryWebhookUrl: httpUrl.optional(),
  apiRoot: httpUrl.default("https://api.telegram.org"),
});

export const cloudSchema = z.object({
  region: z.string().min(1).default("cn-north-4"),
  projectId: z.string().min(1),
  /** Override endpoints (local cloud); real Huawei Cloud endpoints come from the region. */
  ecsEndpoint: httpUrl.optional(),
  functionGraphEndpoint: httpUrl.optional(),
  obsEndpoint: httpUrl.optional(),
});

export const probesSchema = z.object({
  gatewayTimeout: duration.default(5_000),
  maasTimeout: duration.default(10_000),
  telegramTimeout: duration.default(5_000),
  serverTimeout: duration.default(8_000),
  /** Pause before the one quick in-cycle retry of a failed probe. */
  retryDelay: duration.default(500),
  /** A real (tiny) chat completion at most this often; /models is checked every cycle. */
  completionEvery: duration.default(60 * 60_000),
});

export const configSchema = z.object({
  /** Merged under every box by loadConfig; kept here so the key is known to the schema. */
  boxDefaults: z.record(z.string(), z.unknown()).optional(),
  boxes: z
    .array(boxSchema)
    .min(1, "configure at least one box to watch")
    .refine(
      (boxes) => new Set(boxes.map((b) => b.name)).size === boxes.length,
      "box names must be unique",
    ),
  alerts: alertsSchema,
  cloud: cloudSchema,
  state: z
    .object({
      bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "not a valid OBS bucket name"),
      prefix: z
        .string()
        .regex(/^[a-zA-Z0-9_-]+$/)
        .default("clawwatch"),
    })
    .strict(),
  probes: probesSchema.default(probesSchema.parse({})),
  policy: policySchema.default(policySchema.parse({})),
  runtime: z
    .object({
      /** How many boxes are checked at once in one invocation. */
      concurrency: z.number().int().min(1).max(64).default(8),
      /** Stop starting work when less than this is left of the function's time. */
      safetyMargin: duration.default(3_000),
      /**
       * A timer cycle that finds the state saved less than this ago backs off: it is an
       * invocation that queued behind a slow one (max instances 1), not a new minute.
       */
      minInterval: duration.default(20_000),
    })
    .prefault({}),
});

export type Config = z.output<typeof configSchema>;
export type BoxConfig = z.output<typeof boxSchema>;
export type AlertsConfig = z.output<typeof alertsSchema>;
