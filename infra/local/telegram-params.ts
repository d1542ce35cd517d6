import type { IncomingMessage } from "node:http";

/** A Bot API failure: becomes `{"ok":false,"error_code":code,"description":...}`. */
export class BotApiError extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
    readonly parameters?: Readonly<Record<string, unknown>>,
  ) {
    super(description);
    this.name = "BotApiError";
  }
}

export const badRequest = (reason: string): BotApiError =>
  new BotApiError(400, `Bad Request: ${reason}`);

export type Params = Record<string, unknown>;

/**
 * Merges the query string with a JSON or application/x-www-form-urlencoded body, as the Bot
 * API accepts all three. Form and query values are strings; the readers below coerce them.
 */
export function readParams(req: IncomingMessage, body: Buffer): Params {
  const url = new URL(req.url ?? "/", "http://local");
  const params: Params = Object.fromEntries(decodeForm(url.search.slice(1)));
  if (body.length === 0) return checkUtf8(params);
  const type = (req.headers["content-type"] ?? "").toLowerCase();
  if (type.includes("multipart/form-data")) {
    throw badRequest("multipart/form-data is not supported by the local Bot API; send JSON");
  }
  const text = utf8(body);
  if (type.includes("application/x-www-form-urlencoded")) {
    return checkUtf8({ ...params, ...Object.fromEntries(decodeForm(text)) });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badRequest("can't parse JSON object in the request body");
  }
  if (!isRecord(parsed)) throw badRequest("the request body must be a JSON object");
  return checkUtf8({ ...params, ...parsed });
}

/**
 * Telegram takes only well-formed UTF-8: TDLib refuses any string that is not (td/telegram/Td.cpp,
 * CLEAN_INPUT_STRING → 400 "Strings must be encoded in UTF-8"; the Bot API answers
 * "Bad Request: strings must be encoded in UTF-8"). A lone UTF-16 surrogate in JSON (`"\ud83d"`,
 * what JSON.stringify writes for a cut emoji) decodes to bytes that are not UTF-8, so it fails the
 * same way as raw invalid bytes do.
 */
const NOT_UTF8 = "strings must be encoded in UTF-8";
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function utf8(body: Buffer): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw badRequest(NOT_UTF8);
  }
}

function decodeForm(text: string): [string, string][] {
  if (text === "") return [];
  return text.split("&").map((pair) => {
    const at = pair.indexOf("=");
    const [name, value] = at < 0 ? [pair, ""] : [pair.slice(0, at), pair.slice(at + 1)];
    try {
      return [
        decodeURIComponent(name.replace(/\+/g, " ")),
        decodeURIComponent(value.replace(/\+/g, " ")),
      ];
    } catch {
      // decodeURIComponent refuses percent-escapes that are not UTF-8, as TDLib does.
      throw badRequest(NOT_UTF8);
    }
  });
}

function checkUtf8(params: Params): Params {
  if (hasLoneSurrogate(params)) throw badRequest(NOT_UTF8);
  return params;
}

function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === "string") return LONE_SURROGATE.test(value);
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  if (isRecord(value)) {
    return Object.entries(value).some(
      ([key, item]) => LONE_SURROGATE.test(key) || hasLoneSurrogate(item),
    );
  }
  return false;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Objects and arrays arrive as JSON text in query strings and forms. */
export function jsonParam(params: Params, name: string): unknown {
  const value = params[name];
  if (typeof value !== "string") return value;
  const trimmed = value.trim();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return value;
  try {
    return JSON.parse(trimmed);
  } catch {
    throw badRequest(`can't parse ${name} JSON object`);
  }
}

export function optionalInt(params: Params, name: string): number | undefined {
  const value = params[name];
  if (value === undefined || value === null || value === "") return undefined;
  const number = typeof value === "number" ? value : Number(String(value).trim());
  if (!Number.isInteger(number)) throw badRequest(`invalid ${name} specified`);
  return number;
}

export function requiredInt(params: Params, name: string, missing: string): number {
  const value = optionalInt(params, name);
  if (value === undefined) throw badRequest(missing);
  return value;
}

export function optionalString(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw badRequest(`field "${name}" must be of type String`);
}

export function optionalBool(params: Params, name: string): boolean {
  const value = params[name];
  return value === true || value === "true" || value === "1" || value === 1;
}

/** Only numeric chat ids are known here; `@channel` names are chats this fake has never seen. */
export function chatIdParam(params: Params): number {
  const value = params.chat_id;
  if (value === undefined || value === null || value === "") throw badRequest("chat_id is empty");
  const number = typeof value === "number" ? value : Number(String(value).trim());
  if (!Number.isInteger(number) || number === 0) throw badRequest("chat not found");
  return number;
}

export function stringList(value: unknown, name: string): string[] | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw badRequest(`can't parse ${name}: expected an Array of String`);
  }
  return value;
}
