import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { delimiter, join } from "node:path";
import { formatElapsed } from "../../shared/text/duration";
import {
  GATEWAY_MANIFEST_DIR,
  installProblems,
  nodePackageName,
  type OpenclawInstall,
  openclawInstall,
  packageVersion,
} from "./install";

/**
 * `npm run openclaw:setup`: Node 24 and the pinned openclaw into the project's git-ignored cache.
 * Idempotent: whatever is already there at the right version is kept, so a second run takes a
 * moment. Node comes as the registry's plain binary tarball (`npm pack`, no install script);
 * openclaw with `npm ci` from the committed lockfile, run on Node 24 (its native prebuilds are
 * chosen for the Node that installs them).
 */

const LOCK_STAMP = ".clawwatch-lock.sha256";

interface Step {
  what: string;
  done: "installed" | "kept";
  ms: number;
}

function main(): void {
  const started = performance.now();
  const install = openclawInstall();
  mkdirSync(install.cacheDir, { recursive: true });
  const steps = [ensureNode(install), ensureGateway(install)];
  const problems = installProblems(install);
  if (problems.length > 0) fail(`setup finished but ${problems.join("; ")}`);
  if (steps.some((s) => s.done === "installed")) smokeTest(install);
  for (const step of steps) {
    console.log(`openclaw:setup: ${step.what}: ${step.done} (${formatElapsed(step.ms)})`);
  }
  console.log(
    `openclaw:setup: ready in ${formatElapsed(performance.now() - started)}; ${install.cacheDir} holds ${diskUse(install.cacheDir)}`,
  );
}

function ensureNode(install: OpenclawInstall): Step {
  const started = performance.now();
  const what = `Node ${install.nodeVersion} (${nodePackageName()})`;
  if (packageVersion(join(install.nodeDir, "package.json")) === install.nodeVersion) {
    const reported = run(install.node, ["-v"], { quiet: true });
    if (reported.trim() === `v${install.nodeVersion}`) {
      return { what, done: "kept", ms: performance.now() - started };
    }
  }
  console.log(`openclaw:setup: fetching ${what}…`);
  const scratch = mkdtempSync(join(install.cacheDir, "download-"));
  try {
    run("npm", ["pack", `${nodePackageName()}@${install.nodeVersion}`, "--silent"], {
      cwd: scratch,
    });
    const tarball = readdirSync(scratch).find((f) => f.endsWith(".tgz"));
    if (!tarball) fail(`npm pack left no tarball in ${scratch}`);
    run("tar", ["xzf", tarball, "-C", scratch], { cwd: scratch });
    rmSync(install.nodeDir, { recursive: true, force: true });
    renameSync(join(scratch, "package"), install.nodeDir);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return { what, done: "installed", ms: performance.now() - started };
}

function ensureGateway(install: OpenclawInstall): Step {
  const started = performance.now();
  const what = `openclaw@${install.openclawVersion}`;
  const lock = readFileSync(join(GATEWAY_MANIFEST_DIR, "package-lock.json"));
  const lockHash = createHash("sha256").update(lock).digest("hex");
  const stamp = join(install.gatewayDir, LOCK_STAMP);
  const current =
    packageVersion(join(install.gatewayDir, "node_modules", "openclaw", "package.json")) ===
      install.openclawVersion &&
    existsSync(stamp) &&
    readFileSync(stamp, "utf8").trim() === lockHash;
  if (current) return { what, done: "kept", ms: performance.now() - started };

  console.log(`openclaw:setup: installing ${what} with npm ci on Node ${install.nodeVersion}…`);
  rmSync(install.gatewayDir, { recursive: true, force: true });
  mkdirSync(install.gatewayDir, { recursive: true });
  for (const file of ["package.json", "package-lock.json"]) {
    copyFileSync(join(GATEWAY_MANIFEST_DIR, file), join(install.gatewayDir, file));
  }
  run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: install.gatewayDir,
    nodeFirst: install,
  });
  writeFileSync(stamp, `${lockHash}\n`);
  return { what, done: "installed", ms: performance.now() - started };
}

/** The CLI must start on the installed Node: catches a broken native prebuild at setup time. */
function smokeTest(install: OpenclawInstall): void {
  const version = run(install.node, [install.entry, "--version"], {
    quiet: true,
    nodeFirst: install,
  }).trim();
  if (!version.includes(install.openclawVersion)) {
    fail(`openclaw --version printed "${version}", expected ${install.openclawVersion}`);
  }
  console.log(`openclaw:setup: ${version} runs on Node ${install.nodeVersion}`);
}

interface RunOptions {
  cwd?: string;
  quiet?: boolean;
  /** Put this install's Node first on PATH (npm's scripts and openclaw's shebang use it). */
  nodeFirst?: OpenclawInstall;
}

function run(command: string, args: string[], options: RunOptions = {}): string {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: childEnv(options.nodeFirst),
    encoding: "utf8",
    stdio: ["ignore", "pipe", options.quiet ? "pipe" : "inherit"],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) fail(`could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) {
    const tail = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().slice(-1_000);
    fail(`${command} ${args.join(" ")} exited with ${result.status}${tail ? `:\n${tail}` : ""}`);
  }
  return result.stdout;
}

/**
 * `npm run` exports the project's package, its location and the Node 20 it runs on; a nested npm
 * in the cache folder must not inherit those (they would point it back at the project). The
 * user's own npm_config_* settings (cache, registry, proxy) pass through.
 */
const PROJECT_NPM_ENV =
  /^(npm_package_|npm_lifecycle_|npm_command$|npm_execpath$|npm_node_execpath$|npm_config_local_prefix$|npm_config_user_agent$|INIT_CWD$)/i;

function childEnv(nodeFirst: OpenclawInstall | undefined): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !PROJECT_NPM_ENV.test(key)),
  );
  if (nodeFirst) env.PATH = [join(nodeFirst.nodeDir, "bin"), env.PATH ?? ""].join(delimiter);
  return env;
}

function diskUse(dir: string): string {
  const result = spawnSync("du", ["-sk", dir], { encoding: "utf8" });
  const kb = Number(result.stdout?.split(/\s/)[0]);
  return Number.isFinite(kb) && kb > 0 ? `${Math.round(kb / 1024)} MB` : "an unknown amount";
}

function fail(message: string): never {
  console.error(`openclaw:setup failed: ${message}`);
  process.exit(1);
}

main();
