import { createHash } from "node:crypto";

/** One object as the emulator keeps it: everything OBS would answer with on GET/HEAD. */
export interface StoredObject {
  readonly body: Buffer;
  readonly contentType: string;
  /** User metadata, names lower-cased and without the x-amz-meta- / x-obs-meta- prefix. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Quoted hex MD5 of the body, as OBS returns it for single-part uploads. */
  readonly etag: string;
  readonly lastModified: Date;
}

export interface ObjectSummary {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly contentType: string;
  readonly lastModified: string;
}

export interface ListRequest {
  readonly prefix: string;
  readonly marker: string;
  readonly maxKeys: number;
  readonly delimiter: string;
}

export interface ListPage {
  readonly contents: { key: string; object: StoredObject }[];
  readonly commonPrefixes: string[];
  readonly isTruncated: boolean;
  /** The last key or common prefix returned, when the listing is truncated. */
  readonly nextMarker: string | undefined;
}

interface Bucket {
  readonly created: Date;
  readonly objects: Map<string, StoredObject>;
}

/** OBS/S3 order keys by their UTF-8 bytes, not by JavaScript's UTF-16 code units. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** 3–63 characters: lower-case letters, digits, '-' and '.', starting and ending alphanumeric. */
export function isValidBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes("..") &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name)
  );
}

export function md5Etag(body: Buffer): string {
  return `"${createHash("md5").update(body).digest("hex")}"`;
}

/** The emulator's buckets and objects, all in memory. */
export class ObsStore {
  private readonly buckets = new Map<string, Bucket>();

  hasBucket(name: string): boolean {
    return this.buckets.has(name);
  }

  /** Returns false when the bucket already exists. */
  createBucket(name: string, now = new Date()): boolean {
    if (this.buckets.has(name)) return false;
    this.buckets.set(name, { created: now, objects: new Map() });
    return true;
  }

  deleteBucket(name: string): "deleted" | "missing" | "not-empty" {
    const bucket = this.buckets.get(name);
    if (!bucket) return "missing";
    if (bucket.objects.size > 0) return "not-empty";
    this.buckets.delete(name);
    return "deleted";
  }

  bucketList(): { name: string; created: Date }[] {
    return [...this.buckets.entries()]
      .map(([name, bucket]) => ({ name, created: bucket.created }))
      .sort((a, b) => compareKeys(a.name, b.name));
  }

  get(bucket: string, key: string): StoredObject | undefined {
    return this.buckets.get(bucket)?.objects.get(key);
  }

  /** Stores an object; undefined when the bucket does not exist. */
  put(
    bucket: string,
    key: string,
    object: { body: Buffer; contentType: string; metadata: Record<string, string> },
    now = new Date(),
  ): StoredObject | undefined {
    const target = this.buckets.get(bucket);
    if (!target) return undefined;
    const stored: StoredObject = {
      body: Buffer.from(object.body),
      contentType: object.contentType,
      metadata: { ...object.metadata },
      etag: md5Etag(object.body),
      lastModified: now,
    };
    target.objects.set(key, stored);
    return stored;
  }

  delete(bucket: string, key: string): void {
    this.buckets.get(bucket)?.objects.delete(key);
  }

  /** ListObjects (version 1) semantics: keys after `marker`, rolled up at `delimiter`. */
  list(bucket: string, request: ListRequest): ListPage | undefined {
    const target = this.buckets.get(bucket);
    if (!target) return undefined;
    const { prefix, marker, maxKeys, delimiter } = request;
    const contents: { key: string; object: StoredObject }[] = [];
    const commonPrefixes: string[] = [];
    if (maxKeys <= 0)
      return { contents, commonPrefixes, isTruncated: false, nextMarker: undefined };

    const keys = [...target.objects.keys()]
      .filter((key) => key.startsWith(prefix))
      .sort(compareKeys);
    let last: string | undefined;
    let isTruncated = false;
    for (const key of keys) {
      if (marker !== "" && compareKeys(key, marker) <= 0) continue;
      const rolledUp = this.commonPrefix(key, prefix, delimiter);
      if (rolledUp !== undefined) {
        // Keys under a prefix already returned (or passed by the marker) are skipped.
        if (marker !== "" && compareKeys(rolledUp, marker) <= 0) continue;
        if (rolledUp === commonPrefixes.at(-1)) continue;
      }
      if (contents.length + commonPrefixes.length === maxKeys) {
        isTruncated = true;
        break;
      }
      if (rolledUp !== undefined) {
        commonPrefixes.push(rolledUp);
        last = rolledUp;
      } else {
        const object = target.objects.get(key);
        if (object) contents.push({ key, object });
        last = key;
      }
    }
    return { contents, commonPrefixes, isTruncated, nextMarker: isTruncated ? last : undefined };
  }

  summaries(bucket?: string, prefix = ""): ObjectSummary[] {
    const result: ObjectSummary[] = [];
    for (const { name } of this.bucketList()) {
      if (bucket !== undefined && name !== bucket) continue;
      const objects = this.buckets.get(name)?.objects ?? new Map<string, StoredObject>();
      const keys = [...objects.keys()].filter((key) => key.startsWith(prefix)).sort(compareKeys);
      for (const key of keys) {
        const object = objects.get(key);
        if (!object) continue;
        result.push({
          bucket: name,
          key,
          size: object.body.length,
          etag: object.etag,
          contentType: object.contentType,
          lastModified: object.lastModified.toISOString(),
        });
      }
    }
    return result;
  }

  private commonPrefix(key: string, prefix: string, delimiter: string): string | undefined {
    if (delimiter === "") return undefined;
    const at = key.indexOf(delimiter, prefix.length);
    return at < 0 ? undefined : key.slice(0, at + delimiter.length);
  }
}
