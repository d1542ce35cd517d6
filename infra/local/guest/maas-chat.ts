/** The one model call the stand-in makes: an OpenAI-compatible streaming chat completion. */

export interface ChatTarget {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly model: string;
}

export class ModelRequestError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ModelRequestError";
  }
}

const SYSTEM_PROMPT = "You are OpenClaw, a helpful assistant reached through Telegram.";

/** Sends one user message with `stream: true` (as the real gateway does) and joins the deltas. */
export async function streamChatReply(
  target: ChatTarget,
  userText: string,
  signal: AbortSignal,
): Promise<string> {
  const url = `${target.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${target.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: target.model,
        messages: [
          { role: "system", content: SYSTEM_PROMPT },
          { role: "user", content: userText },
        ],
        stream: true,
        stream_options: { include_usage: true },
        max_completion_tokens: 1024,
      }),
      signal,
    });
  } catch (error) {
    throw new ModelRequestError(`model endpoint unreachable (${causeCode(error)})`, undefined, {
      cause: error,
    });
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new ModelRequestError(`model endpoint answered HTTP ${res.status}`, res.status);
  }
  if ((res.headers.get("content-type") ?? "").includes("application/json")) {
    return contentOfCompletion(await res.json());
  }
  return joinStream(res);
}

async function joinStream(res: Response): Promise<string> {
  let text = "";
  let buffer = "";
  const decoder = new TextDecoder();
  if (!res.body) return text;
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    const events = buffer.split(/\r?\n\r?\n/);
    buffer = events.pop() ?? "";
    for (const event of events) {
      const data = dataOf(event);
      if (data === "[DONE]") return text;
      if (data !== undefined) text += deltaOf(data);
    }
  }
  const rest = dataOf(buffer);
  if (rest !== undefined && rest !== "[DONE]") text += deltaOf(rest);
  return text;
}

function dataOf(event: string): string | undefined {
  const lines = event
    .split(/\r?\n/)
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(5).trimStart());
  return lines.length === 0 ? undefined : lines.join("\n");
}

function deltaOf(data: string): string {
  try {
    const chunk = JSON.parse(data) as { choices?: { delta?: { content?: unknown } }[] };
    const content = chunk.choices?.[0]?.delta?.content;
    return typeof content === "string" ? content : "";
  } catch {
    return "";
  }
}

function contentOfCompletion(body: unknown): string {
  const content = (body as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]
    ?.message?.content;
  return typeof content === "string" ? content : "";
}

/** The network error code (ECONNREFUSED, …) without the URL, which may hold a token. */
export function causeCode(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === "string") return cause.code;
  // undici's own causes ("bad port", …) carry no URL, so no token either.
  if (typeof cause?.message === "string" && cause.message.length <= 80) return cause.message;
  if ((error as { name?: unknown } | null)?.name === "AbortError") return "aborted";
  if ((error as { name?: unknown } | null)?.name === "TimeoutError") return "timeout";
  return "network error";
}
