/**
 * Cutting text for Telegram and for stored state. Telegram counts UTF-16 units but refuses a
 * string that is not well-formed Unicode ("strings must be encoded in UTF-8"), so a cut through a
 * surrogate pair (an emoji) loses the whole message. Cutting on grapheme boundaries also keeps
 * a ZWJ sequence (👩‍💻) or a flag whole instead of leaving half of it.
 */

const ELLIPSIS = "…";
const graphemes = new Intl.Segmenter("en", { granularity: "grapheme" });

/** The longest prefix of `text` of at most `max` UTF-16 units that ends on a grapheme boundary. */
export function prefixWithin(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return "";
  let end = 0;
  for (const { index, segment } of graphemes.segment(text)) {
    if (index + segment.length > max) break;
    end = index + segment.length;
  }
  return text.slice(0, end);
}

/**
 * `text` in at most `max` UTF-16 units: unchanged when it fits, else cut on a grapheme boundary
 * with `ellipsis` (default "…") appended. Never splits a code point.
 */
export function clip(text: string, max: number, ellipsis: string = ELLIPSIS): string {
  if (text.length <= max) return text;
  if (max < ellipsis.length) return prefixWithin(ellipsis, max);
  return `${prefixWithin(text, max - ellipsis.length)}${ellipsis}`;
}

/** Replaces lone surrogates (never valid in Telegram text) with U+FFFD. */
export function wellFormed(text: string): string {
  return text.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    "\uFFFD",
  );
}
