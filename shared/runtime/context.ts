/** The subset of FunctionGraph's Node.js `context` that clawwatch uses. */
export interface FunctionContext {
  getRequestID(): string;
  getRemainingTimeInMilliSeconds(): number;
  getSecurityAccessKey(): string;
  getSecuritySecretKey(): string;
  getSecurityToken(): string;
  getProjectID(): string;
  getFunctionName(): string;
  /** A plain or encrypted environment variable (encrypted ones are not in process.env). */
  getUserData(key: string): string | undefined;
}

/** The TIMER trigger's event; `user_event` is always a string. */
export interface TimerEvent {
  version: string;
  time: string;
  trigger_type: "TIMER";
  trigger_name: string;
  user_event: string;
}

/** A manual invoke (console, SDK, `infra diagnose`). */
export interface CommandEvent {
  command: "diagnose" | "cycle";
  box?: string;
}

export interface ApigEvent {
  body?: string;
  isBase64Encoded?: boolean;
  headers?: Record<string, string | undefined>;
  httpMethod?: string;
  path?: string;
  queryStringParameters?: Record<string, string | undefined>;
  requestContext?: { requestId?: string; apiId?: string; stage?: string };
}

export interface ApigResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

export function isTimerEvent(event: unknown): event is TimerEvent {
  return (
    typeof event === "object" &&
    event !== null &&
    (event as { trigger_type?: unknown }).trigger_type === "TIMER"
  );
}

/** Agency credentials handed to the function; missing when the function has no agency. */
export function agencyCredentials(
  context: FunctionContext,
): { ak: string; sk: string; securityToken: string } | undefined {
  const ak = context.getSecurityAccessKey();
  const sk = context.getSecuritySecretKey();
  const securityToken = context.getSecurityToken();
  if (!ak || !sk) return undefined;
  return { ak, sk, securityToken };
}
