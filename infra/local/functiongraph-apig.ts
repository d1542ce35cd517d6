import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApigRoute, FunctionRecord, TriggerRecord } from "./functiongraph-model";
import type { InvocationRecord } from "./functiongraph-runtime";
import { type Handler, type Listening, listen, sendJson, sleep } from "./http";
import { type HttpsListening, listenHttps } from "./tls";

export interface ApigBackend {
  /** Every ACTIVE APIG trigger with its function. */
  routes(): Iterable<{ fn: FunctionRecord; trigger: TriggerRecord & { route: ApigRoute } }>;
  invoke(fn: FunctionRecord, trigger: TriggerRecord, event: unknown): Promise<InvocationRecord>;
  /** Read per request so the control API can change them. */
  backendTimeoutMs(trigger: TriggerRecord): number;
  latencyMs(): number;
}

/** The APIG event FunctionGraph hands an APIG-triggered function. */
export interface ApigEvent {
  body: string;
  requestContext: { apiId: string; requestId: string; stage: string; sourceIp: string };
  queryStringParameters: Record<string, string>;
  httpMethod: string;
  pathParameters: Record<string, string>;
  headers: Record<string, string>;
  path: string;
  isBase64Encoded: true;
}

/**
 * The API gateway in front of APIG triggers: a request becomes the APIG event, the function's
 * `{statusCode, headers, body, isBase64Encoded}` becomes the response.
 */
export function startApig(backend: ApigBackend, port = 0): Promise<Listening> {
  return listen(apigHandler(backend), port);
}

/**
 * The same gateway over HTTPS on 127.a.b.c:8443 with a self-signed certificate: what an APIG
 * trigger's invoke_url points at, since Telegram delivers webhooks only over HTTPS on ports 80,
 * 88, 443 or 8443 (see tls.ts). Real APIG serves HTTPS on 443 with a trusted certificate.
 */
export function startApigHttps(backend: ApigBackend): Promise<HttpsListening> {
  return listenHttps(apigHandler(backend));
}

function apigHandler(backend: ApigBackend): Handler {
  return async (req, res, body) => {
    const requestId = randomBytes(16).toString("hex");
    const latency = backend.latencyMs();
    if (latency > 0) await sleep(latency);
    const url = new URL(req.url ?? "/", "http://apig.local");
    const method = (req.method ?? "GET").toUpperCase();
    const match = findRoute(backend.routes(), method, url.pathname);
    if (!match) {
      apigError(
        res,
        404,
        "APIG.0101",
        "The API does not exist or has not been published in the environment",
        requestId,
      );
      return;
    }
    const event: ApigEvent = {
      body: body.toString("base64"),
      requestContext: {
        apiId: match.trigger.id,
        requestId,
        stage: match.trigger.route.stage,
        sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
      },
      queryStringParameters: Object.fromEntries(url.searchParams),
      httpMethod: method,
      pathParameters: match.params,
      headers: eventHeaders(req, requestId),
      path: url.pathname,
      isBase64Encoded: true,
    };
    const invocation = backend.invoke(match.fn, match.trigger, event);
    const outcome = await Promise.race([
      invocation,
      sleep(backend.backendTimeoutMs(match.trigger)).then(() => "timeout" as const),
    ]);
    if (outcome === "timeout") {
      apigError(res, 504, "APIG.0201", "Backend timeout", requestId);
      return;
    }
    respond(res, outcome, requestId);
  };
}

function findRoute(
  routes: Iterable<{ fn: FunctionRecord; trigger: TriggerRecord & { route: ApigRoute } }>,
  method: string,
  path: string,
) {
  let best:
    | {
        fn: FunctionRecord;
        trigger: TriggerRecord & { route: ApigRoute };
        params: Record<string, string>;
      }
    | undefined;
  for (const { fn, trigger } of routes) {
    const { route } = trigger;
    if (route.method !== "ANY" && route.method !== method) continue;
    const params = matchPath(route, path);
    if (!params) continue;
    if (!best || route.path.length > best.trigger.route.path.length) best = { fn, trigger, params };
  }
  return best;
}

/** `{name}` segments capture path parameters; SWA (prefix) routes also match deeper paths. */
function matchPath(route: ApigRoute, path: string): Record<string, string> | undefined {
  const want = route.path.split("/").filter(Boolean);
  const got = path.split("/").filter(Boolean);
  if (got.length < want.length || (route.matchMode === "NORMAL" && got.length !== want.length)) {
    return undefined;
  }
  const params: Record<string, string> = {};
  for (const [i, segment] of want.entries()) {
    const actual = got[i] ?? "";
    const param = /^\{(\w+)\+?\}$/.exec(segment);
    if (param?.[1]) params[param[1]] = decodeURIComponent(actual);
    else if (segment !== actual) return undefined;
  }
  return params;
}

function eventHeaders(req: IncomingMessage, requestId: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined)
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(",") : value;
  }
  const ip = req.socket.remoteAddress ?? "127.0.0.1";
  headers["x-real-ip"] = ip;
  headers["x-forwarded-for"] = headers["x-forwarded-for"]
    ? `${headers["x-forwarded-for"]}, ${ip}`
    : ip;
  headers["x-request-id"] = requestId;
  return headers;
}

interface ApigResult {
  statusCode: number;
  headers?: Record<string, string | string[]>;
  body?: string;
  isBase64Encoded?: boolean;
}

function respond(res: ServerResponse, invocation: InvocationRecord, requestId: string): void {
  if (invocation.status !== "success") {
    apigError(
      res,
      502,
      "APIG.0202",
      `Backend unavailable: the function failed (FunctionGraph request ${invocation.requestId})`,
      requestId,
    );
    return;
  }
  const result = parseResult(invocation.result ?? "");
  if (!result) {
    apigError(
      res,
      502,
      "FSS.1206",
      'invalid type of APIG trigger invocation result, type format must be: {"statusCode":200,"isBase64Encoded":false,"headers":{},"body":""}',
      requestId,
    );
    return;
  }
  const body = Buffer.from(result.body ?? "", result.isBase64Encoded ? "base64" : "utf8");
  const headers: Record<string, string | string[]> = { "x-request-id": requestId };
  for (const [name, value] of Object.entries(result.headers ?? {}))
    headers[name.toLowerCase()] = value;
  headers["content-length"] = String(body.byteLength);
  res.writeHead(result.statusCode, headers);
  res.end(body);
}

function parseResult(text: string): ApigResult | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const r = value as Record<string, unknown>;
  const statusOk =
    Number.isInteger(r.statusCode) &&
    (r.statusCode as number) >= 100 &&
    (r.statusCode as number) <= 599;
  const bodyOk = r.body === undefined || typeof r.body === "string";
  const headersOk =
    r.headers === undefined ||
    (typeof r.headers === "object" &&
      r.headers !== null &&
      Object.values(r.headers).every(
        (v) => typeof v === "string" || (Array.isArray(v) && v.every((x) => typeof x === "string")),
      ));
  const base64Ok = r.isBase64Encoded === undefined || typeof r.isBase64Encoded === "boolean";
  return statusOk && bodyOk && headersOk && base64Ok ? (r as unknown as ApigResult) : undefined;
}

function apigError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  requestId: string,
): void {
  sendJson(
    res,
    status,
    { error_msg: message, error_code: code, request_id: requestId },
    { "x-request-id": requestId },
  );
}
