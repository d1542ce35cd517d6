/** The ECS server statuses clawwatch tells apart; any other status reads as UNKNOWN. */
export const SERVER_STATUSES = [
  "ACTIVE",
  "SHUTOFF",
  "REBOOT",
  "HARD_REBOOT",
  "REBUILD",
  "BUILD",
  "ERROR",
  "DELETED",
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
