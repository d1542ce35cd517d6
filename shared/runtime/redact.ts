/** Telegram puts the bot token in the URL path; these patterns catch it wherever it turns up. */
const PATTERNS: readonly [RegExp, string][] = [
  [/bot\d{3,}:[A-Za-z0-9_-]{20,}/g, "bot<redacted>"],
  [/\b\d{6,}:[A-Za-z0-9_-]{30,}\b/g, "<redacted-bot-token>"],
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, "$1<redacted>"],
  [/(Signature=)[0-9a-f]{16,}/gi, "$1<redacted>"],
  [/(x-security-token["']?\s*[:=]\s*["']?)[^"',\s}]+/gi, "$1<redacted>"],
];

export type Redactor = (text: string) => string;

/** Builds a redactor for the given secret values plus the generic token patterns. */
export function createRedactor(secrets: readonly string[]): Redactor {
  const values = [...new Set(secrets.filter((s) => s.length >= 4))].sort(
    (a, b) => b.length - a.length,
  );
  return (text) => {
    let out = text;
    for (const value of values) out = out.split(value).join("<redacted>");
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    return out;
  };
}
