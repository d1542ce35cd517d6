import { createRedactor, type Redactor } from "./redact";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

/** The narrow logger every adapter takes; the real one writes redacted JSON lines. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface JsonLoggerOptions {
  /** The invocation's redactor; wins over `secrets`. */
  redact?: Redactor;
  secrets?: readonly string[];
  level?: LogLevel;
  write?: (line: string) => void;
  now?: () => Date;
  fields?: LogFields;
}

/** One JSON object per line (FunctionGraph ships stdout to LTS); every line passes the redactor. */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const redact = options.redact ?? createRedactor(options.secrets ?? []);
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  return build(redact, ORDER[options.level ?? "info"], write, now, options.fields ?? {});
}

function build(
  redact: Redactor,
  min: number,
  write: (line: string) => void,
  now: () => Date,
  base: LogFields,
): Logger {
  const emit = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    if (ORDER[level] < min) return;
    const record = { time: now().toISOString(), level, msg, ...base, ...fields };
    write(redact(JSON.stringify(record, errorReplacer)));
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (fields) => build(redact, min, write, now, { ...base, ...fields }),
  };
}

/** Errors serialise to name, message and cause chain; never their (possibly secret-laden) config. */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return {
      name: value.name,
      message: value.message,
      ...(value.cause !== undefined ? { cause: errorReplacer("cause", value.cause) } : {}),
    };
  }
  return value;
}

/** A logger that drops everything (for dry runs inside tests that assert on other output). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
