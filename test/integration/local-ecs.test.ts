import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClientRequestException } from "@huaweicloud/huaweicloud-sdk-core/exception/ClientRequestException";
import { ServerResponseException } from "@huaweicloud/huaweicloud-sdk-core/exception/ServerResponseException";
import {
  BatchRebootServersRequest,
  BatchRebootServersRequestBody,
  BatchRebootSeversOption,
  BatchStartServersOption,
  BatchStartServersRequest,
  BatchStartServersRequestBody,
  BatchStopServersOption,
  BatchStopServersRequest,
  BatchStopServersRequestBody,
  CreatePostPaidServersRequest,
  CreatePostPaidServersRequestBody,
  DeleteServersRequest,
  DeleteServersRequestBody,
  type EcsClient,
  ListServersDetailsRequest,
  PostPaidServer,
  ReinstallServerWithCloudInitOption,
  ReinstallServerWithCloudInitRequest,
  ReinstallServerWithCloudInitRequestBody,
  ReinstallSeverMetadata,
  ServerId,
  ShowJobRequest,
  ShowServerRequest,
} from "@huaweicloud/huaweicloud-sdk-ecs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EcsService, SEEDED_KEY_NAME, type ServerView, startEcs } from "../../infra/local/ecs";
import { answerGateway, type GatewayState } from "../../infra/local/guest/probes";
import { type Listening, listen, parseJson, sendJson, sleep } from "../../infra/local/http";
import { Iam } from "../../infra/local/iam";
import { ControlError, timeScale } from "../../infra/local/service";
import { createEcsCompute } from "../../shared/cloud/ecs.lazy";
import { createEcsClient } from "../../shared/cloud/ecs-client";
import type { HuaweiAuth } from "../../shared/cloud/huawei-sdk";
import { eventually } from "../support/eventually";

// ---- the stand-in's readiness judgement, without a process ---------------------------------------

describe("stand-in gateway: how it answers probes", () => {
  const token = "gw-token";
  const booting: GatewayState = { uptimeMs: 40, starting: true, failingChannels: [] };
  const ready: GatewayState = { uptimeMs: 900, starting: false, failingChannels: [] };
  const ask = (
    path: string,
    state: GatewayState,
    headers: Record<string, string> = {},
    method = "GET",
  ) => {
    const answer = answerGateway({ method, path, headers }, state, token);
    const json = answer.headers["content-type"]?.startsWith("application/json")
      ? JSON.parse(answer.body)
      : undefined;
    return { ...answer, json };
  };
  const bearer = { authorization: `Bearer ${token}` };

  it("reports starting while booting, then ready", () => {
    expect(ask("/readyz", booting, bearer)).toMatchObject({
      status: 503,
      json: { ready: false, failing: ["startup-sidecars"], uptimeMs: 40 },
    });
    expect(ask("/startupz", booting)).toMatchObject({
      status: 503,
      json: { ok: false, status: "starting", pendingReason: "startup-sidecars" },
    });
    expect(ask("/healthz", booting)).toMatchObject({
      status: 200,
      json: { ok: true, status: "live" },
    });
    expect(ask("/readyz", ready, bearer)).toMatchObject({
      status: 200,
      json: { ready: true, failing: [], uptimeMs: 900 },
    });
    expect(ask("/startupz", ready).json).toMatchObject({
      ok: true,
      status: "started",
      uptimeMs: 900,
    });
  });

  it("gives details only to callers with the gateway token", () => {
    expect(ask("/readyz", ready).json).toEqual({ ready: true });
    expect(ask("/readyz", ready, { authorization: "Bearer wrong" }).json).toEqual({ ready: true });
    expect(ask("/readyz", booting).json).toEqual({ ready: false });
    const degraded = { ...ready, failingChannels: ["telegram"] };
    expect(ask("/readyz", degraded, bearer)).toMatchObject({
      status: 503,
      json: { ready: false, failing: ["telegram"] },
    });
  });

  it("refuses proxy-shaped probes and other methods", () => {
    const xff = { "x-forwarded-for": "203.0.113.5", ...bearer };
    for (const path of ["/readyz", "/startupz", "/ready"]) {
      expect(ask(path, ready, xff)).toMatchObject({
        status: 403,
        json: { error: { type: "proxy_attribution_required" } },
      });
    }
    expect(ask("/healthz", ready, xff).status).toBe(200);
    expect(ask("/healthz", ready, {}, "POST")).toMatchObject({
      status: 405,
      body: "Method Not Allowed",
    });
    expect(ask("/healthz", ready, {}, "POST").headers.allow).toBe("GET, HEAD");
  });

  it("answers every other path with the Control UI's 200 HTML", () => {
    for (const path of ["/", "/status", "/readyz/extra"]) {
      const answer = ask(path, ready);
      expect(answer.status).toBe(200);
      expect(answer.headers["content-type"]).toMatch(/^text\/html/);
      expect(answer.body).toContain("<title>OpenClaw Control</title>");
    }
    expect(ask("/v1/models", ready).status).toBe(404);
  });
});

// ---- the emulator through the real SDK ------------------------------------------------------------

const GATEWAY_TOKEN = "gw-test-token";
const SCRIPT = "#!/bin/bash\necho bootstrap v2\n";

let dataDir: string;
let deadUrl: string;
let iam: Iam;
let ecs: EcsService;
let client: EcsClient;
let clockSkewMs = 0;
let box: { id: string; gatewayUrl: string };

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "clawwatch-ecs-"));
  deadUrl = await deadLoopbackUrl();
  iam = new Iam();
  ecs = await startEcs({
    iam,
    time: timeScale(0.01),
    dataDir,
    clock: () => Date.now() + clockSkewMs,
    guest: {
      telegramApiRoot: deadUrl,
      maasBaseUrl: `${deadUrl}/v1`,
      maasApiKey: "maas-test-key",
      model: "test-model",
      gatewayToken: GATEWAY_TOKEN,
      telegramBotToken: "123456:test-bot-token",
      bootMs: 100,
      connectGraceMs: 600_000,
    },
  });
  client = clientFor({ ak: iam.root.ak, sk: iam.root.sk, projectId: iam.projectId });
  box = await ecs.seedServer({ name: "openclaw-1" });
});

afterAll(async () => {
  await ecs?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("local ECS API", () => {
  it("shows a seeded server ACTIVE with a ready gateway guest", async () => {
    const res = await client.showServer(new ShowServerRequest().withServerId(box.id));
    const server = res.server as unknown as Record<string, unknown>;
    expect(server).toMatchObject({
      id: box.id,
      name: "openclaw-1",
      status: "ACTIVE",
      "OS-EXT-STS:vm_state": "active",
      "OS-EXT-STS:task_state": null,
      "OS-EXT-STS:power_state": 1,
      flavor: { id: "s6.large.2" },
    });
    expect(JSON.stringify(server.addresses)).toContain('"addr":"127.0.0.1"');
    expect(server.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await waitReady(box.gatewayUrl);
    expect(await probe(box.gatewayUrl, "/readyz")).toEqual({ status: 200, json: { ready: true } });
    expect((await probe(box.gatewayUrl, "/readyz", bearer())).json).toMatchObject({
      ready: true,
      failing: [],
    });
    expect((await probe(box.gatewayUrl, "/", {})).text).toContain(
      "<title>OpenClaw Control</title>",
    );
    expect((await probe(box.gatewayUrl, "/readyz", { "x-forwarded-for": "10.0.0.1" })).status).toBe(
      403,
    );
  });

  it("answers an unknown server with 404 Ecs.0114", async () => {
    const error = await failure(
      client.showServer(new ShowServerRequest().withServerId("no-such-id")),
    );
    expect(error).toBeInstanceOf(ClientRequestException);
    expect(error).toMatchObject({ httpStatusCode: 404, errorCode: "Ecs.0114" });
  });

  it("soft reboot takes the guest down, brings it back, and the job succeeds", async () => {
    const before = view(box.id);
    const res = await client.batchRebootServers(rebootRequest(box.id, "SOFT"));
    const jobId = jobIdOf(res);
    expect(await statusOf(box.id)).toBe("REBOOT");
    await eventually(async () => !(await isReady(box.gatewayUrl)), "the gateway to go down");
    const job = await waitJob(jobId);
    expect(job).toMatchObject({ status: "SUCCESS", job_type: "batchRebootServers" });
    expect(job.entities.sub_jobs[0]).toMatchObject({
      status: "SUCCESS",
      entities: { server_id: box.id },
    });
    await waitReady(box.gatewayUrl);
    const after = view(box.id);
    expect(after.guestPid).not.toBe(before.guestPid);
    expect(after.boots).toBe(before.boots + 1);
    expect(await statusOf(box.id)).toBe("ACTIVE");
  });

  it("hard reboot kills and restarts the guest", async () => {
    const before = view(box.id);
    const jobId = jobIdOf(await client.batchRebootServers(rebootRequest(box.id, "HARD")));
    expect(await statusOf(box.id)).toBe("HARD_REBOOT");
    expect((await waitJob(jobId)).status).toBe("SUCCESS");
    await waitReady(box.gatewayUrl);
    expect(view(box.id).guestPid).not.toBe(before.guestPid);
  });

  it("stops and starts a server, and refuses to start one that runs", async () => {
    const conflict = await failure(client.batchStartServers(startRequest(box.id)));
    expect(conflict).toBeInstanceOf(ClientRequestException);
    expect(conflict).toMatchObject({ httpStatusCode: 409, errorCode: "Ecs.0023" });

    const stopJob = jobIdOf(await client.batchStopServers(stopRequest(box.id)));
    expect((await waitJob(stopJob)).status).toBe("SUCCESS");
    const stopped = (await client.showServer(new ShowServerRequest().withServerId(box.id)))
      .server as unknown as Record<string, unknown>;
    expect(stopped).toMatchObject({ status: "SHUTOFF", "OS-EXT-STS:vm_state": "stopped" });
    expect((await probe(box.gatewayUrl, "/healthz")).error).toBe("ECONNREFUSED");

    const startJob = jobIdOf(await client.batchStartServers(startRequest(box.id)));
    expect((await waitJob(startJob)).status).toBe("SUCCESS");
    expect(await statusOf(box.id)).toBe("ACTIVE");
    await waitReady(box.gatewayUrl);
  });

  it("reinstall wipes the system dir, keeps the data dir and records the user_data", async () => {
    const serverDir = join(dataDir, "servers", box.id);
    const marker = join(serverDir, "system", "marker.txt");
    writeFileSync(marker, "old system disk");
    const workspace = join(serverDir, "data", "workspace", "state.json");
    const bootsBefore = JSON.parse(readFileSync(workspace, "utf8")).boots as number;

    const withoutStop = await failure(
      client.reinstallServerWithCloudInit(reinstallRequest(box.id, false)),
    );
    expect(withoutStop).toMatchObject({ httpStatusCode: 409 });

    const jobId = jobIdOf(
      await client.reinstallServerWithCloudInit(reinstallRequest(box.id, true)),
    );
    await eventually(async () => (await statusOf(box.id)) === "REBUILD", "status REBUILD");
    expect((await waitJob(jobId)).status).toBe("SUCCESS");
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(join(serverDir, "system", "user-data.sh"), "utf8")).toBe(SCRIPT);
    expect(
      JSON.parse(readFileSync(join(serverDir, "system", "bootstrap.json"), "utf8")),
    ).toMatchObject({
      runCount: 2,
    });
    await waitReady(box.gatewayUrl);
    expect(JSON.parse(readFileSync(workspace, "utf8")).boots).toBe(bootsBefore + 1);
  });

  it("a reinstall keeps the SSH key pair only when it names it; the ECS adapter does", async () => {
    const keyed = await ecs.seedServer({ name: "keyed-box" });
    await waitReady(keyed.gatewayUrl);
    const keyOf = async () =>
      (
        (await client.showServer(new ShowServerRequest().withServerId(keyed.id)))
          .server as unknown as { key_name?: string }
      ).key_name;
    expect(await keyOf()).toBe(SEEDED_KEY_NAME);
    const compute = createEcsCompute({
      auth: { ak: iam.root.ak, sk: iam.root.sk, projectId: iam.projectId },
      endpoint: ecs.url,
    });
    const { jobId } = await compute.reinstall(keyed.id, Buffer.from(SCRIPT).toString("base64"));
    expect((await waitJob(jobId)).status).toBe("SUCCESS");
    expect(await keyOf()).toBe(SEEDED_KEY_NAME);
    await waitReady(keyed.gatewayUrl);

    const withoutKey = jobIdOf(
      await client.reinstallServerWithCloudInit(reinstallRequest(keyed.id, true)),
    );
    expect((await waitJob(withoutKey)).status).toBe("SUCCESS");
    expect(await keyOf()).toBe("");
    const removed = await client.deleteServers(
      new DeleteServersRequest().withBody(
        new DeleteServersRequestBody().withServers(serverIds(keyed.id)),
      ),
    );
    expect((await waitJob(jobIdOf(removed))).status).toBe("SUCCESS");
  });

  it("creates (idempotently), lists and deletes servers", async () => {
    const create = () =>
      client.createPostPaidServers(
        new CreatePostPaidServersRequest()
          .withXClientToken("create-token-1")
          .withBody(
            new CreatePostPaidServersRequestBody().withServer(
              new PostPaidServer()
                .withName("extra-box")
                .withFlavorRef("s6.small.1")
                .withImageRef("image-1")
                .withVpcid("vpc-1")
                .withUserData(Buffer.from(SCRIPT).toString("base64"))
                .withMetadata({ watchdog: "true" }),
            ),
          ),
      );
    const first = (await create()) as unknown as { job_id: string; serverIds: string[] };
    const again = (await create()) as unknown as { job_id: string; serverIds: string[] };
    expect(again.job_id).toBe(first.job_id);
    expect(again.serverIds).toEqual(first.serverIds);
    const [id] = first.serverIds;
    if (id === undefined) throw new Error("no server id returned");
    expect(await statusOf(id)).toBe("BUILD");
    expect(await waitJob(first.job_id)).toMatchObject({
      status: "SUCCESS",
      job_type: "createServer",
    });
    await waitReady(view(id).gatewayUrl);

    const listed = (await client.listServersDetails(
      new ListServersDetailsRequest().withName("extra").withLimit(10),
    )) as unknown as { count: number; servers: { id: string; metadata: object }[] };
    expect(listed.count).toBe(1);
    expect(listed.servers[0]).toMatchObject({ id, metadata: { watchdog: "true" } });
    const all = (await client.listServersDetails(new ListServersDetailsRequest())) as unknown as {
      count: number;
    };
    expect(all.count).toBe(2);
    const shutoff = (await client.listServersDetails(
      new ListServersDetailsRequest().withStatus("SHUTOFF"),
    )) as unknown as { count: number };
    expect(shutoff.count).toBe(0);

    const del = await client.deleteServers(
      new DeleteServersRequest().withBody(
        new DeleteServersRequestBody().withServers(serverIds(id)),
      ),
    );
    expect((await waitJob(jobIdOf(del))).status).toBe("SUCCESS");
    expect(await statusOf(id)).toBe("DELETED");
    expect(view(id).guestPid).toBeUndefined();
    const after = (await client.listServersDetails(new ListServersDetailsRequest())) as unknown as {
      count: number;
    };
    expect(after.count).toBe(1);
  });
});

describe("local ECS signature checks", () => {
  it("rejects a wrong secret key with 401", async () => {
    const wrong = clientFor({ ak: iam.root.ak, sk: "WRONG-SK", projectId: iam.projectId });
    const error = await failure(wrong.showServer(new ShowServerRequest().withServerId(box.id)));
    expect(error).toBeInstanceOf(ClientRequestException);
    expect(error).toMatchObject({ httpStatusCode: 401, errorCode: "APIGW.0301" });
  });

  it("rejects a request whose x-sdk-date is 20 minutes off", async () => {
    clockSkewMs = 20 * 60_000;
    try {
      const error = await failure(client.showServer(new ShowServerRequest().withServerId(box.id)));
      expect(error).toMatchObject({ httpStatusCode: 401 });
    } finally {
      clockSkewMs = 0;
    }
  });

  it("accepts temporary credentials with their token and rejects a wrong token", async () => {
    const temp = iam.issueTemporary();
    const good = clientFor({
      ak: temp.ak,
      sk: temp.sk,
      securityToken: temp.securityToken,
      projectId: iam.projectId,
    });
    expect((await good.showServer(new ShowServerRequest().withServerId(box.id))).server?.id).toBe(
      box.id,
    );
    const bad = clientFor({
      ak: temp.ak,
      sk: temp.sk,
      securityToken: "WRONG-TOKEN",
      projectId: iam.projectId,
    });
    const error = await failure(bad.showServer(new ShowServerRequest().withServerId(box.id)));
    expect(error).toMatchObject({ httpStatusCode: 401 });
  });

  it("allows an agency's key only what the agency's policies allow, with a 403 otherwise", async () => {
    iam.setAgency("show-only", [
      {
        Version: "1.1",
        Statement: [
          { Effect: "Allow", Action: ["ecs:cloudServers:*"] },
          { Effect: "Deny", Action: ["ecs:cloudServers:reboot"] },
        ],
      },
    ]);
    const temp = iam.issueTemporary("show-only");
    const agency = clientFor({ ...temp, projectId: iam.projectId });
    expect((await agency.showServer(new ShowServerRequest().withServerId(box.id))).server?.id).toBe(
      box.id,
    );
    const denied = await failure(
      agency.batchRebootServers(
        new BatchRebootServersRequest().withBody(
          new BatchRebootServersRequestBody().withReboot(
            new BatchRebootSeversOption().withType("SOFT").withServers(serverIds(box.id)),
          ),
        ),
      ),
    );
    expect(denied).toMatchObject({
      httpStatusCode: 403,
      errorCode: "Ecs.0319",
      errorMsg: "Policy doesn't allow ecs:cloudServers:reboot to be performed.",
    });
    expect(iam.deniedCalls().at(-1)).toMatchObject({
      agency: "show-only",
      action: "ecs:cloudServers:reboot",
      resource: `ECS:${iam.region}:${iam.domainId}:instance:${box.id}`,
    });
    // An agency the local IAM does not know has no policy at all.
    const stranger = iam.issueTemporary("no-such-agency");
    const unknown = await failure(
      clientFor({ ...stranger, projectId: iam.projectId }).showServer(
        new ShowServerRequest().withServerId(box.id),
      ),
    );
    expect(unknown).toMatchObject({ httpStatusCode: 403 });
  });

  it("prints no key or token when an SDK call fails (log4js silenced)", async () => {
    const temp = iam.issueTemporary();
    const secretClient = clientFor({
      ak: temp.ak,
      sk: temp.sk,
      securityToken: temp.securityToken,
      projectId: iam.projectId,
    });
    const printed = await captureOutput(() =>
      failure(secretClient.showServer(new ShowServerRequest().withServerId("missing-server"))),
    );
    expect(printed).not.toContain(temp.sk);
    expect(printed).not.toContain(temp.securityToken);
    expect(printed).not.toContain("Authorization");
  });

  it("resolves uuid from the SDK core (its undeclared dependency)", () => {
    const core = createRequire(import.meta.url).resolve(
      "@huaweicloud/huaweicloud-sdk-core/package.json",
    );
    expect(() => createRequire(core).resolve("uuid")).not.toThrow();
  });
});

describe("local ECS control actions", () => {
  it("kill-guest and crash: the unit restarts the gateway after RestartSec (Restart=always)", async () => {
    await waitReady(box.gatewayUrl);
    const before = view(box.id);
    await ecs.control("kill-guest", { serverId: box.id });
    expect((await probe(box.gatewayUrl, "/healthz")).error).toBe("ECONNREFUSED");
    expect(await statusOf(box.id)).toBe("ACTIVE");
    expect(view(box.id)).toMatchObject({ unit: "auto-restart", lastExit: "killed (SIGKILL)" });
    await waitReady(box.gatewayUrl);
    await ecs.control("crash", { serverId: box.id });
    await waitReady(box.gatewayUrl);
    const after = view(box.id);
    expect(after).toMatchObject({
      unit: "running",
      lastExit: "killed (SIGABRT)",
      boots: before.boots,
    });
    expect(after.nRestarts).toBe(before.nRestarts + 2);
    expect(after.guestPid).not.toBe(before.guestPid);
  });

  it("a clean exit (0) is restarted too; exit-config (78) leaves the unit failed until heal", async () => {
    await waitReady(box.gatewayUrl);
    const restarts = view(box.id).nRestarts;
    await ecs.control("exit-config", { serverId: box.id });
    await eventually(async () => view(box.id).unit === "failed", "the unit to fail");
    // SIGTERM → exit 0 → restarted once → that start exits 78 → no more restarts.
    expect(view(box.id)).toMatchObject({ lastExit: "exit 78", faults: ["exit-config"] });
    expect(view(box.id).nRestarts).toBe(restarts + 1);
    expect((await probe(box.gatewayUrl, "/healthz")).error).toBe("ECONNREFUSED");
    expect(await statusOf(box.id)).toBe("ACTIVE");
    await ecs.control("heal", { serverId: box.id });
    await waitReady(box.gatewayUrl);
    expect(view(box.id)).toMatchObject({ unit: "running", faults: [] });
  });

  it("crash-loop dies after every start and is never ready, across reboots, until heal", async () => {
    await waitReady(box.gatewayUrl);
    const restarts = view(box.id).nRestarts;
    await ecs.control("crash-loop", { serverId: box.id });
    await eventually(async () => view(box.id).nRestarts >= restarts + 3, "three more restarts");
    expect(view(box.id)).toMatchObject({ lastExit: "killed (SIGABRT)", faults: ["crash-loop"] });
    expect(await isReady(box.gatewayUrl)).toBe(false);
    const jobId = jobIdOf(await client.batchRebootServers(rebootRequest(box.id, "HARD")));
    expect((await waitJob(jobId)).status).toBe("SUCCESS");
    await eventually(async () => view(box.id).nRestarts >= 2, "restarts after the reboot");
    await ecs.control("heal", { serverId: box.id });
    await waitReady(box.gatewayUrl);
  });

  it("oom-every SIGKILLs the gateway on a period; each kill is healed by the unit", async () => {
    await waitReady(box.gatewayUrl);
    const restarts = view(box.id).nRestarts;
    await ecs.control("oom-every", { serverId: box.id, ms: 400 });
    await eventually(async () => view(box.id).nRestarts >= restarts + 2, "two OOM kills healed");
    expect(view(box.id)).toMatchObject({ lastExit: "killed (SIGKILL)", faults: ["oom-every"] });
    await ecs.control("heal", { serverId: box.id });
    await waitReady(box.gatewayUrl);
    expect(view(box.id).faults).toEqual([]);
  });

  it("hang accepts connections but answers nothing, and is never restarted, until resume", async () => {
    await waitReady(box.gatewayUrl);
    const restarts = view(box.id).nRestarts;
    await ecs.control("hang", { serverId: box.id });
    expect(view(box.id).hung).toBe(true);
    expect((await probe(box.gatewayUrl, "/healthz", {}, 300)).error).toBe("TimeoutError");
    expect(view(box.id)).toMatchObject({ unit: "running", nRestarts: restarts });
    await ecs.control("resume", { serverId: box.id });
    expect((await probe(box.gatewayUrl, "/healthz")).status).toBe(200);
  });

  it("slow-boot makes the next boot stay starting for that long", async () => {
    await ecs.control("slow-boot", { serverId: box.id, ms: 5_000 });
    expect(view(box.id).bootMs).toBe(5_000);
    const jobId = jobIdOf(await client.batchRebootServers(rebootRequest(box.id, "HARD")));
    expect((await waitJob(jobId)).status).toBe("SUCCESS");
    const startup = await probe(box.gatewayUrl, "/startupz");
    expect(startup).toMatchObject({
      status: 503,
      json: { status: "starting", pendingReason: "startup-sidecars" },
    });
    expect((await probe(box.gatewayUrl, "/readyz", bearer())).json).toMatchObject({
      ready: false,
      failing: ["startup-sidecars"],
    });
    await ecs.control("slow-boot", { serverId: box.id, ms: 100 });
    // The unit's restart uses the new boot time.
    await ecs.control("kill-guest", { serverId: box.id });
    await waitReady(box.gatewayUrl);
  });

  it("stall-polling and resume-polling flip the flag while the gateway stays ready", async () => {
    await ecs.control("stall-polling", { serverId: box.id });
    expect(view(box.id).pollingStalled).toBe(true);
    expect((await probe(box.gatewayUrl, "/readyz")).status).toBe(200);
    await ecs.control("resume-polling", { serverId: box.id });
    expect(view(box.id).pollingStalled).toBe(false);
  });

  it("set-status SHUTOFF and ERROR stop the guest, ACTIVE starts it", async () => {
    await ecs.control("set-status", { serverId: box.id, status: "SHUTOFF" });
    expect(await statusOf(box.id)).toBe("SHUTOFF");
    expect((await probe(box.gatewayUrl, "/healthz")).error).toBe("ECONNREFUSED");
    await ecs.control("set-status", { serverId: box.id, status: "ERROR" });
    const errored = (await client.showServer(new ShowServerRequest().withServerId(box.id)))
      .server as unknown as Record<string, unknown>;
    expect(errored).toMatchObject({ status: "ERROR", "OS-EXT-STS:vm_state": "error" });
    await ecs.control("set-status", { serverId: box.id, status: "ACTIVE" });
    expect(await statusOf(box.id)).toBe("ACTIVE");
    await waitReady(box.gatewayUrl);
  });

  it("latency makes API calls outlast the client timeout until reset", async () => {
    await ecs.control("latency", { ms: 600 });
    const impatient = clientFor(
      { ak: iam.root.ak, sk: iam.root.sk, projectId: iam.projectId },
      150,
    );
    const error = await failure(impatient.showServer(new ShowServerRequest().withServerId(box.id)));
    expect(error).toMatchObject({ httpStatusCode: undefined });
    expect(String(error.message)).toMatch(/timeout/i);
    ecs.reset();
    expect(
      (await impatient.showServer(new ShowServerRequest().withServerId(box.id))).server?.id,
    ).toBe(box.id);
  });

  it("error forces ECS API 5xx for the given number of calls", async () => {
    await ecs.control("error", { status: 503, count: 1 });
    const error = await failure(client.showServer(new ShowServerRequest().withServerId(box.id)));
    expect(error).toBeInstanceOf(ServerResponseException);
    expect(error).toMatchObject({ httpStatusCode: 503, errorCode: "Ecs.0000" });
    expect((await client.showServer(new ShowServerRequest().withServerId(box.id))).server?.id).toBe(
      box.id,
    );
  });

  it("lists servers and API calls, and rejects unknown actions", async () => {
    const servers = (await ecs.control("servers", {})) as ServerView[];
    expect(servers.find((s) => s.id === box.id)).toMatchObject({
      name: "openclaw-1",
      status: "ACTIVE",
      gatewayUrl: box.gatewayUrl,
    });
    const calls = (await ecs.control("calls", {})) as { action: string; status: number }[];
    expect(calls).toContainEqual(
      expect.objectContaining({ action: "BatchRebootServers", status: 200 }),
    );
    expect(calls).toContainEqual(expect.objectContaining({ action: "ShowServer", status: 401 }));
    await expect(ecs.control("explode", {})).rejects.toBeInstanceOf(ControlError);
    await expect(ecs.control("kill-guest", { serverId: "nope" })).rejects.toBeInstanceOf(
      ControlError,
    );
  });
});

describe("stand-in gateway with Telegram and the model", () => {
  it("answers a Telegram message through the model and stops consuming while stalled", async () => {
    const telegram = await startTelegramStub();
    const maas = await startMaasStub();
    try {
      const seeded = await ecs.seedServer({
        name: "chatty",
        telegramApiRoot: telegram.url,
        maasBaseUrl: `${maas.url}/v1`,
        connectGraceMs: 60_000,
      });
      telegram.inject("hello gateway");
      await eventually(async () => telegram.sent.length === 1, "the reply to reach Telegram");
      expect(telegram.sent[0]).toEqual({ chat_id: 4242, text: "Hello from the stub model" });
      expect(maas.requests[0]).toMatchObject({ stream: true, model: "test-model" });
      expect(maas.authorizations[0]).toBe("Bearer maas-test-key");

      await ecs.control("stall-polling", { serverId: seeded.id });
      // A getUpdates sent just before the stall may still reach the stub: let it land first.
      await sleep(100);
      const pollsAtStall = telegram.getUpdatesCalls;
      telegram.inject("are you there?");
      await sleep(300);
      expect(telegram.getUpdatesCalls).toBe(pollsAtStall);
      expect(telegram.sent).toHaveLength(1);
      expect((await probe(seeded.gatewayUrl, "/readyz")).status).toBe(200);

      await ecs.control("resume-polling", { serverId: seeded.id });
      await eventually(async () => telegram.sent.length === 2, "the second reply after resume");
    } finally {
      await telegram.close();
      await maas.close();
    }
  });

  it("fails readiness with failing: [telegram] once the Bot API stays unreachable past the grace", async () => {
    const seeded = await ecs.seedServer({ name: "lonely", connectGraceMs: 300 });
    await eventually(
      async () =>
        JSON.stringify((await probe(seeded.gatewayUrl, "/readyz", bearer())).json).includes(
          "telegram",
        ),
      "readyz to report telegram failing",
    );
    expect(await probe(seeded.gatewayUrl, "/readyz", bearer())).toMatchObject({
      status: 503,
      json: { ready: false, failing: ["telegram"] },
    });
    expect((await probe(seeded.gatewayUrl, "/healthz")).status).toBe(200);
    expect((await probe(seeded.gatewayUrl, "/startupz")).status).toBe(200);
  });
});

// ---- helpers ------------------------------------------------------------------------------------

function clientFor(auth: HuaweiAuth, timeoutMs = 5_000): EcsClient {
  return createEcsClient({ auth, endpoint: `${ecs.url}/`, timeoutMs });
}

function view(id: string): ServerView {
  const found = ecs.servers().find((s) => s.id === id);
  if (!found) throw new Error(`server ${id} not in the servers view`);
  return found;
}

function serverIds(id: string): ServerId[] {
  return [new ServerId().withId(id)];
}

function rebootRequest(id: string, type: "SOFT" | "HARD"): BatchRebootServersRequest {
  return new BatchRebootServersRequest().withBody(
    new BatchRebootServersRequestBody().withReboot(
      new BatchRebootSeversOption().withType(type).withServers(serverIds(id)),
    ),
  );
}

function startRequest(id: string): BatchStartServersRequest {
  return new BatchStartServersRequest().withBody(
    new BatchStartServersRequestBody().withOsStart(
      new BatchStartServersOption().withServers(serverIds(id)),
    ),
  );
}

function stopRequest(id: string): BatchStopServersRequest {
  return new BatchStopServersRequest().withBody(
    new BatchStopServersRequestBody().withOsStop(
      new BatchStopServersOption().withServers(serverIds(id)),
    ),
  );
}

function reinstallRequest(
  id: string,
  withStopServer: boolean,
): ReinstallServerWithCloudInitRequest {
  const option = new ReinstallServerWithCloudInitOption().withMetadata(
    new ReinstallSeverMetadata().withUserData(Buffer.from(SCRIPT).toString("base64")),
  );
  if (withStopServer) option.withMode("withStopServer");
  return new ReinstallServerWithCloudInitRequest()
    .withServerId(id)
    .withBody(new ReinstallServerWithCloudInitRequestBody().withOsReinstall(option));
}

function jobIdOf(res: unknown): string {
  const jobId = (res as { job_id?: unknown }).job_id;
  if (typeof jobId !== "string") throw new Error(`no job_id in ${JSON.stringify(res)}`);
  return jobId;
}

async function statusOf(id: string): Promise<string | undefined> {
  return (await client.showServer(new ShowServerRequest().withServerId(id))).server?.status;
}

interface JobBody {
  status: string;
  job_type: string;
  entities: { sub_jobs: { status: string; entities: { server_id: string } }[] };
}

async function waitJob(jobId: string): Promise<JobBody> {
  let job: JobBody | undefined;
  await eventually(async () => {
    job = (await client.showJob(new ShowJobRequest().withJobId(jobId))) as unknown as JobBody;
    return job.status === "SUCCESS" || job.status === "FAIL";
  }, `job ${jobId} to finish`);
  return job as JobBody;
}

function bearer(): Record<string, string> {
  return { authorization: `Bearer ${GATEWAY_TOKEN}` };
}

interface Probe {
  status?: number;
  json?: unknown;
  text?: string;
  error?: string;
}

async function probe(
  base: string,
  path: string,
  headers: Record<string, string> = {},
  timeoutMs = 2_000,
): Promise<Probe> {
  try {
    const res = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    const isJson = (res.headers.get("content-type") ?? "").includes("json");
    return isJson ? { status: res.status, json: JSON.parse(text) } : { status: res.status, text };
  } catch (error) {
    const e = error as { name?: string; cause?: { code?: string } };
    return { error: e.cause?.code ?? e.name ?? String(error) };
  }
}

async function isReady(base: string): Promise<boolean> {
  return (await probe(base, "/readyz")).status === 200;
}

async function waitReady(base: string): Promise<void> {
  await eventually(() => isReady(base), `${base}/readyz to answer 200`);
}

async function failure(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error("expected the call to fail");
}

async function captureOutput(run: () => Promise<unknown>): Promise<string> {
  const chunks: string[] = [];
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  const capture = (chunk: unknown): boolean => {
    chunks.push(String(chunk));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    await run();
    // log4js may write after the rejection has settled.
    await sleep(50);
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
  return chunks.join("");
}

/** A loopback URL where nothing listens (connection refused). */
async function deadLoopbackUrl(): Promise<string> {
  const server = await listen(() => undefined);
  await server.close();
  return server.url;
}

interface TelegramStub extends Listening {
  inject(text: string): void;
  readonly sent: unknown[];
  readonly getUpdatesCalls: number;
}

/** Just enough Bot API for the stand-in: getMe, long-polled getUpdates, sendMessage. */
async function startTelegramStub(): Promise<TelegramStub> {
  const updates: { update_id: number; message: object }[] = [];
  const sent: unknown[] = [];
  const waiting = new Set<() => void>();
  let nextId = 1;
  let getUpdatesCalls = 0;
  const server = await listen(async (req, res, body) => {
    const method = (req.url ?? "").split("/").pop();
    const params = parseJson(body) as { offset?: number; chat_id?: number; text?: string };
    if (method === "getMe")
      return sendJson(res, 200, {
        ok: true,
        result: { id: 1, is_bot: true, username: "stub_bot" },
      });
    if (method === "sendMessage") {
      sent.push({ chat_id: params.chat_id, text: params.text });
      return sendJson(res, 200, { ok: true, result: { message_id: sent.length } });
    }
    if (method !== "getUpdates")
      return sendJson(res, 404, { ok: false, error_code: 404, description: "Not Found" });
    getUpdatesCalls += 1;
    const pending = () => updates.filter((u) => u.update_id >= (params.offset ?? 0));
    if (pending().length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 500);
        res.on("close", done);
        waiting.add(done);
        function done(): void {
          clearTimeout(timer);
          waiting.delete(done);
          resolve();
        }
      });
    }
    if (!res.destroyed) sendJson(res, 200, { ok: true, result: pending() });
  });
  return {
    ...server,
    sent,
    get getUpdatesCalls() {
      return getUpdatesCalls;
    },
    inject(text) {
      const id = nextId++;
      updates.push({
        update_id: id,
        message: { message_id: id, text, chat: { id: 4242, type: "private" } },
      });
      for (const wake of [...waiting]) wake();
    },
  };
}

/** An OpenAI-compatible /v1/chat/completions that streams a fixed reply. */
async function startMaasStub(): Promise<
  Listening & { requests: unknown[]; authorizations: unknown[] }
> {
  const requests: unknown[] = [];
  const authorizations: unknown[] = [];
  const server = await listen((req, res, body) => {
    requests.push(parseJson(body));
    authorizations.push(req.headers.authorization);
    res.writeHead(200, { "content-type": "text/event-stream" });
    for (const piece of ["Hello ", "from the stub model"]) {
      res.write(
        `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece } }] })}\n\n`,
      );
    }
    res.end("data: [DONE]\n\n");
  });
  return { ...server, requests, authorizations };
}
