/**
 * One base error for everything clawwatch throws on purpose; a subclass per place things fail.
 * Messages say what to do next and never carry a secret: adapters pass redacted text only.
 */
export class ClawwatchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The configuration is invalid; `problems` lists every one of them with its path. */
export class ConfigError extends ClawwatchError {
  constructor(
    readonly problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(
      `Invalid clawwatch configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
      options,
    );
  }
}

/** Reading or writing state, commands or audit events in OBS failed. */
export class StateStoreError extends ClawwatchError {}

/** The Telegram Bot API refused or could not be reached while sending an alert. */
export class NotifyError extends ClawwatchError {}

/** An ECS call (show, start, reboot, reinstall, job status) failed. */
export class ComputeError extends ClawwatchError {}

/** The function was invoked with an event or in a context it cannot work with. */
export class InvocationError extends ClawwatchError {}
