import { parseDuration } from "../config/policy-schema";
import { PAUSE_LIMITS } from "../policy/state";
import { formatDuration } from "../policy/text";
import { clip } from "../text/clip";

/** What an operator asked for, with the box resolved and durations in milliseconds. */
export type OperatorRequest =
  | { kind: "help" }
  | { kind: "status"; boxes: string[] }
  | { kind: "history"; boxes: string[] }
  | { kind: "ack"; box: string; durationMs: number }
  | { kind: "mute"; box: string; durationMs: number; reason?: string }
  | { kind: "unmute"; box: string }
  | { kind: "reboot"; box: string }
  | { kind: "rebootstrap"; box: string };

export type ParsedCommand =
  | { ok: true; request: OperatorRequest }
  /** A known command used wrongly: `problem` says how to use it. */
  | { ok: false; problem: string };

export interface CommandText {
  /** Lower case, without the slash. */
  name: string;
  /** The bot named in `/status@name`, when there is one. */
  mention?: string;
  args: string[];
}

export interface CommandContext {
  /** Configured box names, in config order. */
  boxes: readonly string[];
  ackDefaultMs: number;
}

export { PAUSE_LIMITS };

const REASON_MAX = 200;

const COMMAND = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?=\s|$)\s*([\s\S]*)$/;

/** Splits "/mute@bot prod 2h deploy" into name, mention and words; undefined if not a command. */
export function splitCommand(text: string): CommandText | undefined {
  const match = COMMAND.exec(text.trim());
  if (!match) return undefined;
  const [, name = "", mention, rest = ""] = match;
  const args = rest.split(/\s+/).filter((word) => word.length > 0);
  return mention === undefined
    ? { name: name.toLowerCase(), args }
    : { name: name.toLowerCase(), mention, args };
}

export const KNOWN_COMMANDS = [
  "status",
  "ack",
  "mute",
  "unmute",
  "reboot",
  "rebootstrap",
  "history",
  "help",
  "start",
] as const;

export function isKnownCommand(name: string): boolean {
  return (KNOWN_COMMANDS as readonly string[]).includes(name);
}

/** Interprets a known command's words; an unknown name gives undefined. */
export function parseCommand(
  command: CommandText,
  context: CommandContext,
): ParsedCommand | undefined {
  const { name, args } = command;
  switch (name) {
    case "help":
    case "start":
      return { ok: true, request: { kind: "help" } };
    case "status":
    case "history":
      return parseReport(name, args, context);
    case "ack":
      return parseAck(args, context);
    case "mute":
      return parseMute(args, context);
    case "unmute":
    case "reboot":
    case "rebootstrap":
      return parseBoxOnly(name, args, context);
    default:
      return undefined;
  }
}

function parseReport(
  kind: "status" | "history",
  args: string[],
  context: CommandContext,
): ParsedCommand {
  const [first, ...rest] = args;
  if (first === undefined) return { ok: true, request: { kind, boxes: [...context.boxes] } };
  const box = findBox(first, context);
  if (!box) return { ok: false, problem: unknownBox(first, context) };
  if (rest.length > 0) return { ok: false, problem: `Use /${kind} [box].` };
  return { ok: true, request: { kind, boxes: [box] } };
}

function parseAck(args: string[], context: CommandContext): ParsedCommand {
  const usage = `Use /ack ${boxPart(context)}[duration], e.g. /ack ${example(context)}2h (default ${formatDuration(context.ackDefaultMs)}).`;
  const target = takeBox(args, context, usage);
  if ("problem" in target) return { ok: false, problem: target.problem };
  const [text, ...extra] = target.rest;
  if (extra.length > 0) return { ok: false, problem: usage };
  if (text === undefined) {
    return {
      ok: true,
      request: { kind: "ack", box: target.box, durationMs: context.ackDefaultMs },
    };
  }
  const duration = readDuration(text);
  if (typeof duration === "string") return { ok: false, problem: `${duration} ${usage}` };
  return { ok: true, request: { kind: "ack", box: target.box, durationMs: duration } };
}

function parseMute(args: string[], context: CommandContext): ParsedCommand {
  const usage = `Use /mute ${boxPart(context)}<duration> [reason], e.g. /mute ${example(context)}4h deploying.`;
  const target = takeBox(args, context, usage);
  if ("problem" in target) return { ok: false, problem: target.problem };
  const [text, ...words] = target.rest;
  if (text === undefined) return { ok: false, problem: `Say for how long. ${usage}` };
  const duration = readDuration(text);
  if (typeof duration === "string") return { ok: false, problem: `${duration} ${usage}` };
  const reason = clip(words.join(" "), REASON_MAX);
  const request: OperatorRequest = { kind: "mute", box: target.box, durationMs: duration };
  if (reason) request.reason = reason;
  return { ok: true, request };
}

function parseBoxOnly(
  kind: "unmute" | "reboot" | "rebootstrap",
  args: string[],
  context: CommandContext,
): ParsedCommand {
  const usage = `Use /${kind}${context.boxes.length > 1 ? " <box>" : ""}.`;
  const target = takeBox(args, context, usage);
  if ("problem" in target) return { ok: false, problem: target.problem };
  if (target.rest.length > 0) return { ok: false, problem: usage };
  return { ok: true, request: { kind, box: target.box } };
}

/**
 * With one box the name is optional; with several it must come first. A first word that is
 * neither a box nor starts like a duration is reported as an unknown box: the likelier typo.
 */
function takeBox(
  args: string[],
  context: CommandContext,
  usage: string,
): { box: string; rest: string[] } | { problem: string } {
  const [first, ...rest] = args;
  const named = first === undefined ? undefined : findBox(first, context);
  if (named) return { box: named, rest };
  if (first !== undefined && !looksLikeDuration(first)) {
    return { problem: unknownBox(first, context) };
  }
  const only = context.boxes.length === 1 ? context.boxes[0] : undefined;
  if (only !== undefined) return { box: only, rest: args };
  return { problem: `Which box? ${usage} Boxes: ${context.boxes.join(", ")}.` };
}

function findBox(word: string, context: CommandContext): string | undefined {
  const wanted = word.toLowerCase();
  return context.boxes.find((box) => box === wanted);
}

function unknownBox(word: string, context: CommandContext): string {
  return `Unknown box "${clip(word, 40)}". Boxes: ${context.boxes.join(", ")}.`;
}

function looksLikeDuration(word: string): boolean {
  return /^\d/.test(word);
}

/** A duration in ms, or what is wrong with it. Bare numbers are refused: "30" is ambiguous. */
export function readDuration(text: string): number | string {
  if (/^\d+$/.test(text)) return `"${text}" needs a unit: 30m, 2h, 1d.`;
  const ms = parseDuration(text);
  if (ms === undefined) return `"${clip(text, 20)}" is not a duration (like 30m, 2h, 1h30m).`;
  if (ms < PAUSE_LIMITS.minMs || ms > PAUSE_LIMITS.maxMs) {
    return `${formatDuration(ms)} is out of range: use 1 min to 7 d.`;
  }
  return ms;
}

function boxPart(context: CommandContext): string {
  return context.boxes.length > 1 ? "<box> " : "";
}

function example(context: CommandContext): string {
  return context.boxes.length > 1 ? `${context.boxes[0]} ` : "";
}
