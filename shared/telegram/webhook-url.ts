/**
 * Telegram's rules for a webhook URL, checked before setWebhook so the operator gets a clear
 * error instead of Telegram's terse one. Telegram delivers only over HTTPS, to ports 443, 80, 88
 * or 8443 (tdlib/telegram-bot-api WebhookActor.cpp: "An HTTPS URL must be provided for webhook",
 * "Webhook can be set up only on ports 80, 88, 443 or 8443").
 */
export const WEBHOOK_PORTS: readonly number[] = [443, 80, 88, 8443];

/** Why Telegram would refuse `url` as a webhook, or undefined when it is acceptable. */
export function webhookUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "it is not a valid URL";
  }
  if (parsed.protocol !== "https:") {
    return `Telegram delivers webhooks over HTTPS only, and this URL is ${parsed.protocol.replace(":", "").toUpperCase()}: serve the receiver over HTTPS (the APIG trigger's protocol "HTTPS")`;
  }
  const port = parsed.port === "" ? 443 : Number(parsed.port);
  if (!WEBHOOK_PORTS.includes(port)) {
    return `Telegram delivers webhooks only to ports 443, 80, 88 or 8443, not ${port}`;
  }
  return undefined;
}
