import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { ClawwatchError, ConfigError } from "../../shared/errors";
import type { CommandContext } from "./context";
import type { TargetKind } from "./deployment";
import { type CliIo, processIo, redacting } from "./io";

const DEFAULT_ENDPOINTS_FILE = ".local-cloud/endpoints.json";

export const HELP = `Usage: npm run infra -- <command> [options]

Sets clawwatch up on Huawei Cloud, or on the local cloud (npm run local-cloud), the same way.

Commands:
  create-server   create the gateway's ECS box (or adopt the one with its name): security group
                  (SSH from the admin CIDR, 18789 from the function subnet), data disk, optional
                  EIP, the bootstrap as user_data; waits for the ECS job
  deploy          build and create-or-update both functions, the TIMER and APIG triggers, and the
                  alert bot's Telegram webhook; a rerun with nothing new changes nothing
  diagnose        run the deployed watchdog's dry run: every probe, open incidents, what the
                  policy would do now
  status          what exists: server, functions, triggers, webhook
  destroy         delete triggers, functions and the webhook (asks first); the server only with
                  --server, its data disk only with --delete-data-disk
  test-alert      send a test message to the alert chat through the watchdog's notifier (and to
                  alerts.secondaryWebhookUrl when set)
  validate        check the deployment file offline: every problem, nothing called

Options:
  --target <local|huawei>  where to act (default local)
  --config <file>          deployment config (JSON, see DEPLOY.md); required for huawei; for
                           local the built-in one for the local cloud is used without it
  --endpoints <file>       the local cloud's endpoints (default ${DEFAULT_ENDPOINTS_FILE})
  --dry-run                create-server, deploy: print the plan, change nothing
  --json                   diagnose, status: print JSON
  --box <name>             diagnose: only this box
  --out-dir <dir>          deploy: where the bundles are built (default dist)
  --yes                    destroy: do not ask
  --server                 destroy: also delete the ECS server and its security group
  --delete-data-disk       destroy --server: delete the data disk too (the workspace is lost)
  --version                print clawwatch's version
  -h, --help               this text; <command> --help for one command

Huawei Cloud credentials come from HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK (never printed), the
project from the config's projectId or HUAWEICLOUD_PROJECT_ID, and every secret the config names
as \${NAME} from the environment variable NAME.`;

const COMMANDS = [
  "create-server",
  "deploy",
  "diagnose",
  "status",
  "destroy",
  "test-alert",
  "validate",
] as const;
type Command = (typeof COMMANDS)[number];

const COMMON = `  --target <local|huawei>  where to act (default local)
  --config <file>          deployment config (JSON, see DEPLOY.md)
  --endpoints <file>       the local cloud's endpoints (default ${DEFAULT_ENDPOINTS_FILE})`;

/** \`infra <command> --help\`: what the command does and the options it reads. */
export const COMMAND_HELP: Record<Command, string> = {
  "create-server": `Usage: npm run infra -- create-server [--dry-run] [--config <file>]

Creates the gateway's ECS box from the config's server block: security group (SSH from
server.adminCidr, 18789 from server.functionSubnetCidr), data disk, optional EIP, the bootstrap as
user_data; waits for the ECS job. A server with the same name is adopted as it is: no security
group is made for it, its groups are checked for the 18789 rule and a missing one is reported.
Without a server block there is nothing to create (watch only: run deploy).

Options:
${COMMON}
  --dry-run                ECS validates the request; nothing is created`,
  deploy: `Usage: npm run infra -- deploy [--dry-run] [--config <file>] [--out-dir <dir>]

First checks everything (config, every secret, the MaaS key with GET /models, both bots' tokens
with getMe, the alert chat with getChat/getChatMember, the gateway URLs, the API gateway); only
then builds and creates or updates both functions, the TIMER and APIG triggers and the alert
bot's webhook. A step that fails deletes the functions this run created and says what is left.

Options:
${COMMON}
  --dry-run                check and print the plan; change nothing
  --out-dir <dir>          where the bundles are built (default dist)`,
  diagnose: `Usage: npm run infra -- diagnose [--json] [--box <name>]

Runs the deployed watchdog's dry run (every probe, open incidents, what the policy would do now)
and checks the alert chat from here (getChat, the bot's membership).

Options:
${COMMON}
  --json                   print JSON
  --box <name>             only this box`,
  status: `Usage: npm run infra -- status [--json]

What exists: server, functions, triggers, webhook, and what stops alerts.

Options:
${COMMON}
  --json                   print JSON`,
  destroy: `Usage: npm run infra -- destroy [--yes] [--server [--delete-data-disk]]

Deletes the triggers, the functions and the webhook (asks first).

Options:
${COMMON}
  --yes                    do not ask
  --server                 also delete the ECS server and its security group (never a watched one)
  --delete-data-disk       with --server: delete the data disk too (the workspace is lost)`,
  "test-alert": `Usage: npm run infra -- test-alert [--config <file>]

Sends one test message to alerts.chatId through the notifier the watchdog uses, and to
alerts.secondaryWebhookUrl when set. Fails with the fix when the chat cannot be written to.

Options:
${COMMON}`,
  validate: `Usage: npm run infra -- validate --config <file> [--target <local|huawei>]

Checks the deployment file without any network call: the schema at every level (typos get a
did-you-mean), every \${NAME} set in the environment, gateway URLs, inline secrets, MaaS URLs.

Options:
  --config <file>          the deployment config to check (required)
  --target <local|huawei>  which target's rules apply (default huawei)`,
};

/** Runs one CLI invocation; returns the exit code (0 ok, 1 failed, 2 usage). */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    io.err(`${(error as Error).message}\n\nRun with --help for the commands and options.`);
    return 2;
  }
  const { values, command } = args;
  if (values.version) {
    io.out(`clawwatch ${await version()}`);
    return 0;
  }
  if (values.help && command !== undefined && COMMANDS.includes(command as Command)) {
    io.out(COMMAND_HELP[command as Command]);
    return 0;
  }
  if (values.help || command === undefined || command === "help") {
    io.out(HELP);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (!COMMANDS.includes(command as Command)) {
    io.err(`unknown command "${command}"; one of: ${COMMANDS.join(", ")}`);
    return 2;
  }
  if (command === "validate") return validate(values, io);
  const target = values.target ?? "local";
  if (target !== "local" && target !== "huawei") {
    io.err(`--target must be local or huawei, not "${target}"`);
    return 2;
  }
  let out = io;
  try {
    const ctx = await context(target, values, io);
    out = ctx.io;
    await dispatch(command as Command, ctx, values);
    return 0;
  } catch (error) {
    out.err(describeError(error));
    return 1;
  }
}

function parse(argv: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      target: { type: "string" },
      config: { type: "string" },
      endpoints: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      box: { type: "string" },
      "out-dir": { type: "string", default: "dist" },
      yes: { type: "boolean", default: false },
      server: { type: "boolean", default: false },
      "delete-data-disk": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
      version: { type: "boolean", default: false },
    },
  });
  if (positionals.length > 1)
    throw new Error(`one command at a time, got: ${positionals.join(" ")}`);
  return { values, command: positionals[0] };
}

type Values = ReturnType<typeof parse>["values"];

/** The SDKs take a while to load: only after --help and the usage checks. */
async function context(target: TargetKind, values: Values, io: CliIo): Promise<CommandContext> {
  const [{ localDeploymentConfig }, { parseDeployment, readDeploymentFile }, t] = await Promise.all(
    [import("../local/product"), import("./deployment"), import("./target")],
  );
  const { huaweiCloud, localCloud, localOverrides, readEndpoints } = t;
  if (target === "local") {
    const endpoints = readEndpoints(values.endpoints ?? DEFAULT_ENDPOINTS_FILE);
    const builtIn = localDeploymentConfig(endpoints);
    const raw = values.config ? readDeploymentFile(values.config) : builtIn.file;
    const { env, filled } = withBuiltIns(io.env, builtIn.env);
    const deployment = parseDeployment(raw, { target, env, local: localOverrides(endpoints) });
    const cloud = localCloud(endpoints);
    const ctx = withRedaction(io, deployment, cloud);
    const used = filled.filter((name) => name in deployment.secrets);
    if (used.length > 0) {
      ctx.io.err(
        `using the local cloud's built-in ${used.join(", ")} (not set in your environment)`,
      );
    }
    for (const note of deployment.overridden) ctx.io.err(`local target: ${note}`);
    return ctx;
  }
  if (!values.config) {
    throw new ConfigError([
      "--config <file> is required for --target huawei (see DEPLOY.md for an example)",
    ]);
  }
  const deployment = parseDeployment(readDeploymentFile(values.config), { target, env: io.env });
  const cloud = huaweiCloud(io.env, deployment.region, deployment.projectId);
  return withRedaction(io, deployment, cloud);
}

/**
 * The user's exported values win: a built-in secret of the local cloud only fills a name the
 * environment leaves unset, so a wrong exported key is deployed (and found) as it is.
 */
export function withBuiltIns(
  userEnv: Readonly<Record<string, string | undefined>>,
  builtIn: Readonly<Record<string, string>>,
): { env: Record<string, string | undefined>; filled: string[] } {
  const filled = Object.keys(builtIn)
    .filter((name) => userEnv[name] === undefined || userEnv[name] === "")
    .sort();
  const env: Record<string, string | undefined> = { ...userEnv };
  for (const name of filled) env[name] = builtIn[name];
  return { env, filled };
}

function withRedaction(
  io: CliIo,
  deployment: CommandContext["deployment"],
  cloud: CommandContext["cloud"],
): CommandContext {
  const secrets = [...Object.values(deployment.secrets), ...cloud.secrets];
  return { io: redacting(io, secrets), cloud, deployment };
}

async function dispatch(command: Command, ctx: CommandContext, values: Values): Promise<void> {
  switch (command) {
    case "create-server": {
      const { createServerCommand } = await import("./create-server");
      await createServerCommand(ctx, { dryRun: values["dry-run"] });
      return;
    }
    case "deploy": {
      const { deployCommand } = await import("./deploy");
      await deployCommand(ctx, { dryRun: values["dry-run"], outDir: resolve(values["out-dir"]) });
      return;
    }
    case "diagnose": {
      const { diagnoseCommand } = await import("./diagnose");
      await diagnoseCommand(ctx, { json: values.json, ...(values.box ? { box: values.box } : {}) });
      return;
    }
    case "status": {
      const { statusCommand } = await import("./status");
      await statusCommand(ctx, { json: values.json });
      return;
    }
    case "test-alert": {
      const { testAlertCommand } = await import("./test-alert");
      await testAlertCommand(ctx);
      return;
    }
    case "validate":
      return;
    case "destroy": {
      const { destroyCommand } = await import("./destroy");
      await destroyCommand(ctx, {
        yes: values.yes,
        server: values.server,
        deleteDataDisk: values["delete-data-disk"],
      });
      return;
    }
  }
}

/**
 * Offline: reads and validates the file the way every command does, calls nothing. The local
 * target needs the local cloud's endpoints, so validate checks against Huawei Cloud's rules
 * unless told otherwise, and on local without a running local cloud.
 */
async function validate(values: Values, io: CliIo): Promise<number> {
  if (!values.config) {
    io.err("validate needs --config <file>\n\nRun validate --help for its options.");
    return 2;
  }
  const target = values.target ?? "huawei";
  if (target !== "local" && target !== "huawei") {
    io.err(`--target must be local or huawei, not "${target}"`);
    return 2;
  }
  const { parseDeployment, readDeploymentFile } = await import("./deployment");
  try {
    const deployment = parseDeployment(readDeploymentFile(values.config), {
      target,
      env: io.env,
    });
    const boxes = deployment.resolve().boxes.map((b) => b.name);
    io.out(
      `${values.config}: valid for ${target} (${boxes.length} box${boxes.length === 1 ? "" : "es"}: ${boxes.join(", ")}; ${Object.keys(deployment.secrets).length} secrets from the environment)`,
    );
    return 0;
  } catch (error) {
    io.err(describeError(error));
    return 1;
  }
}

async function version(): Promise<string> {
  const { readFileSync } = await import("node:fs");
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version?: string;
  };
  return pkg.version ?? "unknown";
}

function describeError(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  if (error instanceof ClawwatchError) return `error: ${error.message}`;
  return `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
}

const runAsScript =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (runAsScript) {
  // The SDKs keep sockets alive; the work is done, so end here rather than wait for them.
  process.exit(await run(process.argv.slice(2), processIo()));
}
