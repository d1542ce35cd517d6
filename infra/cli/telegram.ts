import type { AlertsConfig } from "../../shared/config";
import {
  type BotApi,
  BotApiError,
  BotTransportError,
  createBotApi,
  webhookUrlProblem,
} from "../../shared/telegram";
import type { Change } from "../deploy/functions";
import { InfraError } from "./servers";

/** The updates the receiver handles; everything else Telegram would send is noise. */
export const ALLOWED_UPDATES = ["message", "callback_query"] as const;

export interface WebhookState {
  url: string;
  pendingUpdateCount: number;
  allowedUpdates: string[];
  lastErrorMessage?: string;
}

type Alerts = Pick<AlertsConfig, "botToken" | "apiRoot" | "webhookSecret">;

function api(alerts: Alerts): BotApi {
  return createBotApi({ token: alerts.botToken, apiRoot: alerts.apiRoot, timeoutMs: 30_000 });
}

export async function webhookState(alerts: Alerts): Promise<WebhookState> {
  const info = await telegram("getWebhookInfo", () => api(alerts).getWebhookInfo());
  return {
    url: info.url ?? "",
    pendingUpdateCount: info.pending_update_count ?? 0,
    allowedUpdates: info.allowed_updates ?? [],
    ...(info.last_error_message ? { lastErrorMessage: info.last_error_message } : {}),
  };
}

/** True when the webhook already points at `url` for exactly the updates the receiver takes. */
export function webhookMatches(state: WebhookState, url: string): boolean {
  const wanted = [...ALLOWED_UPDATES].sort().join(",");
  return state.url === url && [...state.allowedUpdates].sort().join(",") === wanted;
}

/**
 * Points the alert bot's webhook at the receiver. Telegram never reveals the secret token, so a
 * matching URL counts as unchanged only when the caller knows the secret did not change.
 */
export async function registerWebhook(
  alerts: Alerts,
  url: string,
  options: { secretUnchanged: boolean },
): Promise<Change> {
  if (!alerts.webhookSecret) {
    throw new InfraError(
      "alerts.webhookSecret is not set: the receiver must be able to tell Telegram's calls from anyone else's (16-256 of A-Z a-z 0-9 _ -)",
    );
  }
  const problem = webhookUrlProblem(url);
  if (problem) {
    throw new InfraError(
      `the receiver's URL ${url} cannot be the alert bot's webhook: ${problem}. Check functions.apig in the deployment file`,
    );
  }
  const before = await webhookState(alerts);
  if (options.secretUnchanged && webhookMatches(before, url)) return "unchanged";
  await telegram("setWebhook", () =>
    api(alerts).setWebhook({
      url,
      secret_token: alerts.webhookSecret,
      allowed_updates: [...ALLOWED_UPDATES],
      max_connections: 1,
    }),
  );
  return before.url ? "updated" : "created";
}

/** Removes the webhook; false when there was none. */
export async function removeWebhook(alerts: Alerts): Promise<boolean> {
  const before = await webhookState(alerts);
  if (!before.url) return false;
  await telegram("deleteWebhook", () => api(alerts).deleteWebhook());
  return true;
}

/** The Bot API client's errors never carry the token; keep only what they say. */
async function telegram<T>(method: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof BotApiError) {
      const advice =
        error.error_code === 401 || error.error_code === 404 ? ": check the alert bot's token" : "";
      throw new InfraError(`Telegram ${method}: ${error.error_code} ${error.description}${advice}`);
    }
    if (error instanceof BotTransportError) {
      throw new InfraError(
        `Telegram ${method}: the Bot API could not be reached; check alerts.apiRoot and your network`,
      );
    }
    throw error;
  }
}

/** "ok", or what Telegram says stops alerts from reaching alerts.chatId. */
export async function alertChatState(
  alerts: Pick<AlertsConfig, "botToken" | "apiRoot" | "chatId">,
): Promise<{ state: string; detail: string }> {
  const client = createBotApi({
    token: alerts.botToken,
    apiRoot: alerts.apiRoot,
    timeoutMs: 30_000,
  });
  try {
    await client.call("sendChatAction", { chat_id: alerts.chatId, action: "typing" });
    return { state: "ok", detail: "the alert bot can write there" };
  } catch (error) {
    if (!(error instanceof BotApiError)) {
      return { state: "unknown", detail: "the Bot API could not be reached; check alerts.apiRoot" };
    }
    const to = error.parameters.migrate_to_chat_id;
    if (to !== undefined) {
      return {
        state: "moved",
        detail: `the group became supergroup ${to}: set alerts.chatId to ${to}`,
      };
    }
    return { state: "FAILING", detail: `${error.error_code} ${error.description}` };
  }
}
