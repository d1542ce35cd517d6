import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where `npm run openclaw:setup` puts the real gateway, and how to check it is there.
 * The gateway needs Node 24 (the project runs on Node 20), so both live in a git-ignored cache.
 */

export const OPENCLAW_VERSION = "2026.9.6";
/** node-<platform>-<arch> from the npm registry: a plain tarball with the binary, no install script. */
export const NODE_VERSION = "24.21.0";

const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The committed package.json + package-lock.json that pin openclaw and its dependencies. */
export const GATEWAY_MANIFEST_DIR = fileURLToPath(new URL("./gateway/", import.meta.url));

export interface OpenclawInstall {
  /** The cache folder (default `<project>/.cache/openclaw`). */
  readonly cacheDir: string;
  readonly nodeDir: string;
  /** The Node 24 binary the gateway runs on. */
  readonly node: string;
  readonly gatewayDir: string;
  /** `openclaw.mjs`, the package's CLI entry (`node openclaw.mjs gateway run`). */
  readonly entry: string;
  readonly nodeVersion: string;
  readonly openclawVersion: string;
}

/** `CLAWWATCH_OPENCLAW_CACHE` moves the cache (say, to share one install between clones). */
export function openclawInstall(
  cacheDir = process.env.CLAWWATCH_OPENCLAW_CACHE || join(PROJECT_ROOT, ".cache", "openclaw"),
): OpenclawInstall {
  const nodeDir = join(cacheDir, "node");
  const gatewayDir = join(cacheDir, "gateway");
  return {
    cacheDir,
    nodeDir,
    node: join(nodeDir, "bin", "node"),
    gatewayDir,
    entry: join(gatewayDir, "node_modules", "openclaw", "openclaw.mjs"),
    nodeVersion: NODE_VERSION,
    openclawVersion: OPENCLAW_VERSION,
  };
}

/** The npm package holding this machine's Node binary. */
export function nodePackageName(): string {
  return `node-${process.platform}-${process.arch}`;
}

/** The version in a package.json, or undefined when it is missing or unreadable. */
export function packageVersion(packageJson: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(packageJson, "utf8"));
    const version = (parsed as { version?: unknown }).version;
    return typeof version === "string" ? version : undefined;
  } catch {
    return undefined;
  }
}

/** What is missing or stale, without running anything (cheap enough for every guest boot). */
export function installProblems(install: OpenclawInstall): string[] {
  const problems: string[] = [];
  const node = packageVersion(join(install.nodeDir, "package.json"));
  if (!existsSync(install.node) || node !== install.nodeVersion) {
    problems.push(`Node ${install.nodeVersion} is not in ${install.nodeDir}`);
  }
  const openclaw = packageVersion(
    join(install.gatewayDir, "node_modules", "openclaw", "package.json"),
  );
  if (!existsSync(install.entry) || openclaw !== install.openclawVersion) {
    problems.push(`openclaw@${install.openclawVersion} is not in ${install.gatewayDir}`);
  }
  return problems;
}

/** The install, or an error that says to run the setup. */
export function requireOpenclawInstall(install = openclawInstall()): OpenclawInstall {
  const problems = installProblems(install);
  if (problems.length > 0) {
    throw new Error(
      `the real OpenClaw gateway is not installed (${problems.join("; ")}): run npm run openclaw:setup first`,
    );
  }
  return install;
}
