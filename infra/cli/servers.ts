import { randomUUID } from "node:crypto";
import {
  CreatePostPaidServersRequest,
  CreatePostPaidServersRequestBody,
  DeleteServersRequest,
  DeleteServersRequestBody,
  type EcsClient,
  ListServersDetailsRequest,
  PostPaidServer,
  PostPaidServerDataVolume,
  PostPaidServerEip,
  PostPaidServerEipBandwidth,
  PostPaidServerNic,
  PostPaidServerPublicip,
  PostPaidServerRootVolume,
  PostPaidServerSecurityGroup,
  PostPaidServerTag,
  ServerId,
  ShowJobRequest,
  ShowServerRequest,
} from "@huaweicloud/huaweicloud-sdk-ecs";
import { ClawwatchError } from "../../shared/errors";
import { formatDuration } from "../../shared/policy/text";
import type { ServerSpec } from "./deployment";
import type { CliIo } from "./io";

export class InfraError extends ClawwatchError {}

/** A server as ListServersDetails / ShowServer answer it (snake_case JSON, not the typed getters). */
export interface ServerJson {
  id: string;
  name: string;
  status: string;
  addresses?: Record<string, { addr?: string; "OS-EXT-IPS:type"?: string }[]>;
  flavor?: { id?: string };
  "OS-EXT-STS:task_state"?: string | null;
  security_groups?: { name?: string; id?: string }[];
  /** server_tags as "key=value" (ServerDetail.tags). */
  tags?: string[];
}

interface JobJson {
  job_id?: string;
  status?: string;
  fail_reason?: string | null;
  error_code?: string | null;
  entities?: { sub_jobs?: { entities?: { server_id?: string } }[] };
}

/** The server with exactly this name (ECS matches names as substrings), DELETED ones aside. */
export async function findServer(ecs: EcsClient, name: string): Promise<ServerJson | undefined> {
  const res = await ecsCall<{ servers?: ServerJson[] }>("list servers", () =>
    ecs.listServersDetails(new ListServersDetailsRequest().withName(name).withLimit(1000)),
  );
  const exact = (res.servers ?? []).filter((s) => s.name === name && s.status !== "DELETED");
  if (exact.length > 1) {
    throw new InfraError(
      `${exact.length} servers are named "${name}" (${exact.map((s) => s.id).join(", ")}); rename or delete the extras so the name identifies one box`,
    );
  }
  return exact[0];
}

export async function showServer(ecs: EcsClient, id: string): Promise<ServerJson> {
  const res = await ecsCall<{ server?: ServerJson }>("show server", () =>
    ecs.showServer(new ShowServerRequest().withServerId(id)),
  );
  if (!res.server) throw new InfraError(`ECS returned no server ${id}; check the ECS console`);
  return res.server;
}

/** Fixed (VPC) and floating (EIP) IPv4 addresses of a server. */
export function addressesOf(server: ServerJson): { fixed: string[]; floating: string[] } {
  const all = Object.values(server.addresses ?? {}).flat();
  const of = (type: string) =>
    all.filter((a) => a["OS-EXT-IPS:type"] === type && a.addr).map((a) => a.addr as string);
  const fixed = of("fixed");
  // Addresses without a type (some regions, the local cloud) are the VPC address.
  const untyped = all.filter((a) => !a["OS-EXT-IPS:type"] && a.addr).map((a) => a.addr as string);
  return { fixed: [...fixed, ...untyped], floating: of("floating") };
}

export interface CreateServerInput {
  spec: ServerSpec;
  securityGroupId: string | undefined;
  userDataBase64: string;
  dryRun: boolean;
}

/** The CreatePostPaidServers request (pay-per-use) for this spec. */
export function createServerRequest(input: CreateServerInput): CreatePostPaidServersRequest {
  const { spec } = input;
  const server = new PostPaidServer()
    .withName(spec.name)
    .withFlavorRef(spec.flavor)
    .withImageRef(spec.image)
    .withVpcid(spec.vpcId)
    .withNics([new PostPaidServerNic().withSubnetId(spec.subnetId)])
    .withRootVolume(
      new PostPaidServerRootVolume()
        .withVolumetype(spec.rootDisk.type)
        .withSize(spec.rootDisk.sizeGb),
    )
    .withDataVolumes([
      new PostPaidServerDataVolume()
        .withVolumetype(spec.dataDisk.type)
        .withSize(spec.dataDisk.sizeGb)
        // The workspace outlives the server unless `destroy --delete-data-disk` says otherwise.
        .withDeleteOnTermination(false),
    ])
    .withUserData(input.userDataBase64)
    .withServerTags([new PostPaidServerTag().withKey("managed-by").withValue("clawwatch")])
    .withCount(1);
  if (input.securityGroupId)
    server.withSecurityGroups([new PostPaidServerSecurityGroup().withId(input.securityGroupId)]);
  if (spec.keyPair) server.withKeyName(spec.keyPair);
  if (spec.availabilityZone) server.withAvailabilityZone(spec.availabilityZone);
  if (spec.eip) {
    server.withPublicip(
      new PostPaidServerPublicip()
        .withDeleteOnTermination(true)
        .withEip(
          new PostPaidServerEip()
            .withIptype(spec.eip.type)
            .withBandwidth(
              new PostPaidServerEipBandwidth()
                .withSharetype("PER")
                .withSize(spec.eip.bandwidthMbit)
                .withChargemode(spec.eip.chargeMode),
            ),
        ),
    );
  }
  return (
    new CreatePostPaidServersRequest()
      // Lets ECS drop a duplicate if this very request is sent twice; adoption by name covers reruns.
      .withXClientToken(randomUUID())
      .withBody(new CreatePostPaidServersRequestBody().withDryRun(input.dryRun).withServer(server))
  );
}

/** Creates the server (or, with dryRun, has ECS validate the request); returns the job. */
export async function createServer(
  ecs: EcsClient,
  input: CreateServerInput,
): Promise<{ jobId?: string; serverIds: string[] }> {
  const what = input.dryRun ? "validate create (dry run)" : "create server";
  const res = await ecsCall<{ job_id?: string; serverIds?: string[] }>(what, () =>
    ecs.createPostPaidServers(createServerRequest(input)),
  );
  return { ...(res.job_id ? { jobId: res.job_id } : {}), serverIds: res.serverIds ?? [] };
}

export async function deleteServer(
  ecs: EcsClient,
  id: string,
  options: { deleteDataDisk: boolean },
): Promise<string> {
  const res = await ecsCall<{ job_id?: string }>("delete server", () =>
    ecs.deleteServers(
      new DeleteServersRequest().withBody(
        new DeleteServersRequestBody()
          .withServers([new ServerId().withId(id)])
          .withDeleteVolume(options.deleteDataDisk)
          .withDeletePublicip(true),
      ),
    ),
  );
  if (!res.job_id) throw new InfraError("ECS accepted the delete but returned no job id");
  return res.job_id;
}

/** Polls ShowJob until it ends, showing its status as it goes; throws when it failed. */
export async function waitForJob(
  ecs: EcsClient,
  jobId: string,
  what: string,
  io: CliIo,
  options: { pollMs: number; timeoutMs?: number },
): Promise<JobJson> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 20 * 60_000;
  for (;;) {
    const job = await ecsCall<JobJson>("show job", () =>
      ecs.showJob(new ShowJobRequest().withJobId(jobId)),
    );
    io.status(
      `${what}: job ${jobId} ${job.status ?? "?"} (${formatDuration(Date.now() - started)})`,
    );
    if (job.status === "SUCCESS") {
      io.out(`${what}: done in ${formatDuration(Date.now() - started)}`);
      return job;
    }
    if (job.status === "FAIL") {
      io.out(`${what}: failed`);
      throw new InfraError(
        `${what} failed (job ${jobId}): ${job.fail_reason ?? job.error_code ?? "no reason given"}; see the ECS console's task list`,
      );
    }
    if (Date.now() - started > timeoutMs) {
      throw new InfraError(
        `${what} still ${job.status} after ${Math.round(timeoutMs / 60_000)} min (job ${jobId}); check the ECS console`,
      );
    }
    await new Promise((r) => setTimeout(r, options.pollMs));
  }
}

interface SdkError {
  httpStatusCode?: unknown;
  errorCode?: string;
  errorMsg?: string;
  message?: string;
}

/** SDK errors carry the request (credentials too): keep status, code and message only. */
export async function ecsCall<T = unknown>(what: string, fn: () => Promise<unknown>): Promise<T> {
  try {
    return (await fn()) as T;
  } catch (error) {
    throw sdkError("ECS", what, error);
  }
}

export function sdkError(service: string, what: string, error: unknown): InfraError {
  const e = error as SdkError;
  const status = Number(e.httpStatusCode);
  const detail = e.httpStatusCode
    ? `HTTP ${String(e.httpStatusCode)} ${e.errorCode ?? ""} ${e.errorMsg ?? ""}`.trim()
    : (e.errorMsg ?? e.message ?? "unreachable");
  const advice =
    status === 401
      ? "; check HUAWEICLOUD_SDK_AK/SK"
      : status === 403
        ? `; the user needs ${service} permissions in this project`
        : "";
  return new InfraError(`${service} ${what} failed: ${detail}${advice}`, {
    cause: { status: e.httpStatusCode, code: e.errorCode },
  });
}
