import type { AlertsConfig } from "../config";
import { BotApiError, createBotApi, webhookUrlProblem } from "../telegram";
import { clip } from "../text/clip";
import { ReceiverError } from "./errors";

/** The update kinds the receiver handles; Telegram then sends nothing else. */
export const ALLOWED_UPDATES = ["message", "callback_query"] as const;

/**
 * Points the alert bot's webhook at the receiver (the APIG trigger's URL) with the secret.
 * One connection at a time: Telegram then delivers in order, so two presses of a confirm button
 * never race each other across function instances.
 */
export async function registerWebhook(
  alerts: Pick<AlertsConfig, "botToken" | "apiRoot" | "webhookSecret">,
  url: string,
): Promise<void> {
  if (!alerts.webhookSecret) {
    throw new ReceiverError(
      "alerts.webhookSecret is not set: add 16-256 characters of A-Z a-z 0-9 _ - before registering the webhook",
    );
  }
  const problem = webhookUrlProblem(url);
  if (problem) {
    throw new ReceiverError(`the webhook URL ${url} cannot be registered: ${problem}`);
  }
  const api = createBotApi({ token: alerts.botToken, apiRoot: alerts.apiRoot });
  try {
    await api.setWebhook({
      url,
      secret_token: alerts.webhookSecret,
      allowed_updates: [...ALLOWED_UPDATES],
      max_connections: 1,
    });
  } catch (error) {
    // The client's errors hold no token; still, only Telegram's own words are quoted.
    const said = error instanceof BotApiError ? ` (${clip(error.description, 200)})` : "";
    throw new ReceiverError(
      `setWebhook failed${said}: check alerts.botToken, alerts.apiRoot and that ${url} is a public HTTPS URL`,
      { cause: error },
    );
  }
}
