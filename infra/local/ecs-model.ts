import type { GuestProcess } from "./ecs-guest";
import type { GatewayUnit } from "./ecs-unit";

/**
 * The ECS emulator's data: servers, jobs, how long each job takes, and the wire shapes
 * (ShowServer / ShowJob bodies, Huawei error bodies).
 */

export type ServerStatus =
  | "BUILD"
  | "ACTIVE"
  | "SHUTOFF"
  | "REBOOT"
  | "HARD_REBOOT"
  | "REBUILD"
  | "ERROR"
  | "DELETED";

/**
 * Emulated job durations in real-world milliseconds; the emulator passes each through
 * `time.scale()` (so 0.01 turns a 40 s soft reboot into 400 ms).
 *
 * | job                          | status while running     | task_state       | duration |
 * |------------------------------|--------------------------|------------------|----------|
 * | any (INIT before RUNNING)    | (unchanged)              | (see below)      | 1 s      |
 * | os-start                     | SHUTOFF → ACTIVE         | powering-on      | 20 s     |
 * | os-stop (SOFT / HARD)        | ACTIVE → SHUTOFF         | powering-off     | 15 s     |
 * | reboot SOFT                  | REBOOT → ACTIVE          | rebooting        | 40 s     |
 * | reboot HARD                  | HARD_REBOOT → ACTIVE     | rebooting_hard   | 20 s     |
 * | reinstallos (cloud-init)     | REBUILD → ACTIVE         | rebuilding       | 180 s    |
 * |   with mode withStopServer   | ACTIVE → SHUTOFF → …     | powering-off     | first 15 s of the 180 s |
 * | create (post-paid)           | BUILD → ACTIVE           | spawning         | 60 s     |
 * | delete                       | ACTIVE → DELETED         | deleting         | 10 s     |
 *
 * A soft stop or soft reboot sends SIGTERM to the guest and SIGKILLs it after `softStopGrace`
 * (as systemd does with a gateway that ignores SIGTERM, e.g. one that hangs).
 * The guest comes back at the end of the job; it then needs its own boot time before /readyz is 200.
 */
export const ECS_TIMINGS = {
  queue: 1_000,
  start: 20_000,
  stop: 15_000,
  softReboot: 40_000,
  hardReboot: 20_000,
  reinstall: 180_000,
  create: 60_000,
  delete: 10_000,
  softStopGrace: 10_000,
} as const;

/** Boot and channel-grace times of the real gateway (real-world ms), for building GuestDefaults. */
export const GATEWAY_TIMINGS = { boot: 10_000, telegramConnectGrace: 120_000 } as const;

export interface GuestSettings {
  telegramApiRoot: string;
  maasBaseUrl: string;
  maasApiKey: string;
  model: string;
  gatewayToken: string;
  telegramBotToken: string;
  /** Wall-clock ms from guest start until ready (not scaled again). */
  bootMs: number;
  /** Wall-clock ms the Telegram API may be unreachable before readiness fails (not scaled again). */
  connectGraceMs: number;
}

/** The local account's one IAM user, who owns every server and key pair. */
export const LOCAL_USER_ID = "clawwatch-local-user";

export interface ServerRecord {
  readonly id: string;
  name: string;
  status: ServerStatus;
  vmState: string;
  taskState: string | null;
  powerState: number;
  readonly created: string;
  updated: string;
  launchedAt: string;
  terminatedAt: string;
  readonly flavorRef: string;
  readonly imageRef: string;
  readonly metadata: Record<string, string>;
  /** server_tags given at create, as `key=value` (ServerDetail.tags). */
  readonly tags: readonly string[];
  /** The security groups given at create; none → the project's "default" group. */
  readonly securityGroupIds: readonly string[];
  /** Base64 user_data as last given (create or reinstall). */
  userData: string;
  /** The SSH key pair's name; "" for none. A reinstall sets it from its own request. */
  keyName: string;
  bootstrapRuns: number;
  readonly gatewayPort: number;
  readonly guestSettings: GuestSettings;
  /** The running gateway process of the current boot, if any (kept by `unit`). */
  guest: GuestProcess | undefined;
  /** The gateway's systemd unit for the current boot (a new one per boot, as systemd starts afresh). */
  unit: GatewayUnit | undefined;
  /** Faults of the workload itself: they survive reboots and reinstalls until `heal`. */
  readonly guestFaults: GuestFaults;
  boots: number;
  pollingStalled: boolean;
  hung: boolean;
  /** The job working on this server, if any: a second operation meanwhile is a 409. */
  jobId: string | undefined;
  fault: string | undefined;
}

export interface GuestFaults {
  /** crash-loop: every start is killed this long (wall-clock ms) after it listens. */
  crashLoopAfterMs: number | undefined;
  /** exit-config: the gateway's config is broken; every start exits 78. */
  exitConfig: boolean;
  /** oom-every: the gateway is SIGKILLed this often (wall-clock ms). */
  oomEveryMs: number | undefined;
  oomTimer: NodeJS.Timeout | undefined;
}

export type JobStatus = "INIT" | "RUNNING" | "SUCCESS" | "FAIL";

export interface SubJobRecord {
  readonly id: string;
  readonly type: string;
  readonly serverId: string;
  status: JobStatus;
  readonly beginTime: string;
  endTime: string;
  errorCode: string | null;
  failReason: string | null;
}

export interface JobRecord {
  readonly id: string;
  readonly type: string;
  status: JobStatus;
  readonly beginTime: string;
  endTime: string;
  errorCode: string | null;
  failReason: string | null;
  readonly subJobs: SubJobRecord[];
}

/** An ECS API error, answered as `{"error":{"code","message"}}`. */
export class EcsApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "EcsApiError";
  }

  body(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export const serverNotFound = (id: string): EcsApiError =>
  new EcsApiError(404, "Ecs.0114", `The ECS ${id} does not exist. Check the server ID.`);

export const invalidParameter = (detail: string): EcsApiError =>
  new EcsApiError(400, "Ecs.0005", `Invalid parameter values: ${detail}`);

export function wrongState(server: ServerRecord, operation: string): EcsApiError {
  const task = server.taskState === null ? "" : ` (task_state ${server.taskState})`;
  return new EcsApiError(
    409,
    "Ecs.0023",
    `Cannot ${operation} ECS ${server.id}: it is ${server.status}${task}. Wait for the running job or bring the server to a state that allows it.`,
  );
}

/** Huawei timestamps: seconds precision for servers, milliseconds for jobs. */
export const serverTime = (ms = Date.now()): string =>
  new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
export const jobTime = (ms = Date.now()): string => new Date(ms).toISOString();

const FLAVORS: Record<string, { vcpus: string; ram: string }> = {
  "s6.small.1": { vcpus: "1", ram: "1024" },
  "s6.medium.2": { vcpus: "1", ram: "2048" },
  "s6.large.2": { vcpus: "2", ram: "4096" },
  "s6.xlarge.2": { vcpus: "4", ram: "8192" },
};

/** The id the local ECS gives the "default" security group every server is in. */
const DEFAULT_SECURITY_GROUP_ID = "5e1e4a57-0000-4000-8000-00000000de7a";

/** The ShowServer / listServersDetails shape of one server. */
export function renderServer(server: ServerRecord, projectId: string): Record<string, unknown> {
  const flavor = FLAVORS[server.flavorRef] ?? { vcpus: "2", ram: "4096" };
  const rendered: Record<string, unknown> = {
    id: server.id,
    name: server.name,
    status: server.status,
    created: server.created,
    updated: server.updated,
    "OS-EXT-STS:vm_state": server.vmState,
    "OS-EXT-STS:task_state": server.taskState,
    "OS-EXT-STS:power_state": server.powerState,
    "OS-EXT-AZ:availability_zone": "local-1a",
    "OS-SRV-USG:launched_at": server.launchedAt,
    "OS-SRV-USG:terminated_at": server.terminatedAt,
    "OS-EXT-SRV-ATTR:hostname": server.name,
    "OS-EXT-SRV-ATTR:instance_name": `instance-${server.id.slice(0, 8)}`,
    addresses: {
      "local-vpc": [
        {
          version: "4",
          addr: "127.0.0.1",
          "OS-EXT-IPS:type": "fixed",
          "OS-EXT-IPS-MAC:mac_addr": macOf(server.id),
        },
      ],
    },
    // Keys the SDK's ServerDetail / ServerFlavor constructors list (ShowServer always returns
    // them, empty when unused): node_modules/@huaweicloud/huaweicloud-sdk-ecs/v2/model/ServerDetail.js.
    auto_terminate_time: "",
    "OS-EXT-SRV-ATTR:host": `host-${server.id.slice(0, 8)}`,
    "OS-EXT-SRV-ATTR:hypervisor_hostname": `hv-${server.id.slice(0, 8)}`,
    "OS-EXT-SRV-ATTR:launch_index": 0,
    "OS-EXT-SRV-ATTR:kernel_id": "",
    "OS-EXT-SRV-ATTR:ramdisk_id": "",
    "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
    config_drive: "",
    "os-extended-volumes:volumes_attached": [],
    flavor: {
      id: server.flavorRef,
      name: server.flavorRef,
      disk: "0",
      ...flavor,
      gpus: [],
      asic_accelerators: [],
    },
    image: { id: server.imageRef },
    metadata: { ...server.metadata },
    tenant_id: projectId,
    key_name: server.keyName,
    // The IAM user that created the server (ShowServer's user_id): the owner of its key pair.
    user_id: LOCAL_USER_ID,
    hostId: `host-${server.id.slice(0, 8)}`,
    host_status: server.status === "ERROR" ? "UNKNOWN" : "UP",
    progress: server.status === "BUILD" ? 0 : 100,
    accessIPv4: "",
    accessIPv6: "",
    locked: false,
    description: "",
    // ShowServer lists the server's groups; this emulator knows their ids, not their names
    // (they live in the VPC service), so it answers the id in both fields.
    security_groups:
      server.securityGroupIds.length > 0
        ? server.securityGroupIds.map((id) => ({ id, name: id }))
        : [{ name: "default", id: DEFAULT_SECURITY_GROUP_ID }],
    tags: [...server.tags],
  };
  if (server.fault !== undefined) {
    rendered.fault = { code: 500, message: server.fault, created: server.updated };
  }
  return rendered;
}

/** The ShowJob shape. */
export function renderJob(job: JobRecord): Record<string, unknown> {
  return {
    job_id: job.id,
    job_type: job.type,
    status: job.status,
    begin_time: job.beginTime,
    end_time: job.endTime,
    error_code: job.errorCode,
    fail_reason: job.failReason,
    entities: {
      sub_jobs_total: job.subJobs.length,
      sub_jobs: job.subJobs.map((sub) => ({
        job_id: sub.id,
        job_type: sub.type,
        status: sub.status,
        begin_time: sub.beginTime,
        end_time: sub.endTime,
        error_code: sub.errorCode,
        fail_reason: sub.failReason,
        entities: { server_id: sub.serverId },
      })),
    },
  };
}

function macOf(id: string): string {
  const hex = id.replace(/[^0-9a-f]/g, "").padEnd(10, "0");
  return `fa:16:3e:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`;
}
