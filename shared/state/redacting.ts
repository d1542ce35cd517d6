import { type Redactor, redactDeep } from "../runtime/redact";
import type { ObjectStore } from "./obs-store";

/**
 * Every object a function writes passes the invocation's redactor first: state, commands,
 * audit events, the receiver's ledger and confirmation records all end up here, so no path to
 * OBS can store a token an upstream error echoed. JSON is redacted value by value (then
 * serialised again), so a secret never breaks the document's structure.
 */
export function redactingObjects(client: ObjectStore, redact: Redactor): ObjectStore {
  return {
    getText: (bucket, key) => client.getText(bucket, key),
    putText: (bucket, key, text, contentType) =>
      client.putText(bucket, key, redactText(text, contentType, redact), contentType),
    list: (bucket, prefix) => client.list(bucket, prefix),
    remove: (bucket, key) => client.remove(bucket, key),
    copy: (bucket, from, to) => client.copy(bucket, from, to),
  };
}

function redactText(text: string, contentType: string | undefined, redact: Redactor): string {
  if (contentType === undefined || /json/i.test(contentType)) {
    try {
      return JSON.stringify(redactDeep(redact, JSON.parse(text) as unknown));
    } catch {
      // Not JSON after all: redact it as text.
    }
  }
  return redact(text);
}
