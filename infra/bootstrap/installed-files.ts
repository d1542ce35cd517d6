/** Files the bootstrap installs besides openclaw.json: the systemd units and the CLI wrapper. */
import { gatewayEnvironment } from "../openclaw/config";
import { BOX_LAYOUT, installDirs, type PinnedVersions } from "./layout";

function gatewayEnv(versions: PinnedVersions): Record<string, string> {
  return {
    ...gatewayEnvironment({
      homeDir: BOX_LAYOUT.homeDir,
      stateDir: BOX_LAYOUT.stateDir,
      workspaceDir: BOX_LAYOUT.workspaceDir,
      tmpDir: BOX_LAYOUT.tmpDir,
    }),
    PATH: `${installDirs(versions).nodeDir}/bin:/usr/local/bin:/usr/bin:/bin`,
  };
}

/**
 * The gateway's systemd unit. No secrets here: unit files are world-readable; the token and keys
 * stay in openclaw.json (mode 600).
 */
export function renderGatewayUnit(versions: PinnedVersions, user: string): string {
  const { nodeDir, appDir } = installDirs(versions);
  const environment = Object.entries(gatewayEnv(versions)).map(([k, v]) => `Environment=${k}=${v}`);
  return [
    "[Unit]",
    `Description=OpenClaw gateway ${versions.openclaw} (installed by clawwatch)`,
    "Documentation=https://docs.openclaw.ai",
    "Wants=network-online.target",
    `After=network-online.target ${BOX_LAYOUT.repairUnit}`,
    // Never run with the workspace on the system disk while the data disk failed to mount.
    `RequiresMountsFor=${BOX_LAYOUT.dataDir}`,
    "",
    "[Service]",
    "Type=simple",
    `User=${user}`,
    `Group=${user}`,
    `WorkingDirectory=${BOX_LAYOUT.workspaceDir}`,
    ...environment,
    `ExecStart=${nodeDir}/bin/node ${appDir}/node_modules/openclaw/openclaw.mjs gateway run`,
    "Restart=always",
    "RestartSec=5",
    // 78 = configuration error (or another gateway owns the state dir): restarting cannot help.
    "RestartPreventExitStatus=78",
    "TimeoutStopSec=30",
    "NoNewPrivileges=true",
    "LimitNOFILE=65536",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
  ].join("\n");
}

/** The per-boot repair step: re-runs the bootstrap before the gateway starts. */
export function renderRepairUnit(): string {
  return [
    "[Unit]",
    "Description=clawwatch: check and repair the OpenClaw gateway install before it starts",
    "Wants=network-online.target",
    "After=network-online.target local-fs.target",
    `Before=${BOX_LAYOUT.gatewayUnit}`,
    `ConditionPathExists=${BOX_LAYOUT.selfPath}`,
    "",
    "[Service]",
    "Type=oneshot",
    // The copy is mode 600 (it holds secrets), so it is run through bash rather than executed.
    `ExecStart=/bin/bash ${BOX_LAYOUT.selfPath} --boot`,
    "TimeoutStartSec=20min",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
  ].join("\n");
}

/**
 * `openclaw` for operators on the box (the runbook's `openclaw gateway status`): runs the pinned
 * CLI as the gateway's user with the gateway's environment, so it finds the config and token.
 */
export function renderCliWrapper(versions: PinnedVersions, user: string): string {
  const { nodeDir, appDir } = installDirs(versions);
  const env = Object.entries(gatewayEnv(versions)).map(([k, v]) => `${k}=${v}`);
  return [
    "#!/bin/sh",
    "# The OpenClaw CLI as the gateway's user, with the gateway's environment (installed by clawwatch).",
    'if [ "$(id -u)" -ne 0 ]; then exec sudo "$0" "$@"; fi',
    `exec runuser -u ${user} -- env ${env.join(" ")} \\`,
    `  ${nodeDir}/bin/node ${appDir}/node_modules/openclaw/openclaw.mjs "$@"`,
  ].join("\n");
}
