/**
 * The model behind the MaaS fake: a deterministic, short reply (a few words of the last user
 * message) and OpenAI's response shapes for it, whole or as chat.completion.chunk events.
 */

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface Completion {
  id: string;
  model: string;
  created: number;
  content: string;
  finishReason: "stop" | "length";
  usage: Usage;
}

export interface ChatRequest {
  model: string;
  messages: unknown[];
  stream: boolean;
  includeUsage: boolean;
  maxTokens: number | undefined;
  toolCount: number;
}

const REPLY_WORDS = 8;

/** Token estimate used everywhere here: about four characters per token. */
export const estimateTokens = (chars: number): number => Math.ceil(chars / 4);

export function complete(request: ChatRequest, id: string): Completion {
  const words = lastUserText(request.messages).split(/\s+/).filter(Boolean).slice(0, REPLY_WORDS);
  let content = words.length === 0 ? "Local MaaS reply." : `Local MaaS reply: ${words.join(" ")}`;
  let finishReason: Completion["finishReason"] = "stop";
  if (request.maxTokens !== undefined && estimateTokens(content.length) > request.maxTokens) {
    content = content.slice(0, Math.max(0, request.maxTokens * 4));
    finishReason = "length";
  }
  const prompt = estimateTokens(promptChars(request.messages));
  const completion = estimateTokens(content.length);
  return {
    id,
    model: request.model,
    created: Math.floor(Date.now() / 1000),
    content,
    finishReason,
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    },
  };
}

export function completionBody(completion: Completion): Record<string, unknown> {
  return {
    id: completion.id,
    object: "chat.completion",
    created: completion.created,
    model: completion.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: completion.content, refusal: null },
        logprobs: null,
        finish_reason: completion.finishReason,
      },
    ],
    usage: completion.usage,
    system_fingerprint: null,
  };
}

/** The SSE `data:` payloads in order, ending with `[DONE]`. */
export function streamEvents(completion: Completion, includeUsage: boolean): string[] {
  const chunk = (choices: Record<string, unknown>[], usage: Usage | null | undefined): string => {
    const body: Record<string, unknown> = {
      id: completion.id,
      object: "chat.completion.chunk",
      created: completion.created,
      model: completion.model,
      system_fingerprint: null,
      choices,
    };
    if (includeUsage) body.usage = usage ?? null;
    return JSON.stringify(body);
  };
  const delta = (content: Record<string, unknown>, finish: string | null) => [
    { index: 0, delta: content, logprobs: null, finish_reason: finish },
  ];
  const pieces = completion.content.match(/\S+\s*/g) ?? [];
  const events = [
    chunk(delta({ role: "assistant", content: "", refusal: null }, null), null),
    ...pieces.map((piece) => chunk(delta({ content: piece }, null), null)),
    chunk(delta({}, completion.finishReason), null),
  ];
  if (includeUsage) events.push(chunk([], completion.usage));
  events.push("[DONE]");
  return events;
}

function lastUserText(messages: unknown[]): string {
  const user = [...messages].reverse().find((message) => roleOf(message) === "user");
  return user === undefined ? "" : contentText(user);
}

function promptChars(messages: unknown[]): number {
  return messages.reduce<number>((sum, message) => sum + contentText(message).length, 0);
}

function roleOf(message: unknown): unknown {
  return typeof message === "object" && message !== null
    ? (message as { role?: unknown }).role
    : undefined;
}

/** Content is a string or an array of parts ({type:"text", text}); other parts count as JSON. */
function contentText(message: unknown): string {
  if (typeof message !== "object" || message === null) return "";
  const content = (message as { content?: unknown }).content;
  if (typeof content === "string") return content;
  if (!Array.isArray(content))
    return content === undefined || content === null ? "" : JSON.stringify(content);
  return content
    .map((part) =>
      typeof part === "object" &&
      part !== null &&
      typeof (part as { text?: unknown }).text === "string"
        ? (part as { text: string }).text
        : JSON.stringify(part),
    )
    .join(" ");
}
