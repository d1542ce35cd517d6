/**
 * The ECS adapter of the Compute port. Loaded lazily (`import("./ecs.lazy")`): the ECS SDK costs
 * ~85 ms of cold start, which a healthy cycle never pays. build.mjs bundles it as its own chunk.
 */
import { BatchRebootServersRequest } from "@huaweicloud/huaweicloud-sdk-ecs/v2/model/BatchRebootServersRequest";
import { BatchRebootServersRequestBody } from "@huaweicloud/huaweicloud-sdk-ecs/v2/model/BatchRebootServersRequestBody";
import { BatchRebootSeversOption } from "@huaweicloud/huaweicloud-sdk-ecs/v2/model/BatchRebootSeversOption";
import { BatchStartServersOption } from "@huaweicloud/huaweicloud-sdk-ecs/v2/model/BatchStartServersOption";
import { BatchStartServersRequest } from "@huaweicloud/huaweicloud-sdk-ecs/v2/model/BatchStartServersRequest";
import { BatchStartServersRequestBody } from "@huaweicloud/huaweicloud-sdk-ecs/v2/model/BatchStartServersRequestBody";
import { ReinstallServerWithCloudInitOption } from "@huaweicloud/huaweicloud-sdk-ecs/v2/model/ReinstallServerWithCloudInitOption";
import { ReinstallServerWithCloudInitRequest } from "@huaweicloud/huaweicloud-sdk-ecs/v2/model/ReinstallServerWithCloudInitRequest";
import { ReinstallServerWithCloudInitRequestBody } from "@huaweicloud/huaweicloud-sdk-ecs/v2/model/ReinstallServerWithCloudInitRequestBody";
import { ReinstallSeverMetadata } from "@huaweicloud/huaweicloud-sdk-ecs/v2/model/ReinstallSeverMetadata";
import { ServerId } from "@huaweicloud/huaweicloud-sdk-ecs/v2/model/ServerId";
import { ShowJobRequest } from "@huaweicloud/huaweicloud-sdk-ecs/v2/model/ShowJobRequest";
import { ShowServerRequest } from "@huaweicloud/huaweicloud-sdk-ecs/v2/model/ShowServerRequest";
import { ComputeError } from "../errors";
import { BODY_LIMITS, describeBytes } from "../runtime/bounded-body";
import {
  type Compute,
  type JobInfo,
  type JobStatus,
  SERVER_STATUSES,
  type ServerInfo,
  type ServerStatus,
} from "./compute";
import { createEcsClient, type EcsClientOptions } from "./ecs-client";

interface ShowServerJson {
  server?: {
    id?: string;
    name?: string;
    status?: string;
    "OS-EXT-STS:task_state"?: string | null;
    key_name?: string | null;
    user_id?: string | null;
  };
}
interface JobJson {
  job_id?: string;
  status?: string;
  fail_reason?: string | null;
}

export const JOB_STATUSES: readonly JobStatus[] = ["INIT", "RUNNING", "SUCCESS", "FAIL"];

export interface EcsComputeOptions extends EcsClientOptions {
  /** Pause before the single retry of a throttled, 5xx or unreachable call. */
  retryDelayMs?: number;
}

export function createEcsCompute(options: EcsComputeOptions): Compute {
  const client = createEcsClient(options);
  const delay = options.retryDelayMs ?? 500;
  const call = <T>(what: string, fn: () => Promise<unknown>) =>
    withRetry(what, fn, delay, isRetryable) as Promise<T>;
  // A start/reboot/reinstall that timed out may have been accepted: sending it again would get a
  // 409 and hide the running job. Only an explicit "not now" (429/503) is safe to repeat.
  const jobOf = async (what: string, fn: () => Promise<unknown>) => {
    const res = (await withRetry(what, fn, delay, isRefusal)) as JobJson;
    if (!res.job_id)
      throw new ComputeError(`ECS ${what} returned no job id; check the ECS console`);
    return { jobId: res.job_id };
  };
  const servers = (serverId: string) => [new ServerId().withId(serverId)];

  const show = (serverId: string) =>
    call<ShowServerJson>("show server", () =>
      client.showServer(new ShowServerRequest().withServerId(serverId)),
    );

  return {
    async showServer(serverId): Promise<ServerInfo> {
      const server = (await show(serverId)).server ?? {};
      const taskState = server["OS-EXT-STS:task_state"] ?? undefined;
      return {
        id: server.id ?? serverId,
        name: server.name ?? "",
        status: serverStatus(server.status),
        ...(taskState ? { taskState } : {}),
      };
    },
    start: (serverId) =>
      jobOf("start", () =>
        client.batchStartServers(
          new BatchStartServersRequest().withBody(
            new BatchStartServersRequestBody().withOsStart(
              new BatchStartServersOption().withServers(servers(serverId)),
            ),
          ),
        ),
      ),
    reboot: (serverId, type) =>
      jobOf(`${type.toLowerCase()} reboot`, () =>
        client.batchRebootServers(
          new BatchRebootServersRequest().withBody(
            new BatchRebootServersRequestBody().withReboot(
              new BatchRebootSeversOption().withType(type).withServers(servers(serverId)),
            ),
          ),
        ),
      ),
    async reinstall(serverId, userDataBase64) {
      // A reinstall sets the new system's login from this request only: without the key pair
      // the box was created with, it would come back with no SSH key.
      const server = (await show(serverId)).server ?? {};
      const option = new ReinstallServerWithCloudInitOption()
        .withMetadata(new ReinstallSeverMetadata().withUserData(userDataBase64))
        .withMode("withStopServer");
      if (server.key_name) {
        option.withKeyname(server.key_name);
        // The key pair belongs to the user who created the server (ShowServer's user_id).
        if (server.user_id) option.withUserid(server.user_id);
      }
      return jobOf("reinstall", () =>
        client.reinstallServerWithCloudInit(
          new ReinstallServerWithCloudInitRequest()
            .withServerId(serverId)
            .withBody(new ReinstallServerWithCloudInitRequestBody().withOsReinstall(option)),
        ),
      );
    },
    async showJob(jobId): Promise<JobInfo> {
      const res = await call<JobJson>("show job", () =>
        client.showJob(new ShowJobRequest().withJobId(jobId)),
      );
      const status = JOB_STATUSES.find((s) => s === res.status) ?? "RUNNING";
      return { id: jobId, status, ...(res.fail_reason ? { failReason: res.fail_reason } : {}) };
    },
  };
}

function serverStatus(value: string | undefined): ServerStatus {
  return SERVER_STATUSES.find((s) => s === value) ?? "UNKNOWN";
}

interface SdkError {
  httpStatusCode?: string | number;
  errorCode?: string;
  errorMsg?: string;
  message?: string;
}

function isRefusal(error: SdkError): boolean {
  const status = Number(error.httpStatusCode);
  return status === 429 || status === 503;
}

function isRetryable(error: SdkError): boolean {
  const status = Number(error.httpStatusCode);
  return !Number.isFinite(status) || status === 0 || status === 429 || status >= 500;
}

async function withRetry(
  what: string,
  fn: () => Promise<unknown>,
  delayMs: number,
  retryable: (error: SdkError) => boolean,
) {
  try {
    return await fn();
  } catch (first) {
    if (!retryable(first as SdkError)) throw toComputeError(what, first);
    await new Promise((r) => setTimeout(r, delayMs));
    try {
      return await fn();
    } catch (second) {
      throw toComputeError(what, second);
    }
  }
}

/** The SDK's exceptions carry the request config; keep only status, code and message. */
function toComputeError(what: string, error: unknown): ComputeError {
  const e = error as SdkError;
  const status = e.httpStatusCode;
  const said = e.errorMsg ?? e.message ?? "unreachable";
  // axios stopped reading past BODY_LIMITS.ecs (see huawei-sdk.ts sdkOptions).
  const tooLarge = /maxContentLength size of \d+ exceeded/.test(said);
  const summary = tooLarge
    ? `answer too large: more than ${describeBytes(BODY_LIMITS.ecs)}, cut off unread`
    : status
      ? `HTTP ${status} ${e.errorCode ?? ""} ${e.errorMsg ?? ""}`.trim()
      : said;
  const advice =
    status === 401 || status === 403
      ? "check the function agency's ECS permissions"
      : status === 404
        ? "check the server id in the config"
        : "it will be retried next cycle";
  return new ComputeError(`ECS ${what} failed: ${summary}; ${advice}`, {
    cause: { status, code: e.errorCode },
  });
}
