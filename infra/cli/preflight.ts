import type { AlertsConfig, Config } from "../../shared/config";
import { probeMaas } from "../../shared/probes/maas";
import { BotApiError, BotTransportError, createBotApi } from "../../shared/telegram";
import type { StepResult } from "./table";

/**
 * What deploy checks before it creates or changes anything: every secret is set (the config
 * parse did that), the MaaS key answers /models, both kinds of bot token answer getMe, the alert
 * bot is a member of the alert chat that may write, and every gateway URL is a bare origin. Each
 * failure names the one fix.
 */
export interface Preflight {
  rows: StepResult[];
  /** One line per failed check: what is wrong and what to do. */
  problems: string[];
}

/** Where a config value came from: `${NAME}` → "NAME", so the fix names what to export. */
export type SecretName = (value: string) => string | undefined;

export async function preflight(config: Config, secretName: SecretName): Promise<Preflight> {
  const checks = await Promise.all([
    ...maasChecks(config, secretName),
    ...botChecks(config, secretName),
    alertChatCheck(config.alerts),
  ]);
  const rows = [...checks.flat(), ...gatewayUrlChecks(config)];
  const problems = rows.flatMap((r) => (r.result === "FAILED" && r.detail ? [r.detail] : []));
  return { rows, problems };
}

const TIMEOUT_MS = 15_000;

function maasChecks(config: Config, secretName: SecretName): Promise<StepResult[]>[] {
  const seen = new Map<string, Config["boxes"][number]>();
  for (const box of config.boxes) {
    const key = JSON.stringify([box.maas.baseUrl, box.maas.apiKey, box.maas.model]);
    if (!seen.has(key)) seen.set(key, box);
  }
  return [...seen.values()].map(async (box) => {
    const result = await probeMaas({
      baseUrl: box.maas.baseUrl,
      apiKey: box.maas.apiKey,
      model: box.maas.model,
      timeoutMs: TIMEOUT_MS,
      retryDelayMs: 500,
      completion: false,
    });
    const name = secretName(box.maas.apiKey);
    // Rate-limited still proves the key: MaaS counted the call against it.
    const ok = result.status === "ok" || result.status === "rate-limited";
    const fix =
      result.status === "auth"
        ? `the MaaS key${name ? ` in ${name}` : ""} is refused: export the API key from the MaaS console (API Keys), then deploy again`
        : `box ${box.name}: MaaS ${box.maas.baseUrl} answered: ${result.detail}; check boxDefaults.maas / boxes.*.maas (baseUrl ends in /v1, model is offered there)`;
    return [
      {
        step: "check MaaS",
        resource: `${box.maas.baseUrl} (${box.maas.model})`,
        result: ok ? "ok" : "FAILED",
        detail: ok ? result.detail : fix,
      },
    ];
  });
}

function botChecks(config: Config, secretName: SecretName): Promise<StepResult[]>[] {
  const bots = new Map<string, string>([[config.alerts.botToken, "the alert bot"]]);
  for (const box of config.boxes) {
    if (!bots.has(box.telegram.botToken)) bots.set(box.telegram.botToken, `box ${box.name}'s bot`);
  }
  return [...bots].map(async ([token, who]) => {
    const api = createBotApi({ token, apiRoot: config.alerts.apiRoot, timeoutMs: TIMEOUT_MS });
    const name = secretName(token);
    try {
      const me = await api.getMe();
      return [{ step: "check bot token", resource: who, result: "ok", detail: `@${me.username}` }];
    } catch (error) {
      return [
        {
          step: "check bot token",
          resource: who,
          result: "FAILED",
          detail:
            error instanceof BotApiError && (error.error_code === 401 || error.error_code === 404)
              ? `Telegram refuses ${who}'s token (${error.error_code} ${error.description})${name ? `: export ${name}` : ": set it"} to the token @BotFather gave (/mybots → API Token)`
              : unreachable(error, config.alerts.apiRoot),
        },
      ];
    }
  });
}

/** getChat, then the bot's own membership there (getChatMember): kicked, left or muted fail. */
export async function alertChatCheck(
  alerts: Pick<AlertsConfig, "botToken" | "apiRoot" | "chatId">,
): Promise<StepResult[]> {
  const api = createBotApi({
    token: alerts.botToken,
    apiRoot: alerts.apiRoot,
    timeoutMs: TIMEOUT_MS,
  });
  const row = (result: string, detail: string): StepResult[] => [
    { step: "check alert chat", resource: String(alerts.chatId), result, detail },
  ];
  try {
    const me = await api.getMe();
    const chat = await api.call<{ type?: string; title?: string }>("getChat", {
      chat_id: alerts.chatId,
    });
    const member = await api.call<{ status?: string; can_send_messages?: boolean }>(
      "getChatMember",
      { chat_id: alerts.chatId, user_id: me.id },
    );
    const status = member.status ?? "unknown";
    if (status === "kicked" || status === "left") {
      return row(
        "FAILED",
        `alerts.chatId ${alerts.chatId}: the alert bot is ${status === "kicked" ? "banned from" : "not in"} that chat: add @${me.username} to it again (group → Add members)`,
      );
    }
    if (status === "restricted" && member.can_send_messages === false) {
      return row(
        "FAILED",
        `alerts.chatId ${alerts.chatId}: the alert bot may not send messages there: allow it (group → Permissions → Exceptions)`,
      );
    }
    return row(
      "ok",
      `${chat.type ?? "chat"}${chat.title ? ` "${chat.title}"` : ""}, bot ${status}`,
    );
  } catch (error) {
    if (!(error instanceof BotApiError)) return row("FAILED", unreachable(error, alerts.apiRoot));
    const to = error.parameters.migrate_to_chat_id;
    if (to !== undefined) {
      return row(
        "FAILED",
        `alerts.chatId ${alerts.chatId}: the group became supergroup ${to}: set alerts.chatId to ${to}`,
      );
    }
    if (error.error_code === 401 || error.error_code === 404) {
      // The token check says it once; a second line for the same fix would only add noise.
      return row("skipped", "needs a token Telegram accepts");
    }
    if (/chat not found/i.test(error.description)) {
      return row(
        "FAILED",
        `alerts.chatId ${alerts.chatId}: Telegram says "chat not found": add the alert bot to the alert group first, then use the group's id (a supergroup's starts with -100; DEPLOY.md, "Finding the chat and user ids")`,
      );
    }
    return row(
      "FAILED",
      `alerts.chatId ${alerts.chatId}: ${error.error_code} ${error.description}`,
    );
  }
}

/** A gateway URL is an origin: the probes add /healthz, /readyz and the WebSocket path. */
function gatewayUrlChecks(config: Config): StepResult[] {
  return config.boxes.map((box) => {
    const url = new URL(box.gateway.url);
    const problem =
      url.pathname !== "/" || url.search || url.hash
        ? `box ${box.name}: gateway.url ${url.origin}${url.pathname} has a path: use ${url.origin} (the probes add /healthz and /readyz)`
        : url.username || url.password
          ? `box ${box.name}: gateway.url carries credentials: put the token in gateway.token`
          : undefined;
    return {
      step: "check gateway URL",
      resource: box.name,
      result: problem ? "FAILED" : "ok",
      detail: problem ?? url.origin,
    };
  });
}

function unreachable(error: unknown, apiRoot: string): string {
  if (error instanceof BotTransportError) {
    return `the Bot API at ${apiRoot} could not be reached: check alerts.apiRoot and your network`;
  }
  return `Telegram: ${error instanceof Error ? error.message : String(error)}`;
}
