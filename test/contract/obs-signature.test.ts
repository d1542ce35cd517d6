import type { LookupAddress, LookupOptions } from "node:dns";
import { Agent, createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import SdkObsClient from "esdk-obs-nodejs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DistinctHeaders,
  type ObsScheme,
  type SignedRequest,
  signV2,
  stringToSign,
} from "../../infra/local/obs-signing";
import { endpointOf, signRequest } from "../../shared/state/obs-request";
import { HARD_KEYS } from "./flows";

/**
 * OBS V2 header signatures three ways on the same requests: esdk-obs-nodejs (Huawei's own SDK),
 * our signer (shared/state/obs-request.ts) and the emulator's verifier (infra/local/obs-signing.ts).
 * Source: OBS API Reference, "Authentication of Signature in a Header"
 * (https://support.huaweicloud.com/intl/en-us/api-obs/obs_04_0010.html).
 */

const AK = "CONTRACTAK0000000001";
const SK = "contract-secret-key-0000000000000000000000";
const TOKEN = "contract-security-token/with+slash=";
const BUCKET = "clawwatch-state";

interface Captured {
  method: string;
  url: string;
  host: string;
  headers: DistinctHeaders;
}

let captured: Captured[] = [];
let server: ReturnType<typeof createServer>;
let port: number;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    req.resume();
    req.on("end", () => {
      captured.push({
        method: req.method ?? "",
        url: req.url ?? "",
        host: req.headers.host ?? "",
        headers: req.headersDistinct,
      });
      res.writeHead(200, { etag: '"0"', "content-type": "application/json", "content-length": 2 });
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Every host name resolves to loopback, so the SDK can use virtual-host style (the real one). */
function loopbackAgent(): Agent {
  const lookup = (
    _host: string,
    options: LookupOptions,
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    if (options.all) callback(null, [{ address: "127.0.0.1", family: 4 }]);
    else callback(null, "127.0.0.1", 4);
  };
  return new Agent({ lookup });
}

/** What esdk-obs-nodejs sends for put and get of `key`. */
async function sdkRequests(key: string, server: string, token?: string): Promise<Captured[]> {
  captured = [];
  const agent = loopbackAgent();
  const sdk = new SdkObsClient({
    access_key_id: AK,
    secret_access_key: SK,
    ...(token ? { security_token: token } : {}),
    server,
    signature: "obs",
    is_signature_negotiation: false,
    max_retry_count: 0,
    http_agent: agent,
  });
  // The SDK finishes setting itself up on the next tick (local-obs.test.ts does the same).
  await new Promise<void>((resolve) => setImmediate(resolve));
  await sdk.putObject({ Bucket: BUCKET, Key: key, Body: "{}", ContentType: "application/json" });
  await sdk.getObject({ Bucket: BUCKET, Key: key });
  sdk.close();
  agent.destroy();
  return captured;
}

function schemeOf(headers: DistinctHeaders): { scheme: ObsScheme; ak: string; sig: string } {
  const m = /^(OBS|AWS) ([^:]+):(\S+)$/.exec(headers.authorization?.[0] ?? "");
  if (!m) throw new Error(`no V2 Authorization header: ${headers.authorization?.[0]}`);
  return { scheme: m[1] as ObsScheme, ak: m[2] as string, sig: m[3] as string };
}

function asSigned(c: Captured, virtualHost: boolean): SignedRequest {
  const bucket = virtualHost ? c.host.split(".")[0] : undefined;
  return {
    method: c.method,
    url: c.url,
    headers: c.headers,
    ...(bucket ? { hostBucket: bucket } : {}),
  };
}

/** Our signer's request for the same call, at the same instant as the SDK's. */
function ourRequest(c: Captured, serverUrl: string, key: string, token?: string): SignedRequest {
  const date = c.headers["x-obs-date"]?.[0] ?? c.headers["x-amz-date"]?.[0] ?? c.headers.date?.[0];
  const endpoint = endpointOf(new URL(serverUrl));
  const signed = signRequest(
    endpoint,
    {
      method: c.method as "GET" | "PUT",
      bucket: BUCKET,
      key,
      ...(c.method === "PUT" ? { contentType: "application/json" } : {}),
    },
    { ak: AK, sk: SK, securityToken: token },
    new Date(date ?? ""),
  );
  const url = new URL(signed.url);
  const headers: DistinctHeaders = {};
  for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = [v];
  const hostBucket = endpoint.pathStyle ? undefined : url.hostname.split(".")[0];
  return {
    method: signed.method,
    url: `${url.pathname}${url.search}`,
    headers,
    ...(hostBucket ? { hostBucket } : {}),
  };
}

const CASES = [
  // The production shape: a domain name → virtual-host style with the OBS scheme (x-obs-*).
  {
    name: "virtual host, OBS scheme",
    server: () => `http://obs.contract.example.com:${port}`,
    virtualHost: true,
  },
  // The local cloud's shape: an IP → path style with the AWS scheme (x-amz-*).
  { name: "path style, AWS scheme", server: () => `http://127.0.0.1:${port}`, virtualHost: false },
];

describe("OBS V2 signature: esdk-obs-nodejs, our signer and the emulator agree", () => {
  it("the emulator's string-to-sign is the published example", () => {
    // OBS API Reference, "Authentication of Signature in a Header", table "GET /object.txt".
    const text = stringToSign(
      {
        method: "GET",
        url: "/object.txt",
        headers: { date: ["Sat, 12 Oct 2015 08:12:38 GMT"] },
        hostBucket: "bucket",
      },
      "OBS",
    );
    expect(text).toBe("GET\n\n\nSat, 12 Oct 2015 08:12:38 GMT\n/bucket/object.txt");
  });

  for (const c of CASES) {
    for (const token of [undefined, TOKEN]) {
      it(`${c.name}${token ? ", temporary key" : ""}: hard keys sign the same three ways`, async () => {
        for (const key of HARD_KEYS) {
          const sent = await sdkRequests(key, c.server(), token);
          expect(sent.map((s) => s.method)).toEqual(["PUT", "GET"]);
          for (const s of sent) {
            const sdk = asSigned(s, c.virtualHost);
            const { scheme, ak, sig } = schemeOf(s.headers);
            expect(ak).toBe(AK);
            expect(scheme).toBe(c.virtualHost ? "OBS" : "AWS");
            const prefix = scheme === "OBS" ? "x-obs-" : "x-amz-";
            if (token) expect(s.headers[`${prefix}security-token`]).toEqual([token]);
            // 1. the emulator rebuilds the SDK's string-to-sign exactly (same HMAC).
            expect(signV2(SK, stringToSign(sdk, scheme))).toBe(sig);
            // 2. our signer puts the key in the canonical resource as the SDK does.
            const ours = ourRequest(s, c.server(), key, token);
            const ourSig = schemeOf(ours.headers);
            expect(ourSig.scheme).toBe(scheme);
            expect(stringToSign(ours, scheme).split("\n").at(-1)).toBe(
              stringToSign(sdk, scheme).split("\n").at(-1),
            );
            // 3. and the emulator accepts our signature; the token is signed, not just sent.
            const ourText = stringToSign(ours, scheme);
            expect(signV2(SK, ourText)).toBe(ourSig.sig);
            if (token) expect(ourText).toContain(`${prefix}security-token:${token}\n`);
          }
        }
      });
    }
  }
});
