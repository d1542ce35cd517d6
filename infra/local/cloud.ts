import { randomBytes, randomInt } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { controlRequest, startControl } from "./control";
import { type GuestKind, startEcs } from "./ecs";
import { startFunctionGraph } from "./functiongraph";
import type { Listening } from "./http";
import { Iam, iamControl, repositoryAgencies } from "./iam";
import { startMaas } from "./maas";
import { startObs } from "./obs";
import { type LocalService, timeScale } from "./service";
import { startTelegram } from "./telegram";
import { startVpc } from "./vpc";

export type { GuestKind } from "./ecs";

export interface LocalCloudOptions {
  /** Where servers, function code and endpoints.json live (wiped at start). */
  dir?: string;
  /** 1 = real time; 0.05 makes a 60 s reboot take 3 s. */
  timeScale?: number;
  /** Fixed ports for the CLI; tests use ephemeral ones. */
  ports?: Partial<Record<ServiceName | "apig" | "control", number>>;
  /** How many watched boxes (ECS servers with a gateway guest) to create at start. */
  boxes?: number;
  /**
   * Each box's gateway: the stand-in, or the real openclaw (`npm run openclaw:setup` first).
   * Default: the CLAWWATCH_GUEST env var, else "standin".
   */
  guest?: GuestKind;
  /**
   * IAM agencies (name → policy documents) the functions may run as. Default: the repository's
   * agency policies (infra/iam/{watchdog,receiver}-agency-policy.json) as `clawwatch-watchdog`
   * and `clawwatch-receiver`, for the state bucket. Every call a function makes with its agency key is checked against these.
   */
  agencies?: Record<string, readonly unknown[]>;
}

type ServiceName = "ecs" | "obs" | "functiongraph" | "telegram" | "maas" | "vpc";

export interface BoxEndpoint {
  name: string;
  serverId: string;
  gatewayUrl: string;
  gatewayToken: string;
  /** Each gateway has its own bot: two pollers on one token would fight (409 Conflict). */
  telegramBot: { token: string; username: string };
}

/** Everything a client needs to talk to the local cloud; written to `<dir>/endpoints.json`. */
export interface Endpoints {
  region: string;
  projectId: string;
  credentials: { ak: string; sk: string };
  ecs: string;
  obs: string;
  functionGraph: string;
  /** The API gateway's address: the debug domain of the dedicated instance's API group. */
  apig: string;
  /** The dedicated APIG instance's management API (env and group lookups). */
  apigApi: string;
  apigInstanceId: string;
  apigGroupId: string;
  /** The APIG over HTTPS (127.a.b.c:8443): where HTTPS triggers' invoke_url points. */
  apigHttps: string;
  /** PEM of its self-signed certificate (public; trust it to call apigHttps). */
  apigCertificate: string;
  vpc: string;
  telegram: string;
  maas: string;
  control: string;
  bucket: string;
  timeScale: number;
  telegramBots: { alerts: { token: string; username: string } };
  alertChatId: number;
  operatorUserId: number;
  maasApi: { baseUrl: string; apiKey: string; model: string };
  boxes: BoxEndpoint[];
  /** What the gateway of a server created through the ECS API uses. */
  apiGuest: { gatewayToken: string; telegramBot: { token: string; username: string } };
}

export interface LocalCloud {
  readonly endpoints: Endpoints;
  readonly endpointsFile: string;
  readonly guest: GuestKind;
  control(service: string, action: string, params?: Record<string, unknown>): Promise<unknown>;
  stop(): Promise<void>;
}

const BUCKET = "clawwatch-state";
const MODEL = "deepseek-v3";
/** The operator: allowed in the alert chat, and the user the real gateways answer on Telegram. */
const OPERATOR_USER_ID = 4_242_424;
/** A supergroup (-100…): the alert chat the local alert bot was added to. */
const ALERT_CHAT_ID = -1_001_234_567_890;

export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const dir = resolve(options.dir ?? ".local-cloud");
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const time = timeScale(options.timeScale ?? 1);
  const ports = options.ports ?? {};
  const iam = new Iam();
  const agencies = options.agencies ?? repositoryAgencies(BUCKET);
  for (const [name, policies] of Object.entries(agencies)) iam.setAgency(name, policies);
  const boxCount = options.boxes ?? 1;
  const guest = guestKind(options.guest);
  const gatewayBots = Array.from({ length: boxCount }, (_, i) => ({
    token: botToken(),
    username: `openclaw_gateway_${i + 1}_bot`,
  }));
  // Servers created through the ECS API (infra create-server) get a bot of their own, so their
  // gateway never fights a seeded box's over getUpdates.
  const apiGuestBot = { token: botToken(), username: "openclaw_gateway_bot" };
  const secrets = {
    alertBot: botToken(),
    maasKey: `maas-${randomBytes(16).toString("hex")}`,
    gatewayToken: `gw-${randomBytes(16).toString("hex")}`,
  };

  const started: { close(): Promise<void> }[] = [];
  try {
    const telegram = await startTelegram({
      bots: [
        {
          token: secrets.alertBot,
          username: "clawwatch_alerts_bot",
          firstName: "clawwatch",
          // The operators added the alert bot to the alert chat; no other chat exists for it.
          chats: [ALERT_CHAT_ID],
        },
        ...[...gatewayBots, apiGuestBot].map((bot) => ({ ...bot, firstName: "OpenClaw" })),
      ],
      port: ports.telegram,
      time,
    });
    started.push(telegram);
    const maas = await startMaas({
      keys: [secrets.maasKey],
      models: [MODEL],
      port: ports.maas,
      time,
    });
    started.push(maas);
    const obs = await startObs({ iam, time, port: ports.obs, buckets: [BUCKET] });
    started.push(obs);
    const ecs = await startEcs({
      iam,
      time,
      dataDir: join(dir, "ecs"),
      port: ports.ecs,
      guest: {
        telegramApiRoot: telegram.url,
        maasBaseUrl: `${maas.url}/v1`,
        maasApiKey: secrets.maasKey,
        model: MODEL,
        gatewayToken: secrets.gatewayToken,
        telegramBotToken: apiGuestBot.token,
        // The real gateway boots in its own time; for it bootMs is only the slow-boot delay.
        bootMs: guest === "openclaw" ? 0 : time.scale(8_000),
        connectGraceMs: time.scale(120_000),
      },
      guestKind: guest,
      guestAllowFrom: [OPERATOR_USER_ID],
    });
    started.push(ecs);
    const functionGraph = await startFunctionGraph({
      iam,
      time,
      dataDir: join(dir, "functiongraph"),
      port: ports.functiongraph,
      apigPort: ports.apig,
      // The VPC is what the boxes serve: their gateways' ports.
      vpcHosts: () => ecs.servers().map((server) => new URL(server.gatewayUrl).host),
    });
    started.push(functionGraph);
    // Telegram delivers webhooks over HTTPS only; the local APIG's certificate is self-signed.
    telegram.trustCertificate(functionGraph.apigCertificate);
    const vpc = await startVpc({ iam, port: ports.vpc });
    started.push(vpc);
    const services: LocalService[] = [
      ecs,
      obs,
      functionGraph,
      telegram,
      maas,
      vpc,
      iamControl(iam),
    ];
    const control: Listening = await startControl(services, ports.control);
    started.push(control);

    const boxes: BoxEndpoint[] = [];
    for (const [i, bot] of gatewayBots.entries()) {
      const seeded = await ecs.seedServer({
        name: `openclaw-${i + 1}`,
        telegramBotToken: bot.token,
      });
      boxes.push({
        name: `box-${i + 1}`,
        serverId: seeded.id,
        gatewayUrl: seeded.gatewayUrl,
        gatewayToken: secrets.gatewayToken,
        telegramBot: bot,
      });
    }

    const endpoints: Endpoints = {
      region: iam.region,
      projectId: iam.projectId,
      credentials: { ak: iam.root.ak, sk: iam.root.sk },
      ecs: ecs.url,
      obs: obs.url,
      functionGraph: functionGraph.url,
      apig: functionGraph.apigUrl,
      apigApi: functionGraph.url,
      apigInstanceId: functionGraph.apigInstance.instanceId,
      apigGroupId: functionGraph.apigInstance.groupId,
      apigHttps: functionGraph.apigHttpsUrl,
      apigCertificate: functionGraph.apigCertificate,
      vpc: vpc.url,
      telegram: telegram.url,
      maas: maas.url,
      control: control.url,
      bucket: BUCKET,
      timeScale: time.factor,
      telegramBots: { alerts: { token: secrets.alertBot, username: "clawwatch_alerts_bot" } },
      alertChatId: ALERT_CHAT_ID,
      operatorUserId: OPERATOR_USER_ID,
      maasApi: { baseUrl: `${maas.url}/v1`, apiKey: secrets.maasKey, model: MODEL },
      boxes,
      apiGuest: { gatewayToken: secrets.gatewayToken, telegramBot: apiGuestBot },
    };
    const endpointsFile = join(dir, "endpoints.json");
    await writeFile(endpointsFile, `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });

    return {
      endpoints,
      endpointsFile,
      guest,
      control: (service, action, params = {}) =>
        controlRequest(control.url, service, action, params),
      stop: () => closeAll(started),
    };
  } catch (error) {
    await closeAll(started);
    throw error;
  }
}

function guestKind(option: GuestKind | undefined): GuestKind {
  const kind = option ?? process.env.CLAWWATCH_GUEST ?? "standin";
  if (kind !== "standin" && kind !== "openclaw") {
    throw new Error(`unknown guest "${kind}": use "standin" or "openclaw" (CLAWWATCH_GUEST)`);
  }
  return kind;
}

async function closeAll(items: { close(): Promise<void> }[]): Promise<void> {
  for (const item of items.reverse()) await item.close().catch(() => {});
}

function botToken(): string {
  return `${randomInt(100_000_000, 999_999_999)}:${randomBytes(26).toString("base64url").slice(0, 35)}`;
}
