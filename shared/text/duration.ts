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
