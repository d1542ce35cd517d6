import * as z from "zod/mini";
import "../errors/zod-english";
import { NOTIFICATION_TYPES } from "../policy/state";
import { PROBE_INFO, PROBES, type TimeoutKey, timeoutKey } from "../probes/catalog";
import { duration, policySchema } from "./policy-schema";

const secret = z.string().check(z.minLength(1, "must not be empty"));
const httpUrl = z.pipe(
  z.url({ protocol: /^https?$/ }),
  z.transform((u: string) => u.replace(/\/+$/, "")),
);

/**
 * MaaS consoles show the full API URL ("…/v1/chat/completions"); the OpenAI client wants the
 * base ("…/v1"). Accept both, keep the base.
 */
export function normaliseMaasBaseUrl(url: string): string {
  return url.replace(/\/+$/, "").replace(/\/chat\/completions$/, "");
}

const boxName = z
  .string()
  .check(z.regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "use 1-40 lower-case letters, digits and dashes"));

const integer = z.number().check(z.int());

export const boxSchema = z.strictObject({
  name: boxName,
  serverId: z.string().check(z.minLength(1)),
  gateway: z.strictObject({
    url: httpUrl,
    token: secret,
  }),
  telegram: z.strictObject({
    /** The gateway's own bot: probed with getMe/getWebhookInfo, never getUpdates. */
    botToken: secret,
  }),
  maas: z.strictObject({
    baseUrl: z.pipe(httpUrl, z.transform(normaliseMaasBaseUrl)),
    apiKey: secret,
    model: z.string().check(z.minLength(1)),
  }),
  /**
   * Bootstrap user_data (base64) for the "re-run bootstrap" rung. Real deploys store it in OBS
   * instead (it is ~27 KB, FunctionGraph env holds 2–4 KB) and set `bootstrapStored`; with
   * neither, that rung is skipped.
   */
  bootstrapUserData: z.optional(z.string()),
  bootstrapStored: z._default(z.boolean(), false),
  /**
   * sha256 (hex) of the stored user_data, recorded by `infra deploy` in the functions' own
   * environment, which neither function can rewrite: a reinstall whose OBS copy does not match
   * is refused (the functions can write OBS, not their configuration).
   */
  bootstrapSha256: z.optional(z.string().check(z.regex(/^[0-9a-f]{64}$/, "a sha256 in hex"))),
});

export const alertsSchema = z.strictObject({
  /** A separate alert bot (recommended) keeps alerts flowing when the gateway's token is the problem. */
  botToken: secret,
  chatId: z.union([integer, z.string().check(z.regex(/^-?\d+$|^@\w+$/))]),
  /** Telegram user ids allowed to ack, mute and act. */
  allowedUserIds: z._default(z.array(integer), []),
  /** Secret token Telegram sends in X-Telegram-Bot-Api-Secret-Token to the receiver. */
  webhookSecret: z.optional(
    z
      .string()
      .check(z.regex(/^[A-Za-z0-9_-]{16,256}$/, "use 16-256 characters of A-Z a-z 0-9 _ -")),
  ),
  /** Optional plain JSON POST target, used when Telegram cannot be reached. */
  secondaryWebhookUrl: z.optional(httpUrl),
  apiRoot: z._default(httpUrl, "https://api.telegram.org"),
  /**
   * Notification types sent with disable_notification (no sound, no banner): the first alert of
   * an incident rings; its follow-ups (updates such as "automatic soft reboot", reminders, the
   * resolved notice) arrive quietly. needs-human and budget-exhausted ring: a person must act.
   * A notification's own `quiet` (a flap group's alerts) wins over this list.
   */
  quietTypes: z._default(z.array(z.enum(NOTIFICATION_TYPES)), ["update", "reminder", "resolved"]),
});

export const cloudSchema = z.strictObject({
  region: z._default(z.string().check(z.minLength(1)), "cn-north-4"),
  projectId: z.string().check(z.minLength(1)),
  /** Override endpoints (local cloud); real Huawei Cloud endpoints come from the region. */
  ecsEndpoint: z.optional(httpUrl),
  functionGraphEndpoint: z.optional(httpUrl),
  obsEndpoint: z.optional(httpUrl),
  /**
   * The gateway-probe function (deploy sets it): the only function with VPC access, invoked
   * for each gateway check. Unset, the gateway is asked directly (a local run with a route to it).
   */
  gatewayProbeFunction: z.optional(z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9_-]{0,59}$/))),
});

/** `<probe>Timeout` for every probe, its default from the probe catalog. */
const probeTimeouts = Object.fromEntries(
  PROBES.map((probe) => [timeoutKey(probe), z._default(duration, PROBE_INFO[probe].timeoutMs)]),
) as Record<TimeoutKey, z.ZodMiniDefault<typeof duration>>;

export const probesSchema = z.strictObject({
  ...probeTimeouts,
  /** Pause before the one quick in-cycle retry of a failed probe. */
  retryDelay: z._default(duration, 500),
  /** A real (tiny) chat completion at most this often; /models is checked every cycle. */
  completionEvery: z._default(duration, 60 * 60_000),
});

/**
 * The alert bot must not be a gateway's bot: deploy points the alert bot's webhook at the
 * receiver, and Telegram then answers that gateway's getUpdates with 409 Conflict for as long
 * as the webhook is set ("can't use getUpdates method while webhook is active"), so the gateway
 * would never read a message again. The issue names the box, never the token.
 */
const alertBotIsNoGatewayBot = z.superRefine(
  (
    config: {
      alerts: { botToken: string };
      boxes: { name: string; telegram: { botToken: string } }[];
    },
    ctx,
  ) => {
    for (const [index, box] of config.boxes.entries()) {
      if (box.telegram.botToken !== config.alerts.botToken) continue;
      ctx.issues.push({
        code: "custom",
        path: ["alerts", "botToken"],
        input: "(redacted)",
        message: `is also the gateway bot of box "${box.name}" (boxes.${index}.telegram.botToken): deploy sets the alert bot's webhook, and Telegram then refuses that gateway's getUpdates (409 Conflict) for as long as it is set, so the gateway stops reading Telegram. Create a separate alert bot with @BotFather and put its token here`,
      });
    }
  },
);

export const configSchema = z
  .strictObject({
    /** Merged under every box by loadConfig; kept here so the key is known to the schema. */
    boxDefaults: z.optional(z.record(z.string(), z.unknown())),
    boxes: z.array(boxSchema).check(
      z.minLength(1, "configure at least one box to watch"),
      z.refine(
        (boxes) => new Set(boxes.map((b) => b.name)).size === boxes.length,
        "box names must be unique",
      ),
    ),
    alerts: alertsSchema,
    cloud: cloudSchema,
    state: z.strictObject({
      bucket: z
        .string()
        .check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "not a valid OBS bucket name")),
      prefix: z._default(z.string().check(z.regex(/^[a-zA-Z0-9_-]+$/)), "clawwatch"),
    }),
    probes: z._default(probesSchema, probesSchema.parse({})),
    policy: z._default(policySchema, policySchema.parse({})),
    runtime: z.prefault(
      z.strictObject({
        /**
         * How many boxes are checked at once in one invocation. A cycle mostly waits on the network,
         * so a fleet of 100 runs in a few rounds instead of 13 (bench: fleet).
         */
        concurrency: z._default(z.number().check(z.int(), z.gte(1), z.lte(64)), 32),
        /**
         * Stop starting work when less than this is left of the function's time: one box's worst
         * cycle (the MaaS probe's 10 s timeout twice, then OBS) must still end with its state saved.
         */
        safetyMargin: z._default(duration, 25_000),
        /**
         * A timer cycle that finds the state saved less than this ago backs off: it is an
         * invocation that queued behind a slow one (max instances 1), not a new minute.
         */
        minInterval: z._default(duration, 20_000),
      }),
      {},
    ),
  })
  .check(alertBotIsNoGatewayBot);

export type Config = z.output<typeof configSchema>;
export type BoxConfig = z.output<typeof boxSchema>;
export type AlertsConfig = z.output<typeof alertsSchema>;
