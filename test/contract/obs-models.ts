import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Exchange } from "./recorder";

/**
 * The operation models of esdk-obs-nodejs (Huawei's OBS SDK): lib/obsModel.js for the OBS
 * scheme (x-obs-*), lib/v2Model.js for the AWS one (x-amz-*). Each operation lists its query
 * parameters (`location: 'urlPath'`), headers (`location: 'header'`, `withPrefix` for the
 * vendor prefix) and, in `<Operation>Output`, its XML root and elements (`sentAs`).
 */

interface Param {
  location?: string;
  sentAs?: string;
  withPrefix?: boolean;
  type?: string;
  items?: { parameters?: Record<string, Param> };
  parameters?: Record<string, Param>;
}
interface OperationModel {
  httpMethod?: string;
  urlPath?: string;
  data?: { xmlRoot?: string };
  parameters?: Record<string, Param>;
}

const require = createRequire(import.meta.url);
const root = dirname(require.resolve("esdk-obs-nodejs/package.json"));
const MODELS = {
  OBS: require(join(root, "lib", "obsModel.js")) as Record<string, OperationModel>,
  AWS: require(join(root, "lib", "v2Model.js")) as Record<string, OperationModel>,
};

export type ObsOperation =
  | "ListObjects"
  | "GetObject"
  | "PutObject"
  | "CopyObject"
  | "DeleteObject";

function schemeOf(x: Exchange): "OBS" | "AWS" {
  return (x.headers.authorization ?? "").startsWith("OBS ") ? "OBS" : "AWS";
}

/** The SDK operation a request to a path-style local OBS is. */
export function obsOperationOf(x: Exchange): ObsOperation | undefined {
  const parts = x.path.split("/").filter((p) => p !== "");
  const prefix = schemeOf(x) === "OBS" ? "x-obs-" : "x-amz-";
  if (parts.length === 1 && x.method === "GET") return "ListObjects";
  if (parts.length < 2) return undefined;
  if (x.method === "GET") return "GetObject";
  if (x.method === "DELETE") return "DeleteObject";
  if (x.method === "PUT") return x.headers[`${prefix}copy-source`] ? "CopyObject" : "PutObject";
  return undefined;
}

function headerNames(params: Record<string, Param>, prefix: string): Set<string> {
  const names = new Set<string>();
  for (const p of Object.values(params)) {
    if (p.location !== "header" || !p.sentAs) continue;
    names.add((p.withPrefix ? `${prefix}${p.sentAs}` : p.sentAs).toLowerCase());
  }
  return names;
}

function xmlNames(params: Record<string, Param>): Map<string, Param> {
  const names = new Map<string, Param>();
  for (const p of Object.values(params)) {
    if (p.sentAs && (p.location === "xml" || p.location === undefined)) names.set(p.sentAs, p);
  }
  return names;
}

/** Child elements of the first `<tag>…</tag>`, by name (enough for OBS's flat answers). */
function childElements(xml: string): string[] {
  const names: string[] = [];
  let depth = 0;
  for (const m of xml.matchAll(/<(\/?)([A-Za-z][\w-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (closing) depth--;
    else {
      if (depth === 1) names.push(name as string);
      if (!selfClosing) depth++;
    }
  }
  return names;
}

function elementsOf(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>[\\s\\S]*?</${tag}>`, "g"))].map((m) => m[0]);
}

/** What in this exchange the esdk-obs-nodejs model of its operation does not know. */
export function checkObsExchange(x: Exchange): { operation?: ObsOperation; problems: string[] } {
  const operation = obsOperationOf(x);
  if (!operation) return { problems: [`${x.method} ${x.path}: no OBS SDK operation`] };
  const scheme = schemeOf(x);
  const prefix = scheme === "OBS" ? "x-obs-" : "x-amz-";
  const model = MODELS[scheme][operation];
  const output = MODELS[scheme][`${operation}Output`];
  if (!model) return { operation, problems: [`${operation}: not in the SDK's ${scheme} model`] };
  const problems: string[] = [];
  const params = model.parameters ?? {};
  const query = new Set(
    Object.values(params)
      .filter((p) => p.location === "urlPath" && p.sentAs)
      .map((p) => p.sentAs as string),
  );
  for (const key of x.query.keys())
    if (!query.has(key)) problems.push(`query ${key}: not a parameter of ${operation}`);
  // Signing headers every request may carry; the rest must be the operation's own.
  const allowed = headerNames(params, prefix);
  for (const always of ["date", "security-token", "content-sha256"])
    allowed.add(`${prefix}${always}`);
  for (const header of Object.keys(x.headers)) {
    if (header.startsWith(prefix) && !allowed.has(header))
      problems.push(`header ${header}: not a header of ${operation}`);
  }
  const xml = x.responseBody.toString("utf8");
  if (x.status < 300 && output?.data?.xmlRoot) {
    const rootTag = new RegExp(`<${output.data.xmlRoot}[\\s>]`);
    if (!rootTag.test(xml)) problems.push(`answer: no <${output.data.xmlRoot}> root`);
    const known = xmlNames(output.parameters ?? {});
    for (const child of new Set(childElements(xml.replace(/^<\?xml[^>]*\?>/, "")))) {
      if (!known.has(child))
        problems.push(`answer <${child}>: not an element of ${operation}Output`);
    }
    const contents = known.get("Contents")?.items?.parameters;
    if (contents) {
      const inner = xmlNames(contents);
      for (const item of elementsOf(xml, "Contents")) {
        for (const child of new Set(childElements(item))) {
          if (!inner.has(child))
            problems.push(`answer <Contents><${child}>: not in the SDK's Contents`);
        }
      }
    }
  }
  return { operation, problems: problems.map((p) => `${operation} (${scheme}): ${p}`) };
}
