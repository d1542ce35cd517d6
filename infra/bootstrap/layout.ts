/**
 * Where the bootstrap puts things on the gateway host. One place, so the script, the units, the
 * rendered openclaw.json and the docs agree.
 */
export const BOX_LAYOUT = {
  /** Node, npm and openclaw, one folder per pinned version, root-owned (the gateway cannot modify them). */
  optDir: "/opt/openclaw",
  /** The service user's home; on the system disk, so a reinstall starts it fresh. */
  homeDir: "/var/lib/openclaw",
  /** OPENCLAW_STATE_DIR: openclaw.json (mode 600) and the gateway's logs. */
  stateDir: "/var/lib/openclaw/state",
  tmpDir: "/var/lib/openclaw/tmp",
  /** The data disk's mount point; it survives a reinstall of the system disk. */
  dataDir: "/mnt/data",
  workspaceDir: "/mnt/data/clawd",
  /** Filesystem label the bootstrap gives a data disk it formats, and looks for first. */
  dataLabel: "clawdata",
  /** The per-boot repair copy of the script (mode 600: it holds the secrets). */
  selfPath: "/usr/local/sbin/clawwatch-bootstrap",
  /** `openclaw` for operators: the pinned CLI as the gateway's user. */
  cliPath: "/usr/local/bin/openclaw",
  unitDir: "/etc/systemd/system",
  gatewayUnit: "openclaw-gateway.service",
  repairUnit: "clawwatch-bootstrap.service",
} as const;

export interface PinnedVersions {
  openclaw: string;
  node: string;
  npm: string;
}

/** Versioned install folders: a version bump installs beside the old one and the unit switches. */
export function installDirs(versions: PinnedVersions): {
  nodeDir: string;
  npmDir: string;
  appDir: string;
} {
  return {
    nodeDir: `${BOX_LAYOUT.optDir}/node-${versions.node}`,
    npmDir: `${BOX_LAYOUT.optDir}/npm-${versions.npm}`,
    appDir: `${BOX_LAYOUT.optDir}/openclaw-${versions.openclaw}`,
  };
}
