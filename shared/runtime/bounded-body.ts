import { ClawwatchError } from "../errors";

/**
 * Every answer body clawwatch reads is capped at what its parser needs: a gateway, a proxy or an
 * attacker in between that streams a gigabyte must cost a probe result, not the whole cycle's
 * memory. The stream is cancelled (the socket closed) as soon as the cap is passed.
 */

/** What each reader may take, in bytes; generous against the largest real answer. */
export const BODY_LIMITS = {
  /** /readyz: `{"ready":…,"failing":[…]}`, well under 1 KB in practice. */
  gateway: 64 * 1024,
  /** MaaS /models (a long model list) and a four-token completion. */
  maas: 1024 * 1024,
  /** Bot API envelopes: a sent message echoes at most 4096 characters plus entities. */
  telegram: 256 * 1024,
  /** ECS ShowServer / job answers (a server with many NICs and tags is ~20 KB). */
  ecs: 1024 * 1024,
  /** One OBS object (state, command, event, user_data) or one list page of 1000 keys. */
  obs: 4 * 1024 * 1024,
} as const;

/** An answer was longer than its reader allows; it was cut off and not parsed. */
export class AnswerTooLargeError extends ClawwatchError {
  constructor(
    readonly limitBytes: number,
    /** HTTP status of the answer, when there was one. */
    readonly status?: number,
  ) {
    super(
      `answer too large: more than ${describeBytes(limitBytes)}${status === undefined ? "" : ` (HTTP ${status})`}; it was cut off unread`,
    );
  }
}

export function describeBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round(bytes / (1024 * 1024))} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

/** True when the error, or anything in its cause chain, is an AnswerTooLargeError. */
export function tooLargeIn(error: unknown): AnswerTooLargeError | undefined {
  let item = error;
  for (let depth = 0; depth < 8 && typeof item === "object" && item !== null; depth++) {
    if (item instanceof AnswerTooLargeError) return item;
    item = (item as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The body as UTF-8 text, at most `maxBytes`. A declared Content-Length past the cap is refused
 * before a byte is read; otherwise reading stops and the stream is cancelled past the cap.
 */
export async function readBoundedText(response: Response, maxBytes: number): Promise<string> {
  const bytes = await readBoundedBytes(response, maxBytes);
  return new TextDecoder().decode(bytes);
}

export async function readBoundedBytes(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new AnswerTooLargeError(maxBytes, response.status);
  }
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new AnswerTooLargeError(maxBytes, response.status);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/**
 * A fetch whose answers carry a capped body: for clients that read the body themselves (the
 * OpenAI client). Past the cap the body stream errors with AnswerTooLargeError and the
 * underlying stream is cancelled.
 */
export function boundedFetch(maxBytes: number, inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    const declared = Number(response.headers.get("content-length"));
    if (Number.isFinite(declared) && declared > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new AnswerTooLargeError(maxBytes, response.status);
    }
    if (response.body === null) return response;
    const body = capStream(response.body, maxBytes, response.status);
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

function capStream(
  source: ReadableStream<Uint8Array>,
  maxBytes: number,
  status: number,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let total = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        controller.error(new AnswerTooLargeError(maxBytes, status));
        return;
      }
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
