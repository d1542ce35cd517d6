/**
 * Every `status` of ECS API Reference, Appendix "ECS Statuses" (ecs_08_0002,
 * https://support.huaweicloud.com/intl/en-us/api-ecs/ecs_08_0002.html); what the policy makes of
 * each is the table in test/contract/server-statuses.test.ts; anything else reads as UNKNOWN.
 */
export const SERVER_STATUSES = [
  "ACTIVE",
  "SHUTOFF",
  "REBOOT",
  "HARD_REBOOT",
  "REBUILD",
  "BUILD",
  "MIGRATING",
  "RESIZE",
  "REVERT_RESIZE",
  "VERIFY_RESIZE",
  "ERROR",
  "DELETED",
  "SHELVED",
  "SHELVED_OFFLOADED",
  "UNKNOWN",
] as const;
export type ServerStatus = (typeof SERVER_STATUSES)[number];

export interface ServerInfo {
  id: string;
  name: string;
  status: ServerStatus;
  taskState?: string;
}

export type JobStatus = "INIT" | "RUNNING" | "SUCCESS" | "FAIL";

export interface JobInfo {
  id: string;
  status: JobStatus;
  failReason?: string;
}

/**
 * What the watchdog and the receiver may do to a box. Every action is asynchronous on the cloud
 * side and returns the job to poll. Failures throw ComputeError (never a down box: that is data).
 */
export interface Compute {
  showServer(serverId: string): Promise<ServerInfo>;
  start(serverId: string): Promise<{ jobId: string }>;
  reboot(serverId: string, type: "SOFT" | "HARD"): Promise<{ jobId: string }>;
  /** Reinstalls the system disk with cloud-init user_data (base64); data disks are kept. */
  reinstall(serverId: string, userDataBase64: string): Promise<{ jobId: string }>;
  showJob(jobId: string): Promise<JobInfo>;
}
