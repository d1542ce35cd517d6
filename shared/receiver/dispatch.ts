import type { BoxConfig } from "../config";
import { decodeCallback } from "../notify/callback-data";
import { renderReply } from "../notify/render";
import { clip } from "../text/clip";
import { ack, history, mute, status, unmute } from "./actions";
import { type CommandText, type OperatorRequest, parseCommand, readDuration } from "./commands";
import { askConfirmation, cancelAction, confirmAction } from "./confirm";
import { renderHelp } from "./summary";
import type { Turn } from "./turn";

/** A command from an allowed operator, first delivery. */
export async function onCommand(turn: Turn, command: CommandText): Promise<void> {
  const { config } = turn;
  const parsed = parseCommand(command, {
    boxes: config.boxes.map((b) => b.name),
    ackDefaultMs: config.policy.ackDefault,
  });
  if (!parsed) {
    turn.log.info("unknown command", { command: clip(command.name, 32, "") });
    await turn.say(
      renderReply({
        title: `Unknown command /${command.name}`,
        lines: ["/help lists the commands."],
      }),
    );
    return;
  }
  if (!parsed.ok) {
    await turn.say(renderReply({ title: "Not done", lines: [parsed.problem] }));
    return;
  }
  turn.log.info("operator command", { command: parsed.request.kind, by: turn.by.userId });
  await runRequest(turn, parsed.request);
}

async function runRequest(turn: Turn, request: OperatorRequest): Promise<void> {
  const { config } = turn;
  const box = (name: string) => config.boxes.find((b) => b.name === name) as BoxConfig;
  switch (request.kind) {
    case "help":
      await turn.say(
        renderHelp(
          config.boxes.map((b) => b.name),
          config.policy,
        ),
      );
      return;
    case "status":
      await status(turn, request.boxes.map(box));
      return;
    case "history":
      await history(turn, request.boxes.map(box));
      return;
    case "ack":
      await ack(turn, box(request.box), request.durationMs);
      return;
    case "mute":
      await mute(turn, box(request.box), request.durationMs, request.reason);
      return;
    case "unmute":
      await unmute(turn, box(request.box));
      return;
    case "reboot":
    case "rebootstrap":
      await askConfirmation(turn, box(request.box), request.kind);
      return;
  }
}

/** A button press from an allowed operator, first delivery; every path answers the query. */
export async function onButton(turn: Turn, queryId: string, data: string): Promise<void> {
  const { config } = turn;
  const payload = decodeCallback(data);
  if (!payload) {
    turn.log.warn("button data not understood; ignored");
    await turn.answer(
      queryId,
      "This button is not understood (an old or foreign message): nothing done.",
    );
    return;
  }
  const box = config.boxes.find((b) => b.name === payload.box);
  if (!box) {
    turn.log.warn("button names an unknown box; ignored", { box: payload.box });
    await turn.answer(
      queryId,
      `Unknown box "${payload.box}": this button is not from this setup. Nothing done.`,
    );
    return;
  }
  turn.log.info("operator button", { action: payload.action, box: box.name, by: turn.by.userId });
  switch (payload.action) {
    case "ack":
    case "mute": {
      const fallback =
        payload.action === "ack" ? config.policy.ackDefault : config.policy.muteDefault;
      const duration = payload.arg === undefined ? fallback : readDuration(payload.arg);
      if (typeof duration === "string") {
        await turn.answer(queryId, "This button carries a bad duration: nothing done.");
        return;
      }
      const effect =
        payload.action === "ack"
          ? await ack(turn, box, duration, payload.component, payload.incident)
          : await mute(turn, box, duration, "from the alert's button");
      await turn.answer(queryId, effect.summary);
      return;
    }
    case "status":
      await turn.answer(queryId, `Checking ${box.name}…`);
      await status(turn, [box]);
      return;
    case "reboot":
      await turn.answer(queryId, "Confirm below.");
      await askConfirmation(turn, box, "reboot");
      return;
    case "reboot-confirm":
    case "rebootstrap-confirm": {
      const action = payload.action === "reboot-confirm" ? "reboot" : "rebootstrap";
      await confirmAction(turn, { box, action, queryId, messageId: turn.replyTo });
      return;
    }
    case "cancel":
      await cancelAction(turn, { box, queryId, messageId: turn.replyTo });
      return;
  }
}
