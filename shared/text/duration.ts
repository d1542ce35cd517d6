/**
 * The one way clawwatch writes a length of time, in alerts, replies, notes and the CLI: "45 s",
 * "2 min", "1 h", "1 h 5 min", "2 d", "1 d 6 h". Rounded to the unit shown, zero parts left out,
 * so one incident reads the same in every message.
 */
export function formatDuration(ms: number): string {
  const seconds = Number.isFinite(ms) ? Math.max(0, Math.round(ms / 1000)) : 0;
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return joinParts(hours, "h", minutes % 60, "min");
  const wholeHours = Math.round(minutes / 60);
  return joinParts(Math.floor(wholeHours / 24), "d", wholeHours % 24, "h");
}

function joinParts(big: number, bigUnit: string, small: number, smallUnit: string): string {
  return small === 0 ? `${big} ${bigUnit}` : `${big} ${bigUnit} ${small} ${smallUnit}`;
}

/**
 * A configured length as it was written, not rounded: "90 s", "10 min", "1 h" (a measured one is
 * formatDuration's). Same units; a value of no whole second falls back to formatDuration.
 */
export function formatSpan(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return ms >= 0 && ms % 1_000 === 0 ? `${ms / 1_000} s` : formatDuration(ms);
}

/** A time measured by a tool to the tenth of a second, for progress lines: "3.2 s". */
export function formatElapsed(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}
