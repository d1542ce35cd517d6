import { FgsError } from "./functiongraph-model";

/**
 * A TIMER trigger's schedule. `every` repeats at a fixed period (Rate, `@every`); `cron` knows
 * its next fire time after any instant (evaluated in UTC; a `CRON_TZ=` prefix is accepted and
 * ignored, as only the period matters on a scaled clock).
 */
export type Schedule =
  | { kind: "every"; periodMs: number }
  | { kind: "cron"; next(afterMs: number): number };

const timerError = (message: string) =>
  new FgsError(400, "FSS.1109", `Invalid timer trigger parameters: ${message}`);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const RATE_UNITS: Record<string, { ms: number; max: number }> = {
  m: { ms: MINUTE, max: 60 },
  h: { ms: HOUR, max: 24 },
  d: { ms: DAY, max: 30 },
};

/** `schedule_type` is case-sensitive on the real API: "CRON" or "rate" get a 400. */
export function parseSchedule(scheduleType: unknown, schedule: unknown): Schedule {
  if (typeof schedule !== "string" || schedule.trim() === "") {
    throw timerError("schedule is required");
  }
  if (scheduleType === "Rate") return parseRate(schedule);
  if (scheduleType === "Cron") return parseCron(schedule);
  throw timerError(
    `schedule_type must be exactly "Rate" or "Cron" (got ${JSON.stringify(scheduleType)})`,
  );
}

function parseRate(schedule: string): Schedule {
  const m = /^(\d+)([mhd])$/.exec(schedule);
  const unit = m?.[2] ? RATE_UNITS[m[2]] : undefined;
  const count = Number(m?.[1]);
  if (!unit || count < 1 || count > unit.max) {
    throw timerError(
      `Rate schedule ${schedule} must be <n>m (1-60), <n>h (1-24) or <n>d (1-30), e.g. 3m`,
    );
  }
  return { kind: "every", periodMs: count * unit.ms };
}

const ALIASES: Record<string, string> = {
  "@yearly": "0 0 0 1 1 *",
  "@annually": "0 0 0 1 1 *",
  "@monthly": "0 0 0 1 * *",
  "@weekly": "0 0 0 * * 0",
  "@daily": "0 0 0 * * *",
  "@midnight": "0 0 0 * * *",
  "@hourly": "0 0 * * * *",
};

function parseCron(raw: string): Schedule {
  const expression = raw.trim().replace(/^CRON_TZ=\S+\s+/, "");
  if (expression.startsWith("@every")) return { kind: "every", periodMs: parseEvery(expression) };
  const fields = (ALIASES[expression] ?? expression).split(/\s+/);
  if (fields.length !== 6) {
    throw timerError(
      `Cron schedule "${raw}" needs 6 fields: second minute hour day-of-month month day-of-week, e.g. "0 */5 * * * ?"`,
    );
  }
  const [sec, min, hour, dom, month, dow] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const spec = {
    seconds: parseField(sec, 0, 59, "second"),
    minutes: parseField(min, 0, 59, "minute"),
    hours: parseField(hour, 0, 23, "hour"),
    days: parseField(dom, 1, 31, "day-of-month", undefined, true),
    months: parseField(month, 1, 12, "month", MONTHS),
    weekdays: parseField(dow, 0, 7, "day-of-week", WEEKDAYS, true),
  };
  if (spec.weekdays.values.has(7)) spec.weekdays.values.add(0);
  nextFire(spec, Date.now()); // refuses "0 0 0 31 2 *" now rather than when it would fire
  return { kind: "cron", next: (afterMs) => nextFire(spec, afterMs) };
}

/** Go durations as robfig/cron takes them: "30m", "1h30m", "90s". */
function parseEvery(expression: string): number {
  const duration = expression.slice("@every".length).trim();
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  const units: Record<string, number> = { ms: 1, s: 1_000, m: MINUTE, h: HOUR };
  const total = parts.reduce((sum, [, n, unit]) => sum + Number(n) * (units[unit ?? ""] ?? 0), 0);
  if (parts.map((p) => p[0]).join("") !== duration || total < 1_000) {
    throw timerError(
      `"${expression}" needs a duration of at least 1s, e.g. "@every 30m" or "@every 1h30m"`,
    );
  }
  return total;
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface Field {
  values: Set<number>;
  /** `*` or `?`: matters for the day-of-month / day-of-week rule. */
  any: boolean;
}

function parseField(
  text: string,
  low: number,
  high: number,
  name: string,
  names?: string[],
  questionAllowed = false,
): Field {
  if (text === "?" || text === "*") {
    if (text === "?" && !questionAllowed)
      throw timerError(`"?" is only allowed in the day fields, not in the ${name}`);
    return { values: range(low, high, 1), any: true };
  }
  const values = new Set<number>();
  for (const item of text.split(",")) {
    const m = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
    if (!m?.[1])
      throw timerError(
        `cannot read "${item}" in the ${name} field (supported: *, ?, n, a-b, */n, a/n, a-b/n, lists)`,
      );
    const step = m[2] === undefined ? 1 : Number(m[2]);
    let from = low;
    let to = high;
    if (m[1] !== "*") {
      const [a, b] = m[1].split("-");
      from = value(a ?? "", low, high, name, names);
      to = b === undefined ? (m[2] === undefined ? from : high) : value(b, low, high, name, names);
    }
    if (step < 1 || from > to) throw timerError(`"${item}" is an empty range in the ${name} field`);
    for (const v of range(from, to, step)) values.add(v);
  }
  return { values, any: false };
}

function value(text: string, low: number, high: number, name: string, names?: string[]): number {
  const named = names?.indexOf(text.toUpperCase()) ?? -1;
  const n =
    named >= 0
      ? named + (name === "month" ? 1 : 0)
      : /^\d+$/.test(text)
        ? Number(text)
        : Number.NaN;
  if (!Number.isInteger(n) || n < low || n > high) {
    throw timerError(`"${text}" is out of range for the ${name} field (${low}-${high})`);
  }
  return n;
}

function range(from: number, to: number, step: number): Set<number> {
  const out = new Set<number>();
  for (let v = from; v <= to; v += step) out.add(v);
  return out;
}

interface CronSpec {
  seconds: Field;
  minutes: Field;
  hours: Field;
  days: Field;
  months: Field;
  weekdays: Field;
}

/** Standard cron rule: when both day fields are restricted, either one matching is enough. */
function dayMatches(spec: CronSpec, date: Date): boolean {
  const dom = spec.days.values.has(date.getUTCDate());
  const dow = spec.weekdays.values.has(date.getUTCDay());
  if (spec.days.any || spec.weekdays.any) return dom && dow;
  return dom || dow;
}

/** Field by field, jumping whole months / days / hours / minutes when a field cannot match. */
function nextFire(spec: CronSpec, afterMs: number): number {
  const t = new Date(Math.floor(afterMs / 1000) * 1000 + 1000);
  const limit = afterMs + 5 * 366 * DAY;
  while (t.getTime() <= limit) {
    if (!spec.months.values.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
    } else if (!dayMatches(spec, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
    } else if (!spec.hours.values.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
    } else if (!spec.minutes.values.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
    } else if (!spec.seconds.values.has(t.getUTCSeconds())) {
      t.setUTCSeconds(t.getUTCSeconds() + 1, 0);
    } else {
      return t.getTime();
    }
  }
  throw timerError("the cron expression never fires (within 5 years)");
}
