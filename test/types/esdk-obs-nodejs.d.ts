/**
 * The narrow part of esdk-obs-nodejs 3.26.8 that the tests use (the package ships no types; the
 * product signs OBS requests itself, shared/state/obs-request.ts, and never loads the SDK).
 * Shapes were read from lib/obs.js, lib/utils.js and lib/v2Model.js; every method also has a
 * callback form, left out on purpose. HTTP errors never reject: check `CommonMsg.Status`.
 * Only network failures and timeouts reject.
 */
declare module "esdk-obs-nodejs" {
  import type { Agent, ClientRequest } from "node:http";

  namespace ObsClient {
    interface Options {
      access_key_id: string;
      secret_access_key: string;
      /** Temporary (agency) credentials: sent as x-obs-security-token / x-amz-security-token. */
      security_token?: string;
      /** `http://` turns TLS off; an IPv4 host forces path style and the V2 (AWS) scheme. */
      server: string;
      /** 'v4' silently signs V2 in 3.26.8; 'obs' falls back to V2 with path style. */
      signature?: "obs" | "v2";
      path_style?: boolean;
      /** Default true: one unsigned `HEAD /?apiversion` per bucket before the first call. */
      is_signature_negotiation?: boolean;
      /** Retries of network errors only (no HTTP status is retried). Default 3. */
      max_retry_count?: number;
      /** Socket idle timeout in whole seconds (parseInt: 0.5 becomes 0 = no timeout). Default 60. */
      timeout?: number;
      ssl_verify?: boolean | string;
      http_agent?: Agent;
      https_agent?: Agent;
      user_agent?: string;
    }

    interface CommonMsg {
      Status: number;
      Code: string;
      Message: string;
      HostId: string;
      RequestId: string | undefined;
    }

    interface Result<T> {
      CommonMsg: CommonMsg;
      /** Present when Status < 300. */
      InterfaceResult?: T;
    }

    interface BaseInput {
      /** Called with the node:http request right after it is created (before it is sent). */
      RequestHook?: (request: ClientRequest) => void;
    }

    interface BucketInput extends BaseInput {
      Bucket: string;
    }

    interface ObjectInput extends BucketInput {
      Key: string;
    }

    interface BaseOutput {
      RequestId?: string;
    }

    interface CreateBucketInput extends BucketInput {
      Location?: string;
    }

    interface PutObjectInput extends ObjectInput {
      /** Strings only: a Buffer is turned into a UTF-8 string first. */
      Body?: string;
      /** Uploads a file instead of Body; the only way to keep ContentType (see obs-client.ts). */
      SourceFile?: string;
      /** Ignored when Body is set: the SDK then always sends application/json. */
      ContentType?: string;
      ContentLength?: number;
      ContentMD5?: string;
      Metadata?: Record<string, string>;
    }

    interface PutObjectOutput extends BaseOutput {
      ETag: string;
      VersionId?: string;
    }

    interface GetObjectInput extends ObjectInput {
      /** Header values are URL-encoded by the SDK: pass ETags without their quotes. */
      IfMatch?: string;
      IfNoneMatch?: string;
      IfModifiedSince?: string;
      IfUnmodifiedSince?: string;
      VersionId?: string;
    }

    interface GetObjectOutput extends BaseOutput {
      /** The body decoded as UTF-8; absent for an empty object. */
      Content?: string;
      ContentType?: string;
      ContentLength?: string;
      ETag?: string;
      LastModified?: string;
      VersionId?: string;
      Metadata: Record<string, string>;
    }

    interface GetObjectMetadataInput extends ObjectInput {
      VersionId?: string;
    }

    interface GetObjectMetadataOutput extends BaseOutput {
      ContentType?: string;
      ContentLength?: string;
      ETag?: string;
      LastModified?: string;
      VersionId?: string;
      Metadata: Record<string, string>;
    }

    interface DeleteObjectInput extends ObjectInput {
      VersionId?: string;
    }

    interface DeleteObjectOutput extends BaseOutput {
      VersionId?: string;
      DeleteMarker?: string;
    }

    interface ListObjectsInput extends BucketInput {
      Prefix?: string;
      Marker?: string;
      MaxKeys?: number;
      Delimiter?: string;
    }

    /** Every XML value arrives as a string ('' when the element is absent). */
    interface ListedObject {
      Key: string;
      LastModified: string;
      ETag: string;
      Size: string;
      StorageClass: string;
      Owner: { ID: string; Name: string };
    }

    interface ListObjectsOutput extends BaseOutput {
      Bucket: string;
      Prefix: string;
      Marker: string;
      NextMarker: string;
      MaxKeys: string;
      Delimiter: string;
      /** "true" or "false". */
      IsTruncated: string;
      Contents: ListedObject[];
      CommonPrefixes: { Prefix: string }[];
    }

    interface CopyObjectInput extends ObjectInput {
      /** "<bucket>/<key>"; the SDK URL-encodes it in place, so build a fresh input per call. */
      CopySource: string;
      MetadataDirective?: "COPY" | "REPLACE";
      ContentType?: string;
      Metadata?: Record<string, string>;
    }

    interface CopyObjectOutput extends BaseOutput {
      ETag: string;
      LastModified: string;
      VersionId?: string;
    }
  }

  class ObsClient {
    /** Unusable until the next macrotask: construction finishes asynchronously. */
    constructor(options: ObsClient.Options);
    createBucket(
      input: ObsClient.CreateBucketInput,
    ): Promise<ObsClient.Result<ObsClient.BaseOutput>>;
    headBucket(input: ObsClient.BucketInput): Promise<ObsClient.Result<ObsClient.BaseOutput>>;
    putObject(
      input: ObsClient.PutObjectInput,
    ): Promise<ObsClient.Result<ObsClient.PutObjectOutput>>;
    getObject(
      input: ObsClient.GetObjectInput,
    ): Promise<ObsClient.Result<ObsClient.GetObjectOutput>>;
    getObjectMetadata(
      input: ObsClient.GetObjectMetadataInput,
    ): Promise<ObsClient.Result<ObsClient.GetObjectMetadataOutput>>;
    deleteObject(
      input: ObsClient.DeleteObjectInput,
    ): Promise<ObsClient.Result<ObsClient.DeleteObjectOutput>>;
    listObjects(
      input: ObsClient.ListObjectsInput,
    ): Promise<ObsClient.Result<ObsClient.ListObjectsOutput>>;
    copyObject(
      input: ObsClient.CopyObjectInput,
    ): Promise<ObsClient.Result<ObsClient.CopyObjectOutput>>;
    /** Synchronous; drops the client's agents. */
    close(): void;
  }

  export = ObsClient;
}
