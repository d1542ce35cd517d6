/**
 * Telegram's `parse_mode: "HTML"`, following TDLib's parser (the one behind the Bot API):
 * the same tag set, the same attribute rules and the same error texts, so a message the
 * fake accepts is one Telegram accepts. Offsets in errors are UTF-8 byte offsets, as
 * Telegram reports them; entity offsets are UTF-16 code units, as the Bot API returns them.
 */

export interface MessageEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
  custom_emoji_id?: string;
}

export interface ParsedText {
  text: string;
  entities: MessageEntity[];
}

export class HtmlParseError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "HtmlParseError";
  }
}

const ENTITY_TYPES: Readonly<Record<string, string>> = {
  b: "bold",
  strong: "bold",
  i: "italic",
  em: "italic",
  u: "underline",
  ins: "underline",
  s: "strikethrough",
  strike: "strikethrough",
  del: "strikethrough",
  a: "text_link",
  code: "code",
  pre: "pre",
  "tg-spoiler": "spoiler",
  span: "spoiler",
  blockquote: "blockquote",
  "tg-emoji": "custom_emoji",
};

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  lt: "<",
  gt: ">",
  amp: "&",
  quot: '"',
};

interface OpenTag {
  name: string;
  start: number;
  attributes: Map<string, string>;
  bytePos: number;
}

/** Parses Telegram HTML into plain text plus entities; throws HtmlParseError with Telegram's reason. */
export function parseTelegramHtml(input: string): ParsedText {
  const reader = new Reader(input);
  const stack: OpenTag[] = [];
  const entities: MessageEntity[] = [];
  let text = "";
  while (!reader.done()) {
    const ch = reader.peek();
    if (ch === "&") {
      const decoded = decodeEntity(reader);
      if (decoded !== undefined) {
        text += decoded;
        continue;
      }
    }
    if (ch !== "<") {
      text += ch;
      reader.advance();
      continue;
    }
    const bytePos = reader.bytePos();
    reader.advance();
    if (reader.peek() === "/") {
      const open = stack.pop();
      closeTag(reader, bytePos, open);
      if (open !== undefined) {
        const entity = toEntity(open, text);
        if (entity !== undefined) entities.push(entity);
      }
      continue;
    }
    stack.push({ ...readStartTag(reader, bytePos), start: text.length, bytePos });
  }
  const unclosed = stack.at(-1);
  if (unclosed !== undefined) {
    throw new HtmlParseError(`Can't find end tag corresponding to start tag "${unclosed.name}"`);
  }
  checkUnicode(text);
  entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { text, entities };
}

class Reader {
  private index = 0;
  constructor(private readonly source: string) {}
  done(): boolean {
    return this.index >= this.source.length;
  }
  peek(ahead = 0): string {
    return this.source.charAt(this.index + ahead);
  }
  advance(count = 1): void {
    this.index += count;
  }
  get position(): number {
    return this.index;
  }
  slice(from: number, to = this.index): string {
    return this.source.slice(from, to);
  }
  bytePos(at = this.index): number {
    return Buffer.byteLength(this.source.slice(0, at));
  }
  skipSpaces(): void {
    while (!this.done() && isSpace(this.peek())) this.index += 1;
  }
}

const isSpace = (ch: string): boolean => /^[ \t\r\n\f\v]$/.test(ch);
const isNameChar = (ch: string): boolean => /^[A-Za-z0-9.-]$/.test(ch);

/** TDLib decodes &lt; &gt; &amp; &quot; (semicolon optional) and numeric references; anything else stays literal. */
function decodeEntity(reader: Reader): string | undefined {
  let end = 1;
  let code = 0;
  if (reader.peek(1) === "#") {
    end = 2;
    const hex = reader.peek(2) === "x";
    if (hex) end = 3;
    const digit = hex ? /^[0-9A-Fa-f]$/ : /^[0-9]$/;
    while (digit.test(reader.peek(end))) {
      code = code * (hex ? 16 : 10) + Number.parseInt(reader.peek(end), 16);
      end += 1;
      if (code >= 0x10ffff) return undefined;
    }
    if (code === 0 || end >= 10) return undefined;
  } else {
    while (/^[A-Za-z]$/.test(reader.peek(end))) end += 1;
    const name = reader.slice(reader.position + 1, reader.position + end);
    const named = NAMED_ENTITIES[name];
    if (named === undefined) return undefined;
    code = named.charCodeAt(0);
  }
  if (reader.peek(end) === ";") end += 1;
  reader.advance(end);
  return String.fromCodePoint(code);
}

function readStartTag(reader: Reader, bytePos: number): Omit<OpenTag, "start" | "bytePos"> {
  const nameStart = reader.position;
  while (!reader.done() && !isSpace(reader.peek()) && reader.peek() !== ">") reader.advance();
  if (reader.done()) throw new HtmlParseError(`Unclosed start tag at byte offset ${bytePos}`);
  const name = reader.slice(nameStart).toLowerCase();
  if (ENTITY_TYPES[name] === undefined) {
    throw new HtmlParseError(`Unsupported start tag "${name}" at byte offset ${bytePos}`);
  }
  const attributes = readAttributes(reader, name, bytePos);
  reader.advance();
  if (name === "span" && attributes.get("class") !== "tg-spoiler") {
    throw new HtmlParseError(`Tag "span" must have class "tg-spoiler" at byte offset ${bytePos}`);
  }
  return { name, attributes };
}

function readAttributes(reader: Reader, tag: string, bytePos: number): Map<string, string> {
  const attributes = new Map<string, string>();
  while (reader.peek() !== ">") {
    reader.skipSpaces();
    if (reader.done())
      throw new HtmlParseError(`Unclosed start tag "${tag}" at byte offset ${bytePos}`);
    if (reader.peek() === ">") break;
    const nameStart = reader.position;
    while (
      !reader.done() &&
      !isSpace(reader.peek()) &&
      reader.peek() !== "=" &&
      reader.peek() !== ">"
    ) {
      reader.advance();
    }
    const attribute = reader.slice(nameStart).toLowerCase();
    if (attribute === "") {
      throw new HtmlParseError(
        `Empty attribute name in the tag "${tag}" at byte offset ${bytePos}`,
      );
    }
    reader.skipSpaces();
    if (reader.peek() !== "=") {
      if (reader.done()) {
        throw new HtmlParseError(`Unclosed start tag "${tag}" at byte offset ${bytePos}`);
      }
      attributes.set(attribute, "");
      continue;
    }
    reader.advance();
    reader.skipSpaces();
    if (reader.done())
      throw new HtmlParseError(`Unclosed start tag "${tag}" at byte offset ${bytePos}`);
    attributes.set(attribute, readAttributeValue(reader, bytePos));
  }
  return attributes;
}

function readAttributeValue(reader: Reader, bytePos: number): string {
  const quote = reader.peek();
  if (quote !== '"' && quote !== "'") {
    const tokenStart = reader.position;
    while (isNameChar(reader.peek())) reader.advance();
    if (!isSpace(reader.peek()) && reader.peek() !== ">") {
      throw new HtmlParseError(
        `Unexpected end of name token at byte offset ${reader.bytePos(tokenStart)}`,
      );
    }
    return reader.slice(tokenStart).toLowerCase();
  }
  reader.advance();
  let value = "";
  while (!reader.done() && reader.peek() !== quote) {
    const decoded = reader.peek() === "&" ? decodeEntity(reader) : undefined;
    if (decoded !== undefined) {
      value += decoded;
      continue;
    }
    value += reader.peek();
    reader.advance();
  }
  if (reader.done()) throw new HtmlParseError(`Unclosed start tag at byte offset ${bytePos}`);
  reader.advance();
  if (reader.done()) throw new HtmlParseError(`Unclosed start tag at byte offset ${bytePos}`);
  return value;
}

function closeTag(reader: Reader, bytePos: number, open: OpenTag | undefined): void {
  if (open === undefined) throw new HtmlParseError(`Unexpected end tag at byte offset ${bytePos}`);
  reader.advance();
  const nameStart = reader.position;
  while (!reader.done() && !isSpace(reader.peek()) && reader.peek() !== ">") reader.advance();
  const name = reader.slice(nameStart).toLowerCase();
  reader.skipSpaces();
  if (reader.peek() !== ">") throw new HtmlParseError(`Unclosed end tag at byte offset ${bytePos}`);
  reader.advance();
  if (name !== "" && name !== open.name) {
    throw new HtmlParseError(
      `Unmatched end tag at byte offset ${bytePos}, expected "</${open.name}>", found "</${name}>"`,
    );
  }
}

function toEntity(open: OpenTag, text: string): MessageEntity | undefined {
  const length = text.length - open.start;
  if (length <= 0) return undefined;
  const base = { offset: open.start, length };
  if (open.name === "a") {
    const href = open.attributes.get("href") ?? text.slice(open.start);
    return isUrlLike(href) ? { type: "text_link", ...base, url: href } : undefined;
  }
  if (open.name === "blockquote" && open.attributes.has("expandable")) {
    return { type: "expandable_blockquote", ...base };
  }
  if (open.name === "code") {
    const language = open.attributes.get("class")?.match(/^language-(.+)$/)?.[1];
    return language === undefined ? { type: "code", ...base } : { type: "pre", ...base, language };
  }
  if (open.name === "tg-emoji") {
    return {
      type: "custom_emoji",
      ...base,
      custom_emoji_id: open.attributes.get("emoji-id") ?? "",
    };
  }
  const type = ENTITY_TYPES[open.name] ?? "bold";
  return { type, ...base };
}

function isUrlLike(href: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\S+$|^[^\s/]+\.[^\s]+$/.test(href.trim());
}

function checkUnicode(text: string): void {
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)) {
    throw new HtmlParseError(
      "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units",
    );
  }
}
