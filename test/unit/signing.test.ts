import { createHash, createHmac } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { Iam } from "../../infra/local/iam";
import { MAX_SKEW_MS, sdkCanonicalRequest, verifySdkHmac } from "../../infra/local/signing";

// The fixed test vector of reference/huawei-cloud-facts.md §3 (SDK signer and an independent
// implementation agree on it).
const AK = "TESTAK";
const SK = "TESTSK";
const DATE = "20240101T000000Z";
const NOW = Date.UTC(2024, 0, 1);
const URL_SENT = "/v1/proj123/cloudservers/action?b=x%20y&a=2&a=1";
const BODY = Buffer.from('{"reboot":{"servers":[{"id":"srv-1"}],"type":"SOFT"}}');
const SIGNED_HEADERS = "content-type;host;x-project-id;x-sdk-date";
const HEADERS = {
  "content-type": "application/json",
  host: "127.0.0.1:18080",
  "x-project-id": "proj123",
  "x-sdk-date": DATE,
};
const CANONICAL_REQUEST =
  "POST\n/v1/proj123/cloudservers/action/\na=1&a=2&b=x%20y\ncontent-type:application/json\nhost:127.0.0.1:18080\nx-project-id:proj123\nx-sdk-date:20240101T000000Z\n\ncontent-type;host;x-project-id;x-sdk-date\n203a54e046d58926cc905a4fd428eaa3263c01e94d8ee1c549ef77fdd75dd222";
const STRING_TO_SIGN =
  "SDK-HMAC-SHA256\n20240101T000000Z\nb89f29fec7e3847972a7d725bda9ea83fbe8d39bee76ca322808061d4b3e2294";
const SIGNATURE = "489cf578efcf54edde9742d53d2bf01e8b6cf38a740cd596b878a5c1f7a67aaa";

const sha256hex = (text: string): string => createHash("sha256").update(text).digest("hex");

function request(headers: Record<string, string>, url = URL_SENT): IncomingMessage {
  return { method: "POST", url, headers } as unknown as IncomingMessage;
}

function signed(extra: Record<string, string> = {}, signature = SIGNATURE): IncomingMessage {
  return request({
    ...HEADERS,
    ...extra,
    authorization: `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=${SIGNED_HEADERS}, Signature=${signature}`,
  });
}

describe("SDK-HMAC-SHA256 test vector", () => {
  it("builds the canonical request of the reference", () => {
    expect(sdkCanonicalRequest("POST", URL_SENT, HEADERS, SIGNED_HEADERS, BODY)).toBe(
      CANONICAL_REQUEST,
    );
  });

  it("derives the reference string to sign and signature from it", () => {
    const stringToSign = ["SDK-HMAC-SHA256", DATE, sha256hex(CANONICAL_REQUEST)].join("\n");
    expect(stringToSign).toBe(STRING_TO_SIGN);
    expect(createHmac("sha256", SK).update(stringToSign).digest("hex")).toBe(SIGNATURE);
  });

  it("accepts the reference request", () => {
    const iam = new Iam({ ak: AK, sk: SK });
    expect(verifySdkHmac(signed(), BODY, iam, NOW)).toMatchObject({
      ok: true,
      credential: { ak: AK },
    });
    expect(verifySdkHmac(signed(), BODY, iam, NOW + MAX_SKEW_MS)).toMatchObject({ ok: true });
  });
});

describe("verifySdkHmac rejections", () => {
  const iam = new Iam({ ak: AK, sk: SK });

  it("rejects a different secret key, body or query", () => {
    const otherKey = new Iam({ ak: AK, sk: "OTHERSK" });
    expect(verifySdkHmac(signed(), BODY, otherKey, NOW)).toMatchObject({ ok: false, status: 401 });
    expect(verifySdkHmac(signed(), Buffer.from("{}"), iam, NOW)).toMatchObject({ ok: false });
    const moved = request(
      {
        ...HEADERS,
        authorization: `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=${SIGNED_HEADERS}, Signature=${SIGNATURE}`,
      },
      "/v1/proj123/cloudservers/action?a=1",
    );
    expect(verifySdkHmac(moved, BODY, iam, NOW)).toMatchObject({ ok: false });
  });

  it("rejects a request dated more than 15 minutes away", () => {
    const late = verifySdkHmac(signed(), BODY, iam, NOW + MAX_SKEW_MS + 1_000);
    expect(late).toMatchObject({ ok: false, status: 401 });
    expect(late.ok ? "" : late.message).toMatch(/skew/);
    expect(verifySdkHmac(signed(), BODY, iam, NOW - 20 * 60_000)).toMatchObject({ ok: false });
  });

  it("rejects an unknown AK and a missing Authorization header", () => {
    expect(verifySdkHmac(signed(), BODY, new Iam(), NOW)).toMatchObject({
      ok: false,
      code: "APIGW.0301",
    });
    expect(verifySdkHmac(request(HEADERS), BODY, iam, NOW)).toMatchObject({
      ok: false,
      status: 401,
    });
  });

  it("requires host and x-sdk-date among the signed headers", () => {
    const unsigned = request({
      ...HEADERS,
      authorization: `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=content-type;x-project-id, Signature=${SIGNATURE}`,
    });
    expect(verifySdkHmac(unsigned, BODY, iam, NOW)).toMatchObject({ ok: false });
  });

  it("requires the security token of temporary credentials, signed", () => {
    const tempIam = new Iam();
    const temp = tempIam.issueTemporary(undefined, NOW);
    const names = `${SIGNED_HEADERS};x-security-token`;
    const sign = (token: string): IncomingMessage => {
      const headers = { ...HEADERS, "x-security-token": token };
      const canonical = sdkCanonicalRequest("POST", URL_SENT, headers, names, BODY);
      const signature = createHmac("sha256", temp.sk)
        .update(["SDK-HMAC-SHA256", DATE, sha256hex(canonical)].join("\n"))
        .digest("hex");
      return request({
        ...headers,
        authorization: `SDK-HMAC-SHA256 Access=${temp.ak}, SignedHeaders=${names}, Signature=${signature}`,
      });
    };
    expect(verifySdkHmac(sign(temp.securityToken), BODY, tempIam, NOW)).toMatchObject({ ok: true });
    expect(verifySdkHmac(sign("WRONG-TOKEN"), BODY, tempIam, NOW)).toMatchObject({
      ok: false,
      status: 401,
    });
  });
});
