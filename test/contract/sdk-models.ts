import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/**
 * Reads the official Huawei Node SDK's generated models (v2/model/<Name>.{js,d.ts}) and its
 * ParamCreater (v2/<Service>Client.js) so the contract tests check against Huawei's own
 * contract, not a hand-copied field list.
 *
 * How the SDK encodes the contract (read from the generated files):
 * - wire names: `withFooBar(fooBar) { this['foo_bar'] = fooBar; ...}` in the .js;
 * - types: `withFooBar(fooBar: TYPE): Model;` in the .d.ts;
 * - required fields: the constructor's parameters (`constructor(a, b) { this['a'] = a; ...}`);
 *   the .d.ts marks every field optional, so the constructor is the only required marker;
 * - enums: `export declare enum <Model><Field>Enum { A = "A" }` next to the model.
 */

export type SdkService = "ecs" | "functiongraph" | "vpc";

const require = createRequire(import.meta.url);

function packageDir(service: SdkService): string {
  return dirname(require.resolve(`@huaweicloud/huaweicloud-sdk-${service}/package.json`));
}

export type FieldType =
  | { kind: "string" | "number" | "boolean" | "any" }
  | { kind: "enum"; name: string; values: readonly (string | number)[] }
  | { kind: "array"; of: FieldType }
  | { kind: "map"; of: FieldType }
  | { kind: "model"; name: string };

export interface Field {
  /** The name on the wire (`OS-EXT-STS:task_state`, `func_urn`). */
  wire: string;
  type: FieldType;
  required: boolean;
}

export interface Model {
  service: SdkService;
  name: string;
  fields: ReadonlyMap<string, Field>;
}

const cache = new Map<string, Model>();

function modelFiles(service: SdkService, name: string): { js: string; dts: string } | undefined {
  const base = join(packageDir(service), "v2", "model", name);
  if (!existsSync(`${base}.js`)) return undefined;
  return { js: readFileSync(`${base}.js`, "utf8"), dts: readFileSync(`${base}.d.ts`, "utf8") };
}

export function hasModel(service: SdkService, name: string): boolean {
  return existsSync(join(packageDir(service), "v2", "model", `${name}.js`));
}

export function loadModel(service: SdkService, name: string): Model {
  const key = `${service}/${name}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const files = modelFiles(service, name);
  if (!files) throw new Error(`the ${service} SDK has no model ${name}`);
  const enums = enumsOf(files.dts);
  const wireOf = new Map<string, string>();
  for (const m of files.js.matchAll(/\bwith(\w+)\((\w+)\) \{\s*this\['([^']+)'\] = \2;/g)) {
    wireOf.set(m[1] as string, m[3] as string);
  }
  const required = new Set<string>();
  const ctor = /constructor\(([^)]*)\) \{([\s\S]*?)\n {4}\}/.exec(files.js);
  if (ctor?.[1]) {
    const params = new Set(ctor[1].split(",").map((p) => p.trim()));
    for (const m of (ctor[2] ?? "").matchAll(/this\['([^']+)'\] = (\w+);/g)) {
      if (params.has(m[2] as string)) required.add(m[1] as string);
    }
  }
  const fields = new Map<string, Field>();
  for (const m of files.dts.matchAll(/\bwith(\w+)\(\w+\??: ([\s\S]*?)\): \w+;/g)) {
    const wire = wireOf.get(m[1] as string);
    if (!wire) continue;
    fields.set(wire, {
      wire,
      type: parseType(service, (m[2] as string).trim(), enums),
      required: required.has(wire),
    });
  }
  const model = { service, name, fields };
  cache.set(key, model);
  return model;
}

function enumsOf(dts: string): Map<string, (string | number)[]> {
  const enums = new Map<string, (string | number)[]>();
  for (const m of dts.matchAll(/export declare enum (\w+) \{([^}]*)\}/g)) {
    const values = [...(m[2] as string).matchAll(/= (?:"([^"]*)"|(-?\d+))/g)].map((v) =>
      v[1] !== undefined ? v[1] : Number(v[2]),
    );
    enums.set(m[1] as string, values);
  }
  return enums;
}

function parseType(
  service: SdkService,
  text: string,
  enums: Map<string, (string | number)[]>,
): FieldType {
  const t = text.replace(/\s+/g, " ").trim();
  const union = t.split(" | ").map((s) => s.trim());
  const enumName = union.find((u) => enums.has(u));
  if (enumName) return { kind: "enum", name: enumName, values: enums.get(enumName) ?? [] };
  const only = union[0] ?? t;
  const array = /^Array<(.+)>$/.exec(only);
  if (array) return { kind: "array", of: parseType(service, array[1] as string, enums) };
  const map = /^\{ \[key: string\]: (.+?);? \}$/.exec(only);
  if (map) return { kind: "map", of: parseType(service, map[1] as string, enums) };
  if (only === "string" || only === "Date") return { kind: "string" };
  if (only === "number") return { kind: "number" };
  if (only === "boolean") return { kind: "boolean" };
  if (only === "object" || only === "any") return { kind: "any" };
  if (hasModel(service, only)) return { kind: "model", name: only };
  throw new Error(`${service} SDK: cannot read the type "${t}"`);
}

export interface ValidateOptions {
  /** Fields the model does not declare count as problems (what we send, what the fake answers). */
  unknownFields?: boolean;
  /**
   * "request": a required field must have a value. "response": the API reference lists it as
   * always returned, so the key must be there, but null is how Huawei answers "none".
   */
  side?: "request" | "response";
}

/**
 * Enum values Huawei documents that this SDK version's enum lacks (the SDK types them
 * `Enum | string`, so it sends them): each with its source.
 */
export const DOCUMENTED_ENUM_ADDITIONS: Record<string, { values: string[]; source: string }> = {
  // FunctionGraph Developer Guide, "Node.js" > "Supported runtimes" lists Node.js 20.15; the
  // SDK 3.1.211 runtime enums stop at Node.js18.15 (see huawei-cloud-facts.md §createFunction).
  Runtime: {
    values: ["Node.js20.15"],
    source: "FunctionGraph Developer Guide, Node.js runtimes (6.10 … 18.15, 20.15)",
  },
};

function enumAllows(type: { name: string; values: readonly (string | number)[] }, v: unknown) {
  if (type.values.includes(v as string | number)) return true;
  return Object.entries(DOCUMENTED_ENUM_ADDITIONS).some(
    ([suffix, extra]) => type.name.endsWith(`${suffix}Enum`) && extra.values.includes(v as string),
  );
}

/** Every way `value` breaks the SDK model `name`: unknown or missing fields, wrong types/enums. */
export function validate(
  service: SdkService,
  name: string,
  value: unknown,
  options: ValidateOptions = { unknownFields: true, side: "request" },
): string[] {
  const problems: string[] = [];
  const model = loadModel(service, name);
  const body = model.fields.get("body");
  // A JSON array answer: the SDK wraps it as the response's `body` field.
  if (Array.isArray(value) && body && name.endsWith("Response")) {
    checkType(service, body.type, value, "$", problems, options);
    return problems;
  }
  checkModel(service, name, value, "$", problems, options);
  return problems;
}

function checkModel(
  service: SdkService,
  name: string,
  value: unknown,
  path: string,
  problems: string[],
  options: ValidateOptions,
): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.push(`${path}: ${name} must be an object, got ${describe(value)}`);
    return;
  }
  const model = loadModel(service, name);
  const record = value as Record<string, unknown>;
  for (const field of model.fields.values()) {
    if (!field.required) continue;
    const v = record[field.wire];
    const missing =
      options.side === "response" ? !(field.wire in record) : v === undefined || v === null;
    if (missing) problems.push(`${path}.${field.wire}: required by ${name}, missing`);
  }
  for (const [key, v] of Object.entries(record)) {
    const field = model.fields.get(key);
    if (!field) {
      if (options.unknownFields) problems.push(`${path}.${key}: not a field of ${name}`);
      continue;
    }
    if (v === null || v === undefined) continue;
    checkType(service, field.type, v, `${path}.${key}`, problems, options);
  }
}

function checkType(
  service: SdkService,
  type: FieldType,
  value: unknown,
  path: string,
  problems: string[],
  options: ValidateOptions,
): void {
  switch (type.kind) {
    case "any":
      return;
    case "string":
    case "number":
    case "boolean":
      if (typeof value !== type.kind)
        problems.push(`${path}: must be a ${type.kind}, got ${describe(value)}`);
      return;
    case "enum":
      if (!enumAllows(type, value))
        problems.push(
          `${path}: ${JSON.stringify(value)} is not one of ${type.name} ${JSON.stringify(type.values)}`,
        );
      return;
    case "array":
      if (!Array.isArray(value)) {
        problems.push(`${path}: must be an array, got ${describe(value)}`);
        return;
      }
      for (const [i, v] of value.entries())
        checkType(service, type.of, v, `${path}[${i}]`, problems, options);
      return;
    case "map":
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        problems.push(`${path}: must be an object map, got ${describe(value)}`);
        return;
      }
      for (const [k, v] of Object.entries(value))
        checkType(service, type.of, v, `${path}.${k}`, problems, options);
      return;
    case "model":
      checkModel(service, type.name, value, path, problems, options);
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  return typeof value;
}

/** One operation of the SDK's ParamCreater: its method, URL template and query/header names. */
export interface Operation {
  service: SdkService;
  /** The client method, e.g. `showServer`. */
  name: string;
  method: string;
  url: string;
  /** The request model's body field type, e.g. `BatchStartServersRequestBody`. */
  bodyModel?: string;
  query: readonly string[];
  headers: readonly string[];
}

const CLIENT_FILES: Record<SdkService, string> = {
  ecs: "EcsClient.js",
  functiongraph: "FunctionGraphClient.js",
  vpc: "VpcClient.js",
};

const opCache = new Map<SdkService, Operation[]>();

export function operations(service: SdkService): Operation[] {
  const cached = opCache.get(service);
  if (cached) return cached;
  const js = readFileSync(join(packageDir(service), "v2", CLIENT_FILES[service]), "utf8");
  const start = js.indexOf("const ParamCreater");
  const creater = js.slice(start);
  const ops: Operation[] = [];
  const heads = [
    ...creater.matchAll(
      /\n {8}(\w+)\((\w+)\) \{\n {12}const options = \{\n {16}method: "(\w+)",\n {16}url: "([^"]+)"/g,
    ),
  ];
  heads.forEach((m, i) => {
    const name = m[1] as string;
    const bodyText = creater.slice(m.index, heads[i + 1]?.index ?? creater.length);
    const requestName = `${name[0]?.toUpperCase()}${name.slice(1)}Request`;
    const body = hasModel(service, requestName)
      ? loadModel(service, requestName).fields.get("body")
      : undefined;
    const query = [...bodyText.matchAll(/localVarQueryParameter\['([^']+)'\]/g)].map(
      (q) => q[1] as string,
    );
    const headers = [...bodyText.matchAll(/localVarHeaderParameter\['([^']+)'\] = (?!')/g)].map(
      (h) => (h[1] as string).toLowerCase(),
    );
    ops.push({
      service,
      name,
      method: m[3] as string,
      url: m[4] as string,
      bodyModel: body?.type.kind === "model" ? body.type.name : undefined,
      query: [...new Set(query)],
      headers: [...new Set(headers)],
    });
  });
  opCache.set(service, ops);
  return ops;
}

/** The operations whose method and URL template match a request (several share one URL). */
export function operationsFor(service: SdkService, method: string, path: string): Operation[] {
  return operations(service).filter((op) => op.method === method && templateMatches(op.url, path));
}

function templateMatches(template: string, path: string): boolean {
  const t = template.split("/");
  const p = path.split("/");
  if (t.length !== p.length) return false;
  return t.every((seg, i) => (/^\{\w+\}$/.test(seg) ? (p[i] ?? "") !== "" : seg === p[i]));
}

export function responseModelOf(op: Operation): string {
  return `${op.name[0]?.toUpperCase()}${op.name.slice(1)}Response`;
}
