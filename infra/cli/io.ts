import { createInterface } from "node:readline/promises";

/** Where a command writes and how it asks; tests pass their own, `main.ts` the process's. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Replaces the current status line on a terminal; elsewhere only changes are printed. */
  status(text: string): void;
  readonly isTTY: boolean;
  confirm(question: string): Promise<boolean>;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export function processIo(): CliIo {
  const isTTY = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  let last = "";
  return {
    out: (text) => {
      if (last && isTTY) process.stdout.write("\n");
      last = "";
      process.stdout.write(`${text}\n`);
    },
    err: (text) => process.stderr.write(`${text}\n`),
    status: (text) => {
      if (isTTY) process.stdout.write(`\r\x1b[2K${text}`);
      // In a log, a new line only when something other than the elapsed time changed.
      else if (withoutElapsed(text) !== withoutElapsed(last)) process.stdout.write(`${text}\n`);
      last = text;
    },
    isTTY,
    async confirm(question) {
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      try {
        const answer = await rl.question(`${question} [y/N] `);
        return /^y(es)?$/i.test(answer.trim());
      } finally {
        rl.close();
      }
    },
    env: process.env,
  };
}

function withoutElapsed(text: string): string {
  return text.replace(/\(\d+ s\)/g, "");
}

/**
 * Replaces every known secret (tokens, keys, AK/SK) with *** in everything written, so an error
 * that quotes a value by accident still prints nothing secret.
 */
export function redacting(io: CliIo, secrets: readonly string[]): CliIo {
  const values = [...new Set(secrets.filter((s) => s.length >= 6))].sort(
    (a, b) => b.length - a.length,
  );
  const clean = (text: string) => values.reduce((t, s) => t.split(s).join("***"), text);
  return {
    ...io,
    out: (text) => io.out(clean(text)),
    err: (text) => io.err(clean(text)),
    status: (text) => io.status(clean(text)),
    confirm: (question) => io.confirm(clean(question)),
  };
}
