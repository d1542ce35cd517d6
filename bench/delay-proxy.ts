import { Agent, request } from "node:http";
import { type Listening, listen, sleep } from "../infra/local/http";

/**
 * The stand-in gateway has no latency knob, so the gateway's network delay is a loopback HTTP
 * proxy in front of it: each request waits `delayMs` and is then passed on unchanged (no
 * X-Forwarded-For: the gateway refuses proxied probes), the answer streamed back. That is the
 * same "each request waits ms before it is answered" the other services' `latency` control
 * gives. A client that gives up (a probe timeout) aborts the upstream request too.
 */
export async function startDelayProxy(upstream: string, delayMs: number): Promise<Listening> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  const listening = await listen(async (req, res, body) => {
    await sleep(delayMs);
    if (res.destroyed) return;
    const headers = { ...req.headers, host: target.host };
    delete headers.connection;
    await new Promise<void>((resolve) => {
      const forward = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on("end", resolve);
          answer.on("error", () => resolve());
        },
      );
      forward.on("error", () => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
        resolve();
      });
      res.on("close", () => {
        if (!res.writableFinished) forward.destroy();
        resolve();
      });
      forward.end(body);
    });
  });
  return {
    ...listening,
    close: async () => {
      agent.destroy();
      await listening.close();
    },
  };
}
