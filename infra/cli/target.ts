import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { EcsClient } from "@huaweicloud/huaweicloud-sdk-ecs";
import { VpcClient, VpcRegion } from "@huaweicloud/huaweicloud-sdk-vpc";
import { createEcsClient } from "../../shared/cloud/ecs-client";
import { buildSdkClient, type HuaweiAuth } from "../../shared/cloud/huawei-sdk";
import { ConfigError } from "../../shared/errors";
import { createObsClient, type ObsClient } from "../../shared/state/obs-client";
import { createFunctionGraphClient } from "../deploy/fgs-client";
import type { Target } from "../deploy/functions";
import type { SignedEndpoint } from "../deploy/signed";
import type { Endpoints } from "../local/cloud";
import { controlRequest } from "../local/control";
import type { LocalOverrides, TargetKind } from "./deployment";

/** The local cloud's endpoints.json, plus the VPC emulator's URL once the local cloud has one. */
export type LocalEndpoints = Endpoints & { vpc?: string };

/** The clients one command needs, for real Huawei Cloud or the local cloud alike. */
export interface Cloud {
  readonly kind: TargetKind;
  readonly region: string;
  readonly projectId: string;
  readonly ecs: EcsClient;
  readonly functions: Target;
  /** Absent on a local cloud without the VPC emulator: network steps are then skipped. */
  readonly vpc: VpcClient | undefined;
  /** The dedicated API Gateway's management API (environment and API group lookups). */
  readonly apig: SignedEndpoint;
  /** How often to poll an ECS job. */
  readonly pollMs: number;
  /** Values never to print (AK/SK). */
  readonly secrets: readonly string[];
  /** The state bucket's OBS, with the same key (made on first use). */
  obs(): Promise<ObsClient>;
  /** Local only: endpoints and the control API (what the emulators expose beyond the APIs). */
  readonly local?: {
    endpoints: LocalEndpoints;
    control(service: string, action: string, params?: Record<string, unknown>): Promise<unknown>;
  };
}

export const DEFAULT_ENDPOINTS_FILE = ".local-cloud/endpoints.json";

export function readEndpoints(file = DEFAULT_ENDPOINTS_FILE): LocalEndpoints {
  try {
    return JSON.parse(readFileSync(resolve(file), "utf8")) as LocalEndpoints;
  } catch (cause) {
    throw new ConfigError(
      [
        `cannot read the local cloud's endpoints from ${file}: start it with \`npm run local-cloud\` or pass --endpoints <file>`,
      ],
      { cause },
    );
  }
}

export function localOverrides(e: LocalEndpoints): LocalOverrides {
  return {
    region: e.region,
    projectId: e.projectId,
    cloud: { ecsEndpoint: e.ecs, functionGraphEndpoint: e.functionGraph, obsEndpoint: e.obs },
    telegramApiRoot: e.telegram,
    maasBaseUrl: e.maasApi.baseUrl,
  };
}

export function localCloud(e: LocalEndpoints): Cloud {
  const auth: HuaweiAuth = { ...e.credentials, projectId: e.projectId };
  return {
    kind: "local",
    region: e.region,
    projectId: e.projectId,
    ecs: createEcsClient({ auth, endpoint: e.ecs }),
    functions: {
      client: createFunctionGraphClient({ auth, endpoint: e.functionGraph, timeoutMs: 120_000 }),
      api: { endpoint: e.functionGraph, auth },
      region: e.region,
      projectId: e.projectId,
    },
    vpc: e.vpc ? vpcClient(auth, { endpoint: e.vpc }) : undefined,
    apig: { endpoint: e.apigApi, auth },
    // ECS jobs run on the emulator's scaled clock.
    pollMs: Math.max(20, Math.round(2_000 * e.timeScale)),
    secrets: [e.credentials.sk],
    obs: once(() => createObsClient({ server: e.obs, ak: auth.ak, sk: auth.sk })),
    local: {
      endpoints: e,
      control: (service, action, params = {}) => controlRequest(e.control, service, action, params),
    },
  };
}

/** Real Huawei Cloud: region endpoints, AK/SK from the environment. */
export function huaweiCloud(
  env: Readonly<Record<string, string | undefined>>,
  region: string,
  projectId: string,
): Cloud {
  const ak = env.HUAWEICLOUD_SDK_AK;
  const sk = env.HUAWEICLOUD_SDK_SK;
  const missing = [
    ...(ak
      ? []
      : [
          "HUAWEICLOUD_SDK_AK: set it to the access key id (console → My Credentials → Access Keys)",
        ]),
    ...(sk ? [] : ["HUAWEICLOUD_SDK_SK: set it to the secret access key of that key"]),
  ];
  if (!ak || !sk) throw new ConfigError(missing);
  const auth: HuaweiAuth = {
    ak,
    sk,
    projectId,
    ...(env.HUAWEICLOUD_SDK_SECURITY_TOKEN
      ? { securityToken: env.HUAWEICLOUD_SDK_SECURITY_TOKEN }
      : {}),
  };
  return {
    kind: "huawei",
    region,
    projectId,
    ecs: createEcsClient({ auth, region, timeoutMs: 30_000 }),
    functions: {
      client: createFunctionGraphClient({ auth, region, timeoutMs: 120_000 }),
      // FunctionGraphRegion's endpoint, for the calls signed outside the SDK.
      api: { endpoint: `https://functiongraph.${region}.myhuaweicloud.com`, auth },
      region,
      projectId,
    },
    vpc: vpcClient(auth, { region }),
    apig: { endpoint: `https://apig.${region}.myhuaweicloud.com`, auth },
    pollMs: 3_000,
    secrets: [sk, ...(auth.securityToken ? [auth.securityToken] : [])],
    obs: once(() =>
      createObsClient({
        server: `https://obs.${region}.myhuaweicloud.com`,
        ak,
        sk,
        ...(auth.securityToken ? { securityToken: auth.securityToken } : {}),
      }),
    ),
  };
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

function vpcClient(auth: HuaweiAuth, where: { endpoint?: string; region?: string }): VpcClient {
  return buildSdkClient("VPC", VpcClient.newBuilder(), { auth, ...where }, VpcRegion, 30_000);
}
