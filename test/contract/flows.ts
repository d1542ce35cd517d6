import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CliIo } from "../../infra/cli/io";
import { run } from "../../infra/cli/main";
import { type LocalEndpoints, localCloud } from "../../infra/cli/target";
import { upsertFunction } from "../../infra/deploy/functions";
import { type LocalCloud, startLocalCloud } from "../../infra/local/cloud";
import { LOCAL_AGENCY } from "../../infra/local/product";
import { createEcsCompute } from "../../shared/cloud/ecs.lazy";
import { createObsClient } from "../../shared/state/obs-client";
import { type Exchange, type Recorder, startRecorder } from "./recorder";

/** Which service each recorder stands in front of. */
export type RecordedService = "ecs" | "functiongraph" | "vpc" | "obs";

export interface RecordedFlows {
  cloud: LocalCloud;
  exchanges: Record<RecordedService, Exchange[]>;
  /** What each CLI command printed, for the failure message. */
  log: string[];
  stop(): Promise<void>;
}

function quietIo(log: string[]): CliIo {
  return {
    out: (t) => log.push(t),
    err: (t) => log.push(t),
    status: () => {},
    isTTY: false,
    confirm: async () => false,
    env: {},
  };
}

/**
 * Real flows through recorders in front of the local cloud: the infra CLI's create-server,
 * deploy, diagnose (the watchdog function's own ECS and OBS calls), status and destroy, plus
 * the product's ECS adapter doing start, reboot, reinstall and show job.
 */
export async function recordFlows(): Promise<RecordedFlows> {
  const dir = await mkdtemp(join(tmpdir(), "clawwatch-contract-"));
  const cloud = await startLocalCloud({ dir: join(dir, "cloud"), timeScale: 0.01, boxes: 1 });
  const recorders: Record<RecordedService, Recorder> = {
    ecs: await startRecorder(cloud.endpoints.ecs),
    functiongraph: await startRecorder(cloud.endpoints.functionGraph),
    vpc: await startRecorder(cloud.endpoints.vpc),
    obs: await startRecorder(cloud.endpoints.obs),
  };
  const log: string[] = [];
  const stop = async () => {
    for (const r of Object.values(recorders)) await r.close();
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const endpointsFile = join(dir, "endpoints.json");
    await writeFile(
      endpointsFile,
      JSON.stringify({
        ...cloud.endpoints,
        ecs: recorders.ecs.url,
        functionGraph: recorders.functiongraph.url,
        apigApi: recorders.functiongraph.url,
        vpc: recorders.vpc.url,
        obs: recorders.obs.url,
      }),
    );
    const cli = async (...argv: string[]) => {
      log.push(`$ infra ${argv.join(" ")}`);
      const code = await run([...argv, "--endpoints", endpointsFile], quietIo(log));
      if (code !== 0) throw new Error(`infra ${argv[0]} exited ${code}:\n${log.join("\n")}`);
    };
    await cli("create-server");
    await cli("deploy", "--out-dir", join(dir, "dist"));
    await cli("diagnose", "--json");
    await cli("status", "--json");
    const endpoints = JSON.parse(await readFile(endpointsFile, "utf8")) as LocalEndpoints;
    await updateWatchdog(endpoints, join(dir, "dist"));
    await obsObjects(endpoints);
    await productEcsCalls(cloud, recorders.ecs.url);
    await cli("destroy", "--yes", "--server");
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    cloud,
    exchanges: {
      ecs: recorders.ecs.exchanges,
      functiongraph: recorders.functiongraph.exchanges,
      vpc: recorders.vpc.exchanges,
      obs: recorders.obs.exchanges,
    },
    log,
    stop,
  };
}

/** The watchdog's remediation ladder through its ECS adapter, on the seeded box. */
async function productEcsCalls(cloud: LocalCloud, endpoint: string): Promise<void> {
  const e = cloud.endpoints;
  const box = e.boxes[0];
  if (!box) throw new Error("the local cloud seeded no box");
  const compute = createEcsCompute({
    auth: { ...e.credentials, projectId: e.projectId },
    endpoint,
    retryDelayMs: 10,
  });
  const settle = async (jobId: string) => {
    for (let i = 0; i < 300; i++) {
      const job = await compute.showJob(jobId);
      if (job.status === "SUCCESS" || job.status === "FAIL") return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`ECS job ${jobId} never finished`);
  };
  await compute.showServer(box.serverId);
  await settle((await compute.reboot(box.serverId, "SOFT")).jobId);
  await settle((await compute.reboot(box.serverId, "HARD")).jobId);
  await cloud.control("ecs", "set-status", { serverId: box.serverId, status: "SHUTOFF" });
  await settle((await compute.start(box.serverId)).jobId);
  const userData = Buffer.from("#!/bin/bash\necho contract\n").toString("base64");
  await settle((await compute.reinstall(box.serverId, userData)).jobId);
}

/** Object keys that stress the OBS V2 canonical resource: spaces, non-ASCII, `+`, `%`, `~`. */
export const HARD_KEYS = [
  "contract/with space.json",
  "contract/ünïcödé-雪.json",
  "contract/a+b=c&d.json",
  "contract/100%~tilde.json",
  "contract/bang!(paren)*quote'.json",
];

/** New code and new settings for a deployed function: update code and update config. */
async function updateWatchdog(e: LocalEndpoints, dist: string): Promise<void> {
  const change = await upsertFunction(localCloud(e).functions, {
    name: "clawwatch-watchdog",
    zipPath: join(dist, "telegram-webhook.zip"),
    env: { CONTRACT_FLOW: "update" },
    secrets: {},
    agency: LOCAL_AGENCY,
    memoryMb: 256,
    timeoutSeconds: 30,
  });
  if (change !== "updated") throw new Error(`the watchdog update came back "${change}"`);
}

/** The product's OBS client on keys that are hard to sign: put, get, list, copy, delete. */
async function obsObjects(e: LocalEndpoints): Promise<void> {
  const obs = await createObsClient({ server: e.obs, ak: e.credentials.ak, sk: e.credentials.sk });
  for (const key of HARD_KEYS) {
    await obs.putText(e.bucket, key, JSON.stringify({ key }));
    const got = await obs.getText(e.bucket, key);
    if (!got.found) throw new Error(`OBS lost ${key}`);
    await obs.copy(e.bucket, key, `${key}.copy`);
  }
  const listed = await obs.list(e.bucket, "contract/");
  if (listed.length !== HARD_KEYS.length * 2) throw new Error(`OBS listed ${listed.join(", ")}`);
  for (const key of listed) await obs.remove(e.bucket, key);
}
