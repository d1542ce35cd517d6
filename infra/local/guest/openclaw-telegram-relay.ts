import type { IncomingMessage, ServerResponse } from "node:http";
import { request } from "node:http";
import { type Listening, listen } from "../http";

/**
 * A pass-through between one real gateway and the Telegram Bot API fake: the gateway's
 * `channels.telegram.apiRoot` points here. It exists for one fault the real gateway cannot be
 * told to have, the known polling stall (the gateway stays ready but stops taking updates):
 * while stalled, getUpdates never reaches Telegram and is answered, after the poll's own
 * timeout, with no updates; a poll already waiting at Telegram is ended (it takes nothing) and
 * answered empty. Everything else, faults of the fake included (`down` cuts the connection, and
 * so does the relay), passes through unchanged.
 */

export interface TelegramRelay {
  readonly url: string;
  readonly stalled: boolean;
  stall(): void;
  /** Held polls are answered at once (empty) so the gateway polls Telegram again. */
  resume(): void;
  close(): Promise<void>;
}

/** grammY asks for 30 s; longer holds are capped like Telegram's own 50 s limit. */
const MAX_HOLD_MS = 50_000;
const HOP_BY_HOP = new Set(["host", "connection", "keep-alive", "transfer-encoding"]);

export async function startTelegramRelay(upstream: string): Promise<TelegramRelay> {
  const target = new URL(upstream);
  const held = new Set<() => void>();
  const polling = new Set<() => void>();
  let stalled = false;

  const server: Listening = await listen((req, res, body) => {
    const poll = isGetUpdates(req.url ?? "");
    if (stalled && poll) hold(req, res, body);
    else forward(target, req, res, body, poll ? polling : undefined);
  });

  function hold(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const answer = (): void => {
      clearTimeout(timer);
      held.delete(answer);
      if (!res.writableEnded && !res.destroyed) sendOk(res, []);
    };
    const timer = setTimeout(answer, pollTimeoutMs(req.url ?? "", body));
    held.add(answer);
    res.on("close", () => {
      clearTimeout(timer);
      held.delete(answer);
    });
  }

  return {
    url: server.url,
    get stalled() {
      return stalled;
    },
    stall() {
      stalled = true;
      for (const cut of [...polling]) cut();
    },
    resume() {
      stalled = false;
      for (const answer of [...held]) answer();
    },
    async close() {
      for (const answer of [...held]) answer();
      await server.close();
    },
  };
}

/** `polls`: where a getUpdates registers how to end it early (stall). */
function forward(
  target: URL,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  polls?: Set<() => void>,
): void {
  const headers = Object.fromEntries(
    Object.entries(req.headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())),
  );
  const upstream = request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: { ...headers, "content-length": String(body.length) },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, filterHeaders(answer.headers));
      answer.pipe(res);
      answer.on("error", () => res.destroy());
    },
  );
  // A fake that is `down` destroys the socket: the gateway must see the same network error.
  upstream.on("error", () => {
    if (!res.writableEnded) res.destroy();
  });
  const cut = (): void => {
    polls?.delete(cut);
    if (res.headersSent) return;
    upstream.destroy();
    sendOk(res, []);
  };
  polls?.add(cut);
  // A gateway that gives up on a long poll ends it at Telegram too, as a direct call would.
  res.on("close", () => {
    polls?.delete(cut);
    if (!res.writableFinished) upstream.destroy();
  });
  upstream.end(body);
}

function filterHeaders(headers: IncomingMessage["headers"]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name.toLowerCase())) out[name] = value;
  }
  return out;
}

function isGetUpdates(url: string): boolean {
  const path = url.split("?")[0] ?? "";
  return /^\/bot[^/]+\/getupdates$/i.test(path);
}

/** The poll's `timeout` (seconds) from the query, a JSON body or a form body. */
function pollTimeoutMs(url: string, body: Buffer): number {
  const fromQuery = new URL(url, "http://relay.invalid").searchParams.get("timeout");
  let seconds = fromQuery === null ? Number.NaN : Number(fromQuery);
  if (!Number.isFinite(seconds) && body.length > 0) {
    const text = body.toString("utf8");
    try {
      seconds = Number((JSON.parse(text) as { timeout?: unknown }).timeout);
    } catch {
      seconds = Number(new URLSearchParams(text).get("timeout"));
    }
  }
  const ms = Number.isFinite(seconds) && seconds > 0 ? seconds * 1_000 : 0;
  return Math.min(ms, MAX_HOLD_MS);
}

function sendOk(res: ServerResponse, result: unknown): void {
  const text = JSON.stringify({ ok: true, result });
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}
