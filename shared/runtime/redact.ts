/** Telegram puts the bot token in the URL path; these patterns catch it wherever it turns up. */
const PATTERNS: readonly [RegExp, string][] = [
  [/bot\d{3,}:[A-Za-z0-9_-]{20,}/g, "bot<redacted>"],
  [/\b\d{6,}:[A-Za-z0-9_-]{30,}\b/g, "<redacted-bot-token>"],
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, "$1<redacted>"],
  [/(Signature=)[0-9a-f]{16,}/gi, "$1<redacted>"],
  [/(x-security-token["']?\s*[:=]\s*["']?)[^"',\s}]+/gi, "$1<redacted>"],
];

export type Redactor = (text: string) => string;

/** Shorter values are not secrets worth a false match everywhere (and would wreck the text). */
const MIN_SECRET = 4;
/** A base64 fragment shorter than this matches too much by chance. */
const MIN_ENCODED = 8;

/**
 * Builds a redactor for the given secret values plus the generic token patterns. Each secret is
 * also looked for in the forms outputs turn it into: JSON-escaped (once and twice: a detail
 * inside a stored event inside a log line), HTML-escaped (Telegram messages), URL-encoded and
 * base64 (any alignment). So redacting after escaping is safe too, and a token with `"`, `\`,
 * `&` or `<` in it cannot slip through an escape.
 */
export function createRedactor(secrets: readonly string[]): Redactor {
  const values = [...new Set(secrets.filter((s) => s.length >= MIN_SECRET).flatMap(formsOf))].sort(
    (a, b) => b.length - a.length,
  );
  return (text) => {
    let out = text;
    for (const value of values) {
      if (out.includes(value)) out = out.split(value).join("<redacted>");
    }
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    return out;
  };
}

/** Every string in a JSON-like value (keys too) passed through `redact`; a new value. */
export function redactDeep<T>(redact: Redactor, value: T): T {
  return walk(redact, value, 0) as T;
}

function walk(redact: Redactor, value: unknown, depth: number): unknown {
  if (typeof value === "string") return redact(value);
  if (typeof value !== "object" || value === null || depth > 64) return value;
  if (Array.isArray(value)) return value.map((item) => walk(redact, item, depth + 1));
  if (value instanceof Error) {
    const copy = new Error(redact(value.message));
    copy.name = value.name;
    copy.stack = `${copy.name}: ${copy.message}`;
    return copy;
  }
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [redact(key), walk(redact, item, depth + 1)]),
  );
}

const json = (text: string): string => JSON.stringify(text).slice(1, -1);
const html = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const htmlWithQuotes = (text: string): string =>
  html(text).replace(/"/g, "&quot;").replace(/'/g, "&#39;");
const form = (text: string): string => new URLSearchParams({ v: text }).toString().slice(2);
const lowerHex = (text: string): string => text.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());

function formsOf(secret: string): string[] {
  const escaped = [
    secret,
    json(secret),
    json(json(secret)),
    html(secret),
    htmlWithQuotes(secret),
    json(html(secret)),
    html(json(secret)),
  ];
  const encoded = [encodeURIComponent(secret), encodeURI(secret), form(secret)];
  return [
    ...escaped,
    ...encoded,
    ...encoded.map(lowerHex),
    ...base64Forms(secret).filter((f) => f.length >= MIN_ENCODED),
  ];
}

/**
 * The base64 characters that depend on the secret alone, for each of the three byte offsets it
 * can start at inside a longer encoded blob (a Basic header, an encoded body), in the standard
 * and the URL-safe alphabet.
 */
function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret, "utf8");
  const forms: string[] = [];
  for (const offset of [0, 1, 2]) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const encoded = padded.toString("base64");
    // Characters carrying bits of the leading padding bytes, and of whatever follows the secret.
    const skip = Math.ceil((offset * 8) / 6);
    const keep = Math.floor((padded.length * 8) / 6);
    const fragment = encoded.slice(skip, keep);
    forms.push(fragment, fragment.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  if (bytes.length % 3 !== 0) forms.push(bytes.toString("base64"));
  return forms;
}
