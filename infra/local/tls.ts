import { randomInt } from "node:crypto";
import { createServer as createHttpsServer, request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { generate } from "selfsigned";
import { type Handler, type Listening, requestListener } from "./http";

/**
 * HTTPS on an address Telegram would deliver webhooks to. Telegram accepts only HTTPS on ports
 * 80, 88, 443 or 8443 (tdlib/telegram-bot-api WebhookActor.cpp); 8443 is the one a non-root
 * process may bind. Several local clouds (parallel test files, other checkouts) share one
 * machine, so each HTTPS front takes 8443 on its own address in 127.0.0.0/8: all of it is
 * loopback on Linux, nothing leaves the machine.
 */
export const HTTPS_WEBHOOK_PORT = 8443;

export interface Certificate {
  /** PEM. */
  key: string;
  /** PEM; hand it to the Telegram fake's `trustedCertificates`. */
  cert: string;
}

/**
 * A throw-away self-signed P-256 certificate for `ip`, made in-process (selfsigned, on Node's
 * WebCrypto) so the local cloud needs no OpenSSL command on the machine.
 */
export async function selfSignedCertificate(ip: string): Promise<Certificate> {
  const now = Date.now();
  const pems = await generate([{ name: "commonName", value: "clawwatch local APIG" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + 2 * 86_400_000),
    extensions: [{ name: "subjectAltName", altNames: [{ type: 7, ip }] }],
  });
  return { key: pems.private, cert: pems.cert };
}

export interface HttpsListening extends Listening {
  readonly certificate: Certificate;
}

/**
 * Starts an HTTPS server on 127.a.b.c:8443 with a fresh self-signed certificate; retries another
 * address when that one is taken. Handler errors become 500s, as in listen().
 */
export async function listenHttps(handler: Handler): Promise<HttpsListening> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 20; attempt++) {
    const host = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    const certificate = await selfSignedCertificate(host);
    try {
      return await bind(handler, host, certificate);
    } catch (error) {
      if ((error as { code?: unknown }).code !== "EADDRINUSE") throw error;
      lastError = error;
    }
  }
  throw new Error(`no free loopback address for HTTPS on port ${HTTPS_WEBHOOK_PORT}`, {
    cause: lastError,
  });
}

async function bind(
  handler: Handler,
  host: string,
  certificate: Certificate,
): Promise<HttpsListening> {
  const server = createHttpsServer(certificate, requestListener(handler));
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(HTTPS_WEBHOOK_PORT, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://${host}:${port}`,
    port,
    server,
    certificate,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface HttpsAnswer {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * One HTTPS request that trusts only `ca` (global fetch cannot take a CA without undici): how the
 * Telegram fake delivers webhooks and how tests call the local APIG's HTTPS front.
 */
export function requestHttps(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    ca: readonly string[];
    signal?: AbortSignal;
  },
): Promise<HttpsAnswer> {
  const body = options.body ?? "";
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: options.method ?? "GET",
        headers: { ...options.headers, "content-length": String(Buffer.byteLength(body)) },
        ca: [...options.ca],
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? "",
            headers: Object.fromEntries(
              Object.entries(res.headers).map(([name, value]) => [name, String(value)]),
            ),
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
