import { timingSafeEqual } from "node:crypto";

/**
 * How the OpenClaw gateway answers HTTP, as measured on openclaw@2026.9.6
 * (reference/openclaw-gateway-facts.md §3–§4b). Pure, so the judgement is testable without a process.
 */

export const GATEWAY_VERSION = "2026.9.6";

export interface GatewayState {
  readonly uptimeMs: number;
  /** True until the startup sidecars are up (the boot delay has passed). */
  readonly starting: boolean;
  /** Channels that fail readiness, e.g. "telegram" after its connect grace. */
  readonly failingChannels: readonly string[];
}

export interface GatewayRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface GatewayAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const LIVE_PATHS = new Set(["/health", "/healthz"]);
const STARTUP_PATHS = new Set(["/startup", "/startupz"]);
const READY_PATHS = new Set(["/ready", "/readyz"]);

const CONTROL_UI_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>OpenClaw Control</title></head>
<body><div id="app">OpenClaw Control (local stand-in)</div></body>
</html>
`;

export function answerGateway(
  req: GatewayRequest,
  state: GatewayState,
  gatewayToken: string,
): GatewayAnswer {
  const isProbe =
    LIVE_PATHS.has(req.path) || STARTUP_PATHS.has(req.path) || READY_PATHS.has(req.path);
  if (isProbe && req.method !== "GET" && req.method !== "HEAD") {
    return {
      status: 405,
      headers: { "content-type": "text/plain; charset=utf-8", allow: "GET, HEAD" },
      body: "Method Not Allowed",
    };
  }
  if (LIVE_PATHS.has(req.path)) return json(200, { ok: true, status: "live" });
  if (STARTUP_PATHS.has(req.path) || READY_PATHS.has(req.path)) {
    // Without gateway.trustedProxies the real gateway refuses proxy-shaped probes.
    if (req.headers["x-forwarded-for"] !== undefined) return proxyAttributionRequired();
    return STARTUP_PATHS.has(req.path)
      ? startup(state)
      : ready(state, isAuthorised(req, gatewayToken));
  }
  // The OpenAI-compatible HTTP surface is disabled by default on the real gateway.
  if (req.path.startsWith("/v1/") || req.path.startsWith("/api/")) {
    return {
      status: 404,
      headers: { "content-type": "text/plain; charset=utf-8" },
      body: "Not Found",
    };
  }
  // The Control UI is a single-page app: every other path gets 200 HTML.
  return {
    status: 200,
    headers: { "content-type": "text/html; charset=utf-8" },
    body: CONTROL_UI_HTML,
  };
}

function startup(state: GatewayState): GatewayAnswer {
  const base = { version: GATEWAY_VERSION, uptimeMs: state.uptimeMs };
  return state.starting
    ? json(503, { ok: false, status: "starting", ...base, pendingReason: "startup-sidecars" })
    : json(200, { ok: true, status: "started", ...base });
}

function ready(state: GatewayState, detailed: boolean): GatewayAnswer {
  const failing = state.starting ? ["startup-sidecars"] : [...state.failingChannels];
  const isReady = failing.length === 0;
  // Remote callers without the token learn only the verdict, as on the real gateway.
  const body = detailed
    ? { ready: isReady, failing, uptimeMs: state.uptimeMs }
    : { ready: isReady };
  return json(isReady ? 200 : 503, body);
}

function proxyAttributionRequired(): GatewayAnswer {
  return json(403, {
    error: {
      message:
        "Proxy client attribution is required. Configure gateway.trustedProxies narrowly, or probe the gateway directly without X-Forwarded-For.",
      type: "proxy_attribution_required",
    },
  });
}

function isAuthorised(req: GatewayRequest, gatewayToken: string): boolean {
  const header = req.headers.authorization;
  if (gatewayToken === "" || typeof header !== "string" || !header.startsWith("Bearer "))
    return false;
  const given = Buffer.from(header.slice("Bearer ".length).trim());
  const expected = Buffer.from(gatewayToken);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function json(status: number, body: unknown): GatewayAnswer {
  return {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
    body: JSON.stringify(body),
  };
}
