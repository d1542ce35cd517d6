import * as z from "zod/mini";
import { ClawwatchError, ConfigError } from "../errors";
import type { EnvLookup } from "../runtime/env";
import { probeGateway } from "./gateway";
import type { GatewayResult } from "./types";

/**
 * The gateway-probe function's own configuration: where each box's gateway is and its token.
 * Nothing else (no bot token, no MaaS key, no bucket): the only function with VPC access holds
 * only what the probe needs.
 */
export interface ProbeFunctionConfig {
  boxes: ReadonlyMap<string, { url: string; token: string }>;
  timeoutMs: number;
  retryDelayMs: number;
}

/** Plain env: box names, URLs and timings. */
export const PROBE_CONFIG_VAR = "CLAWWATCH_PROBE_CONFIG";
/** Encrypted env: `{ "<box>": "<gateway token>" }`. */
export const PROBE_TOKENS_VAR = "CLAWWATCH_GATEWAY_TOKENS";

const boxName = z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/));
const gatewayUrl = z.string().check(z.maxLength(200), z.regex(/^https?:\/\/[^/?#@\s]+\/?$/));
const timing = z.int().check(z.gte(100), z.lte(60_000));

const configSchema = z.object({
  boxes: z
    .array(z.object({ name: boxName, url: gatewayUrl }))
    .check(z.minLength(1), z.maxLength(200)),
  timeoutMs: timing,
  retryDelayMs: z.int().check(z.gte(0), z.lte(10_000)),
});
const tokensSchema = z.record(boxName, z.string().check(z.minLength(1), z.maxLength(512)));

/** The event the watchdog sends: which box, at which URL. Small, and only these two fields. */
const requestSchema = z.strictObject({ box: boxName, url: gatewayUrl });
const MAX_EVENT_CHARS = 1024;

/** A request the probe function refuses (unknown box, another URL, a malformed event). */
export class ProbeRequestError extends ClawwatchError {}

/** Reads the function's config; every problem is listed at once (zod paths). */
export function loadProbeFunctionConfig(env: EnvLookup): ProbeFunctionConfig {
  const problems: string[] = [];
  const config = parseJson(env(PROBE_CONFIG_VAR), PROBE_CONFIG_VAR, configSchema, problems);
  const tokens = parseJson(env(PROBE_TOKENS_VAR), PROBE_TOKENS_VAR, tokensSchema, problems);
  const boxes = new Map<string, { url: string; token: string }>();
  for (const box of config?.boxes ?? []) {
    const token = tokens?.[box.name];
    if (token === undefined) {
      if (tokens) problems.push(`${PROBE_TOKENS_VAR}: no gateway token for box ${box.name}`);
      continue;
    }
    boxes.set(box.name, { url: box.url, token });
  }
  if (problems.length > 0 || !config) throw new ConfigError(problems);
  return { boxes, timeoutMs: config.timeoutMs, retryDelayMs: config.retryDelayMs };
}

function parseJson<T>(
  text: string | undefined,
  name: string,
  schema: z.ZodMiniType<T>,
  problems: string[],
): T | undefined {
  if (!text) {
    problems.push(`${name} is not set: deploy the function with infra deploy`);
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Never quote the text: the tokens' variable is one of them.
    problems.push(`${name} is not valid JSON: deploy the function with infra deploy`);
    return undefined;
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    // Paths only: a token's value never appears in a message.
    problems.push(`${name}.${issue.path.map(String).join(".") || "(root)"}: ${issue.code}`);
  }
  return undefined;
}

/**
 * One probe for one known box. The gateway token is sent only to the URL this function was
 * configured with: an event naming another URL is refused, so whoever may invoke the function
 * cannot point the token elsewhere.
 */
export async function runProbeRequest(
  event: unknown,
  config: ProbeFunctionConfig,
): Promise<GatewayResult> {
  const size = JSON.stringify(event ?? null).length;
  if (size > MAX_EVENT_CHARS) {
    throw new ProbeRequestError(
      `the event has ${size} characters; a probe request takes at most ${MAX_EVENT_CHARS}`,
    );
  }
  const parsed = requestSchema.safeParse(event);
  if (!parsed.success) {
    const where = parsed.error.issues
      .map((i) => i.path.map(String).join(".") || "(root)")
      .join(", ");
    throw new ProbeRequestError(`not a probe request ({"box", "url"}): check ${where}`);
  }
  const box = config.boxes.get(parsed.data.box);
  if (!box) {
    throw new ProbeRequestError(
      `no box ${parsed.data.box} in this function's config: run infra deploy`,
    );
  }
  if (box.url.replace(/\/+$/, "") !== parsed.data.url.replace(/\/+$/, "")) {
    throw new ProbeRequestError(
      `box ${parsed.data.box}: the requested URL is not the one this function was deployed with: run infra deploy`,
    );
  }
  const result = await probeGateway({
    url: box.url,
    token: box.token,
    timeoutMs: config.timeoutMs,
    retryDelayMs: config.retryDelayMs,
  });
  // Within what the watchdog accepts (gateway-port.ts), so a long /readyz list stays a verdict.
  return {
    ...result,
    failing: result.failing.slice(0, MAX_FAILING).map((name) => name.slice(0, MAX_FAILING_CHARS)),
  };
}

const MAX_FAILING = 50;
const MAX_FAILING_CHARS = 200;
