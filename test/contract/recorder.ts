import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

/** One request a client sent and the answer the local cloud gave it, as seen on the wire. */
export interface Exchange {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: Buffer;
  status: number;
  responseHeaders: Record<string, string>;
  responseBody: Buffer;
}

export interface Recorder {
  readonly url: string;
  readonly exchanges: Exchange[];
  close(): Promise<void>;
}

function flat(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

/**
 * A loopback proxy in front of one local service: forwards each request unchanged (the Host
 * header too, so SDK-HMAC and OBS signatures still verify) and keeps both sides.
 */
export async function startRecorder(upstream: string): Promise<Recorder> {
  const target = new URL(upstream);
  const exchanges: Exchange[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? "/", "http://recorder");
      const forward = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (up) => {
          const answer: Buffer[] = [];
          up.on("data", (c: Buffer) => answer.push(c));
          up.on("end", () => {
            const responseBody = Buffer.concat(answer);
            exchanges.push({
              method: req.method ?? "GET",
              path: url.pathname,
              query: url.searchParams,
              headers: flat(req.headers),
              body,
              status: up.statusCode ?? 0,
              responseHeaders: flat(up.headers),
              responseBody,
            });
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(responseBody);
          });
        },
      );
      forward.on("error", () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
