/**
 * "did you mean …?" for an unknown key: the known key nearest by edit distance, case ignored
 * (so `allowedUserIDs` finds `allowedUserIds`), when it is close enough to be the one meant.
 */
export function didYouMean(key: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (!best || distance < best.distance) best = { name, distance };
  }
  if (!best) return undefined;
  return best.distance <= Math.max(2, Math.floor(key.length / 3)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

interface Def {
  type?: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  innerType?: { _zod: { def: Def } };
  in?: { _zod: { def: Def } };
  element?: { _zod: { def: Def } };
  valueType?: { _zod: { def: Def } };
}

/** The keys an object schema knows at `path` (zod or zod/mini), unwrapping defaults and pipes. */
export function knownKeysAt(schema: { _zod: { def: unknown } }, path: readonly PropertyKey[]) {
  let def: Def | undefined = unwrap(schema._zod.def as Def);
  for (const part of path) {
    if (!def) return [];
    if (def.type === "object") def = def.shape?.[String(part)]?._zod.def;
    else if (def.type === "array") def = def.element?._zod.def;
    else if (def.type === "record") def = def.valueType?._zod.def;
    else return [];
    def = def ? unwrap(def) : undefined;
  }
  return def?.type === "object" ? Object.keys(def.shape ?? {}) : [];
}

function unwrap(def: Def): Def {
  let current = def;
  for (let i = 0; i < 10; i++) {
    const inner =
      current.innerType?._zod.def ?? (current.type === "pipe" ? current.in?._zod.def : undefined);
    if (!inner) return current;
    current = inner;
  }
  return current;
}
