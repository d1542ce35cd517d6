import { randomUUID } from "node:crypto";
import { secretsOf } from "../../shared/config";
import {
  createTelegramNotifier,
  createWebhookNotifier,
  type OutgoingMessage,
  TelegramSendError,
} from "../../shared/notify";
import { createJsonLogger } from "../../shared/runtime/logger";
import { createRedactor } from "../../shared/runtime/redact";
import type { CommandContext } from "./context";
import { alertChatCheck } from "./preflight";
import { InfraError } from "./servers";
import { type StepResult, stepsTable } from "./table";

/**
 * Sends one test message through the notifier the watchdog uses (same rendering, same chat,
 * same quiet rules), and to the secondary webhook when one is configured, so an operator knows
 * alerts arrive before the first incident.
 */
export async function testAlertCommand(ctx: CommandContext): Promise<StepResult[]> {
  const config = ctx.deployment.resolve();
  const redact = createRedactor(secretsOf(config));
  const log = createJsonLogger({ redact, level: "warn", write: (line) => ctx.io.err(line) });
  const message: OutgoingMessage = {
    box: config.boxes[0]?.name ?? "clawwatch",
    notification: {
      id: `test-alert-${randomUUID()}`,
      type: "update",
      component: "watchdog",
      severity: "info",
      title: "clawwatch test alert",
      lines: [
        "Sent by `npm run infra -- test-alert`: alerts reach this chat.",
        `Boxes watched: ${config.boxes.map((b) => b.name).join(", ")}`,
      ],
    },
  };
  const rows: StepResult[] = [];
  const telegram = createTelegramNotifier({ alerts: config.alerts, log, redact });
  try {
    const sent = await telegram.send(message);
    rows.push({
      step: "Telegram",
      resource: String(config.alerts.chatId),
      result: "sent",
      detail: `message ${sent.messageId}`,
    });
  } catch (error) {
    if (!(error instanceof TelegramSendError)) throw error;
    // The chat check says why in the words of its fix (chat not found, kicked, moved, token).
    const [check] = await alertChatCheck(config.alerts);
    rows.push({
      step: "Telegram",
      resource: String(config.alerts.chatId),
      result: "FAILED",
      detail: check?.result === "FAILED" ? (check.detail ?? error.message) : error.message,
    });
  }
  const url = config.alerts.secondaryWebhookUrl;
  if (url) {
    try {
      await createWebhookNotifier({ url, redact }).send(message);
      rows.push({ step: "secondary webhook", resource: url, result: "sent", detail: "HTTP 2xx" });
    } catch (error) {
      rows.push({
        step: "secondary webhook",
        resource: url,
        result: "FAILED",
        detail: redact(error instanceof Error ? error.message : String(error)),
      });
    }
  }
  ctx.io.out(stepsTable(rows));
  const failed = rows.filter((r) => r.result === "FAILED");
  if (failed.length > 0) {
    throw new InfraError(
      `the test alert did not arrive: ${failed.map((r) => `${r.step}: ${r.detail}`).join("; ")}`,
    );
  }
  return rows;
}
