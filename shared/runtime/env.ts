import { type Config, loadConfig } from "../config";
import type { FunctionContext } from "./context";

/** Looks one variable up by name; undefined when it is not set. */
export type EnvLookup = (name: string) => string | undefined;

type Env = Readonly<Record<string, string | undefined>>;

/** RUNTIME_USERDATA larger than FunctionGraph's whole environment is not the runtime's. */
const MAX_RUNTIME_USERDATA_CHARS = 8192;

/**
 * Where every function reads its config and secrets, in FunctionGraph's documented order:
 * `context.getUserData(key)` (plain and encrypted variables; encrypted ones are not in
 * process.env), then the `RUNTIME_USERDATA` JSON the runtime sets, then `process.env` (local
 * runs and plain variables).
 */
export function functionEnv(context: Pick<FunctionContext, "getUserData">, env: Env): EnvLookup {
  const userData = runtimeUserData(env.RUNTIME_USERDATA);
  return (name) => nonEmpty(context.getUserData(name)) ?? nonEmpty(userData[name]) ?? env[name];
}

/** The function's config, read the one way every function reads it. */
export function loadFunctionConfig(
  context: Pick<FunctionContext, "getUserData">,
  env: Env = process.env,
): Config {
  return loadConfig(functionEnv(context, env));
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** A JSON object of names to string values; anything else is ignored, not trusted. */
function runtimeUserData(raw: string | undefined): Record<string, unknown> {
  if (!raw || raw.length > MAX_RUNTIME_USERDATA_CHARS) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
