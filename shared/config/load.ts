import { readFileSync } from "node:fs";
import type * as z from "zod/mini";
import { ConfigError } from "../errors";
import { didYouMean, knownKeysAt } from "./did-you-mean";
import { type Config, configSchema } from "./schema";

/** What to do about a bad value, by the last key of its path. */
const HINTS: Record<string, string> = {
  baseUrl: 'paste the API URL from the MaaS console\'s "View Call Description"',
  botToken: "the token BotFather gave, like 123456:ABC…",
  chatId: "the numeric chat id of the alert chat (negative for groups)",
  projectId: "Huawei Cloud console → My Credentials → Projects, for the region",
  serverId: "the ECS instance id (a UUID) from the ECS console",
  bucket: "an existing OBS bucket in the same region",
};

type Env = Readonly<Record<string, string | undefined>>;
/** The environment as a record, or a lookup (a function reads through its context first). */
export type EnvSource = Env | ((name: string) => string | undefined);
type Lookup = (name: string) => string | undefined;

/**
 * Loads the config from `CLAWWATCH_CONFIG` (JSON) or the file `CLAWWATCH_CONFIG_FILE`.
 * Any string of the form `${NAME}` is read from the environment, so secrets live in
 * (encrypted) env vars while the rest of the config stays readable.
 */
export function loadConfig(source: EnvSource = process.env): Config {
  const env: Lookup = typeof source === "function" ? source : (name) => source[name];
  const raw = readRawConfig(env);
  const missing: string[] = [];
  const resolved = substituteEnv(withBoxDefaults(raw), env, [], missing);
  return parseConfig(resolved, missing);
}

export function parseConfig(input: unknown, earlierProblems: readonly string[] = []): Config {
  const result = configSchema.safeParse(input);
  if (result.success && earlierProblems.length === 0) return result.data;
  // An unset ${NAME} is already reported at its path: the schema's "expected string" there
  // would say the same thing a second time.
  const reported = new Set(earlierProblems.map((p) => p.slice(0, p.indexOf(": "))));
  const issues = result.success
    ? []
    : describeIssues(result.error).filter((p) => !reported.has(p.slice(0, p.indexOf(": "))));
  throw new ConfigError([...new Set([...earlierProblems, ...issues])]);
}

function readRawConfig(env: Lookup): unknown {
  const inline = env("CLAWWATCH_CONFIG");
  const file = env("CLAWWATCH_CONFIG_FILE");
  if (!inline && !file) {
    throw new ConfigError([
      "no configuration: set CLAWWATCH_CONFIG to the config JSON or CLAWWATCH_CONFIG_FILE to its path",
    ]);
  }
  const [source, text] = inline
    ? ["CLAWWATCH_CONFIG", inline]
    : [file as string, readConfigFile(file as string)];
  try {
    return JSON.parse(text);
  } catch (error) {
    // V8's message quotes the text around the mistake, and the config holds secrets: say where
    // only, and keep the original error (and its quote) out of the chain.
    const at = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new ConfigError([
      `${source} is not valid JSON${at === undefined ? "" : ` (near character ${at})`}: check its quotes, commas and brackets`,
    ]);
  }
}

function readConfigFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (cause) {
    throw new ConfigError([`cannot read config file ${path}: ${(cause as Error).message}`], {
      cause,
    });
  }
}

/**
 * `boxDefaults` is merged under every box, so a fleet that shares a MaaS key or gateway token
 * states it once (FunctionGraph allows 2 KB of environment in most regions, 4 KB in a few).
 */
function withBoxDefaults(raw: unknown): unknown {
  if (!isRecord(raw) || !isRecord(raw.boxDefaults) || !Array.isArray(raw.boxes)) return raw;
  const { boxDefaults, ...rest } = raw;
  return { ...rest, boxes: raw.boxes.map((box: unknown) => deepMerge(boxDefaults, box)) };
}

function deepMerge(base: Record<string, unknown>, over: unknown): unknown {
  if (!isRecord(over)) return over;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const under = base[key];
    merged[key] = isRecord(under) && isRecord(value) ? deepMerge(under, value) : value;
  }
  return merged;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function substituteEnv(value: unknown, env: Lookup, path: string[], missing: string[]): unknown {
  if (typeof value === "string") {
    const m = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(value);
    if (!m) return value;
    const name = m[1] as string;
    const found = env(name);
    if (found === undefined || found === "") {
      missing.push(`${path.join(".")}: environment variable ${name} is not set`);
    }
    return found;
  }
  if (Array.isArray(value))
    return value.map((v, i) => substituteEnv(v, env, [...path, String(i)], missing));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, [...path, k], missing)]),
    );
  }
  return value;
}

function describeIssues(error: z.core.$ZodError): string[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String).join(".") || "(root)";
    if (issue.code === "unrecognized_keys") {
      const known = knownKeysAt(configSchema, issue.path);
      return issue.keys.map((key) => {
        const at = [...issue.path.map(String), key].join(".");
        const near = didYouMean(key, known);
        return `${at}: unknown key${near ? `; did you mean "${near}"?` : known.length > 0 ? ` (known here: ${known.join(", ")})` : ""}`;
      });
    }
    const last = issue.path.at(-1);
    // Hints explain a value's format; a custom issue (a rule across fields) says all itself.
    const hint = typeof last === "string" && issue.code !== "custom" ? HINTS[last] : undefined;
    return `${path}: ${issue.message}${hint ? ` (${hint})` : ""}`;
  });
}

/** A reference to an environment variable, as written in the config: `${NAME}`. */
export function envRef(name: string): string {
  return `\${${name}}`;
}

/** Every secret value in the config, for the log redactor. */
export function secretsOf(config: Config): string[] {
  const values = [config.alerts.botToken, config.alerts.webhookSecret];
  for (const box of config.boxes) {
    values.push(box.gateway.token, box.telegram.botToken, box.maas.apiKey);
  }
  return values.filter((v): v is string => typeof v === "string" && v.length > 0);
}
