import type { IncomingMessage, ServerResponse } from "node:http";
import { type Listening, listen, parseJson, sendJson } from "./http";
import { ControlError, type LocalService } from "./service";

/**
 * The fault-injection and inspection API: `POST /<service>/<action>` with a JSON body of
 * parameters answers the service's result as JSON; `POST /reset` clears every fault;
 * `GET /` lists the services. See infra/local/README.md.
 */
export function startControl(services: readonly LocalService[], port = 0): Promise<Listening> {
  const byName = new Map(services.map((s) => [s.name, s]));
  return listen(async (req, res, body) => {
    try {
      await route(byName, req, res, body);
    } catch (error) {
      const status = error instanceof ControlError ? error.status : 500;
      sendJson(res, status, { error: (error as Error).message });
    }
  }, port);
}

async function route(
  services: Map<string, LocalService>,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
): Promise<void> {
  const parts = (req.url ?? "/").split("?")[0]?.split("/").filter(Boolean) ?? [];
  if (req.method === "GET" && parts.length === 0) {
    sendJson(res, 200, {
      services: [...services.values()].map((s) => ({ name: s.name, url: s.url })),
    });
    return;
  }
  if (req.method !== "POST") throw new ControlError("use POST /<service>/<action>", 405);
  if (parts.length === 1 && parts[0] === "reset") {
    for (const service of services.values()) service.reset();
    sendJson(res, 200, { reset: [...services.keys()] });
    return;
  }
  const [name, action] = parts;
  const service = name ? services.get(name) : undefined;
  if (!service || !action || parts.length !== 2) {
    throw new ControlError(
      `unknown control path; services: ${[...services.keys()].join(", ")}`,
      404,
    );
  }
  const params = parseJson(body);
  if (params === null || typeof params !== "object" || Array.isArray(params)) {
    throw new ControlError("the body must be a JSON object of parameters");
  }
  if (action === "reset") {
    service.reset();
    sendJson(res, 200, { reset: [service.name] });
    return;
  }
  const result = await service.control(action, params as Record<string, unknown>);
  sendJson(res, 200, result ?? { ok: true });
}

/** Calls the control API over HTTP, as tests and the demo do. */
export async function controlRequest(
  controlUrl: string,
  service: string,
  action: string,
  params: Record<string, unknown> = {},
): Promise<unknown> {
  const res = await fetch(`${controlUrl}/${service}/${action}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(params),
  });
  const body = (await res.json()) as unknown;
  if (!res.ok) {
    const message = (body as { error?: string }).error ?? res.statusText;
    throw new Error(`control ${service}/${action} failed (${res.status}): ${message}`);
  }
  return body;
}
