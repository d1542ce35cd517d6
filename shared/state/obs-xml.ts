/**
 * Just enough XML reading for OBS answers (ListBucketResult, Error, CopyObjectResult): flat
 * elements by name, text decoded. No DTD, no external entities, no recursion: an answer can
 * make this return wrong strings, never run away.
 */

const NAME = /^[A-Za-z][A-Za-z0-9]*$/;

/** Text of every `<name>…</name>` (or `<name/>`) in `xml`, in order, entities decoded. */
export function xmlValues(xml: string, name: string): string[] {
  return xmlBlocks(xml, name).map(decodeXmlText);
}

export function xmlValue(xml: string, name: string): string | undefined {
  return xmlValues(xml, name)[0];
}

/** The raw inside of every `<name>…</name>`, for reading nested elements from it. */
export function xmlBlocks(xml: string, name: string): string[] {
  if (!NAME.test(name)) throw new Error(`not an XML element name: ${name}`);
  const pattern = new RegExp(`<${name}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${name}\\s*>)`, "g");
  return Array.from(xml.matchAll(pattern), (match) => match[1] ?? "");
}

/** True when the document's root element is `name` (OBS can answer a copy with 200 + Error). */
export function xmlRootIs(xml: string, name: string): boolean {
  const root = /^\s*(?:<\?[\s\S]*?\?>\s*)?(?:<!--[\s\S]*?-->\s*)*<([A-Za-z][\w.-]*)/.exec(xml);
  return root?.[1] === name;
}

const NAMED: Readonly<Record<string, string>> = {
  lt: "<",
  gt: ">",
  amp: "&",
  quot: '"',
  apos: "'",
};

/** CDATA kept as is; the five named entities and numeric references decoded in one pass. */
export function decodeXmlText(text: string): string {
  return text.replace(
    /<!\[CDATA\[([\s\S]*?)\]\]>|&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g,
    (whole, cdata: string | undefined, entity: string | undefined) => {
      if (cdata !== undefined) return cdata;
      if (entity === undefined) return whole;
      if (entity.startsWith("#")) {
        const code =
          entity[1] === "x" ? Number.parseInt(entity.slice(2), 16) : Number(entity.slice(1));
        return Number.isInteger(code) && code >= 0 && code <= 0x10ffff
          ? String.fromCodePoint(code)
          : whole;
      }
      return NAMED[entity] ?? whole;
    },
  );
}
