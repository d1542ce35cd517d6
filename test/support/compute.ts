import type { Compute, JobInfo, JobStatus, ServerInfo } from "../../shared/cloud/compute";
import type { ServerStatus } from "../../shared/probes/types";

/**
 * The Compute port in memory, for unit tests of the watchdog and the receiver: it records every
 * request and answers each accepted one with a new job id ("job-1", "job-2", …). Tests that need
 * the real ECS API use the local cloud (infra/local/ecs.ts) through the SDK instead.
 */
export class MemoryCompute implements Compute {
  /** Every action request in order, refused ones too: "start srv", "reboot SOFT srv", "reinstall srv". */
  readonly calls: string[] = [];
  /** The user_data of each reinstall request, in order. */
  readonly userData: string[] = [];
  /** The servers showServer was asked about. */
  readonly shown: string[] = [];
  /** While set, every action (not showServer or showJob) is recorded and then throws this. */
  failWith: Error | undefined;
  /** What showServer answers. */
  status: ServerStatus = "ACTIVE";
  /** What showJob answers. */
  jobStatus: JobStatus = "SUCCESS";
  private readonly accepted: string[] = [];

  async showServer(serverId: string): Promise<ServerInfo> {
    this.shown.push(serverId);
    return { id: serverId, name: serverId, status: this.status };
  }
  start(serverId: string) {
    return this.act(`start ${serverId}`);
  }
  reboot(serverId: string, type: "SOFT" | "HARD") {
    return this.act(`reboot ${type} ${serverId}`);
  }
  reinstall(serverId: string, userDataBase64: string) {
    this.userData.push(userDataBase64);
    return this.act(`reinstall ${serverId}`);
  }
  async showJob(jobId: string): Promise<JobInfo> {
    return { id: jobId, status: this.jobStatus };
  }
  /** The requests that were answered with a job, in order. */
  done(): string[] {
    return [...this.accepted];
  }
  private async act(call: string): Promise<{ jobId: string }> {
    this.calls.push(call);
    if (this.failWith) throw this.failWith;
    this.accepted.push(call);
    return { jobId: `job-${this.accepted.length}` };
  }
}
