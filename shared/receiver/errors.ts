import { ClawwatchError, StateStoreError } from "../errors";

/** Something the Telegram receiver does on purpose went wrong; a subclass per place. */
export class ReceiverError extends ClawwatchError {}

/** The receiver's own records in OBS (seen updates, confirmations) could not be read or written. */
export class LedgerError extends StateStoreError {}

/** /status gave up waiting for the probes: the answer must reach Telegram within the webhook's time. */
export class StatusTimeoutError extends ReceiverError {}
