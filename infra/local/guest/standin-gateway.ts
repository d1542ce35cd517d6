import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { type Listening, listen } from "../http";
import { type GuestConfig, GuestConfigError, parseGuestConfig } from "./guest-config";
import { answerGateway, type GatewayState } from "./probes";
import { type GuestReport, isGuestCommand } from "./protocol";
import { TelegramPoller } from "./telegram-poller";

/**
 * The built-in stand-in for the OpenClaw gateway, run by the ECS emulator as a server's guest:
 * `node standin-gateway.mjs <config.json>`. Same probes, same Telegram → model → Telegram loop,
 * a fraction of the start-up cost.
 */

const startedAt = Date.now();

async function main(): Promise<void> {
  const configPath = process.argv[2];
  if (configPath === undefined) {
    throw new Error(
      "usage: node standin-gateway.mjs <config.json> (the config file path is missing)",
    );
  }
  const config = parseGuestConfig(JSON.parse(readFileSync(configPath, "utf8")));
  const log = openLog(config.systemDir);
  const workspace = new Workspace(config.dataDir);
  workspace.recordBoot();

  const poller =
    config.telegramBotToken === ""
      ? undefined
      : new TelegramPoller(
          {
            apiRoot: config.telegramApiRoot,
            botToken: config.telegramBotToken,
            chat: { baseUrl: config.maasBaseUrl, apiKey: config.maasApiKey, model: config.model },
            connectGraceMs: config.connectGraceMs,
            log,
            onReplySent: () => workspace.recordReply(),
          },
          startedAt,
        );

  // Like OpenClaw's startup sidecars, the boot phase starts once the HTTP server listens: timed
  // from the process start, a scaled-down boot would be eaten by Node's own start-up.
  let listenedAt: number | undefined;
  const state = (): GatewayState => {
    const now = Date.now();
    return {
      uptimeMs: now - startedAt,
      starting: listenedAt === undefined || now - listenedAt < config.bootMs,
      failingChannels: poller?.isFailing(now) ? ["telegram"] : [],
    };
  };
  // Handlers go in before "listening" is reported: the emulator may SIGTERM the moment it hears
  // it, and until Node has a SIGTERM listener the signal kills the process outright.
  let server: Listening | undefined;
  let closing = false;
  const shutdown = (why: string): void => {
    if (closing) return;
    closing = true;
    log(`[gateway] received ${why}; shutting down`);
    poller?.close();
    void closeQuietly(server).then(() => process.exit(0));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  // An emulator that died must not leave its guests behind.
  process.on("disconnect", () => shutdown("disconnect from the emulator"));
  process.on("message", (message: unknown) => {
    if (!isGuestCommand(message)) return;
    if (message.type === "stall-polling") poller?.stall();
    else poller?.resume();
    log(`[telegram] ${message.type === "stall-polling" ? "polling stalled" : "polling resumed"}`);
    report({ type: "ack", command: message.type });
  });

  server = await listen((req, res) => respond(req, res, state(), config), config.port);
  if (closing) {
    await closeQuietly(server);
    return;
  }
  listenedAt = Date.now();
  log(`[gateway] http server listening on 127.0.0.1:${server.port}`);
  setTimeout(() => log("[gateway] ready"), config.bootMs).unref();
  poller?.start();
  report({ type: "listening", port: server.port });
}

function respond(
  req: IncomingMessage,
  res: ServerResponse,
  state: GatewayState,
  config: GuestConfig,
): void {
  const path = new URL(req.url ?? "/", "http://gateway.invalid").pathname;
  const method = req.method ?? "GET";
  const answer = answerGateway({ method, path, headers: req.headers }, state, config.gatewayToken);
  res.writeHead(answer.status, {
    ...answer.headers,
    "content-length": String(Buffer.byteLength(answer.body)),
  });
  res.end(method === "HEAD" ? undefined : answer.body);
}

function report(message: GuestReport): void {
  process.send?.(message);
}

function openLog(systemDir: string): (line: string) => void {
  const file = join(systemDir, "logs", "gateway.log");
  mkdirSync(dirname(file), { recursive: true });
  return (line) => appendFileSync(file, `${new Date().toISOString()} ${line}\n`);
}

async function closeQuietly(server: Listening | undefined): Promise<void> {
  if (server === undefined) return;
  await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, 1_000))]);
}

/** A small file on the data disk, so a reinstall can be seen to keep it. */
class Workspace {
  private readonly file: string;
  private state = { boots: 0, repliesSent: 0, lastBootAt: "" };

  constructor(dataDir: string) {
    this.file = join(dataDir, "workspace", "state.json");
    mkdirSync(dirname(this.file), { recursive: true });
    try {
      this.state = { ...this.state, ...JSON.parse(readFileSync(this.file, "utf8")) };
    } catch {
      // First boot or an unreadable file: start counting afresh.
    }
  }

  recordBoot(): void {
    this.state.boots += 1;
    this.state.lastBootAt = new Date().toISOString();
    this.save();
  }

  recordReply(): void {
    this.state.repliesSent += 1;
    this.save();
  }

  private save(): void {
    writeFileSync(this.file, `${JSON.stringify(this.state, null, 2)}\n`);
  }
}

/** OpenClaw's exit status for a config it cannot start with (sysexits EX_CONFIG); systemd's unit does not restart it. */
const EXIT_CONFIG = 78;

main().catch((error: unknown) => {
  console.error(
    `stand-in gateway failed to start: ${error instanceof Error ? error.message : error}`,
  );
  process.exit(error instanceof GuestConfigError ? EXIT_CONFIG : 1);
});
