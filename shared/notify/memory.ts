import type { Notifier, OutgoingMessage } from "./port";
import { type RenderedMessage, renderNotification, renderResolvedHead } from "./render";

export interface DeliveredMessage extends OutgoingMessage {
  messageId: number;
  /** Rendered as Telegram would get it, so a cycle test also catches rendering errors. */
  rendered: RenderedMessage;
}

/** An in-memory Notifier for unit tests of the cycle: records, and fails when told to. */
export interface MemoryNotifier extends Notifier {
  send(message: OutgoingMessage): Promise<{ via: "telegram"; messageId: number }>;
  /** Delivered messages, oldest first. */
  readonly sent: readonly DeliveredMessage[];
  /** First messages rewritten by a "resolved" (as the Telegram notifier edits them). */
  readonly edits: readonly { messageId: number; rendered: RenderedMessage }[];
  /** Every call to send, delivered or not. */
  readonly attempts: readonly OutgoingMessage[];
  /** The next `times` sends (default: all, until called with undefined) reject with `error`. */
  failWith(error: Error | undefined, times?: number): void;
  clear(): void;
}

export function createMemoryNotifier(): MemoryNotifier {
  const sent: DeliveredMessage[] = [];
  const attempts: OutgoingMessage[] = [];
  const edits: { messageId: number; rendered: RenderedMessage }[] = [];
  let failure: Error | undefined;
  let failuresLeft: number | undefined;
  let nextMessageId = 1;

  const takeFailure = (): Error | undefined => {
    if (failure === undefined) return undefined;
    const error = failure;
    if (failuresLeft !== undefined) {
      failuresLeft -= 1;
      if (failuresLeft <= 0) failure = undefined;
    }
    return error;
  };

  return {
    sent,
    attempts,
    edits,
    async send(message) {
      const copy = structuredClone(message);
      attempts.push(copy);
      const error = takeFailure();
      if (error !== undefined) throw error;
      const rendered = renderNotification(copy.box, copy.notification);
      const messageId = nextMessageId++;
      sent.push({ ...copy, messageId, rendered });
      const head = copy.notification.edit?.messageId;
      if (head !== undefined) {
        edits.push({ messageId: head, rendered: renderResolvedHead(copy.box, copy.notification) });
      }
      return { via: "telegram", messageId };
    },
    failWith(error, times) {
      failure = error;
      failuresLeft = error === undefined ? undefined : times;
    },
    clear() {
      sent.length = 0;
      attempts.length = 0;
      edits.length = 0;
      failure = undefined;
      failuresLeft = undefined;
    },
  };
}
