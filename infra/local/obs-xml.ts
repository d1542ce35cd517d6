import type { ObsScheme } from "./obs-signing";
import type { ListPage, ListRequest } from "./obs-store";

const DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>';

/** OBS answers in its own namespace to OBS-signed requests and in S3's to AWS-signed ones. */
const NAMESPACE: Record<ObsScheme, string> = {
  OBS: "http://obs.myhwclouds.com/doc/2015-06-30/",
  AWS: "http://s3.amazonaws.com/doc/2006-03-01/",
};

export const OWNER_ID = "clawwatchlocalowner0000000000000";

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

const el = (name: string, value: string | number | boolean): string =>
  `<${name}>${escapeXml(String(value))}</${name}>`;

/** `<Error><Code/><Message/>…details…<RequestId/><HostId/></Error>`, the shape OBS and S3 share. */
export function errorXml(
  code: string,
  message: string,
  requestId: string,
  hostId: string,
  details: Record<string, string> = {},
): string {
  const extra = Object.entries(details)
    .map(([name, value]) => el(name, value))
    .join("");
  return `${DECLARATION}<Error>${el("Code", code)}${el("Message", message)}${extra}${el("RequestId", requestId)}${el("HostId", hostId)}</Error>`;
}

export function listBucketResultXml(
  scheme: ObsScheme,
  bucket: string,
  request: ListRequest,
  page: ListPage,
): string {
  const contents = page.contents
    .map(
      ({ key, object }) =>
        `<Contents>${el("Key", key)}${el("LastModified", object.lastModified.toISOString())}${el("ETag", object.etag)}${el("Size", object.body.length)}<Owner>${el("ID", OWNER_ID)}</Owner>${el("StorageClass", "STANDARD")}</Contents>`,
    )
    .join("");
  const prefixes = page.commonPrefixes
    .map((prefix) => `<CommonPrefixes>${el("Prefix", prefix)}</CommonPrefixes>`)
    .join("");
  return [
    DECLARATION,
    `<ListBucketResult xmlns="${NAMESPACE[scheme]}">`,
    el("Name", bucket),
    el("Prefix", request.prefix),
    el("Marker", request.marker),
    page.nextMarker === undefined ? "" : el("NextMarker", page.nextMarker),
    el("MaxKeys", request.maxKeys),
    request.delimiter === "" ? "" : el("Delimiter", request.delimiter),
    el("IsTruncated", page.isTruncated),
    contents,
    prefixes,
    "</ListBucketResult>",
  ].join("");
}

export function listAllMyBucketsXml(
  scheme: ObsScheme,
  buckets: { name: string; created: Date }[],
): string {
  const items = buckets
    .map(
      ({ name, created }) =>
        `<Bucket>${el("Name", name)}${el("CreationDate", created.toISOString())}</Bucket>`,
    )
    .join("");
  return `${DECLARATION}<ListAllMyBucketsResult xmlns="${NAMESPACE[scheme]}"><Owner>${el("ID", OWNER_ID)}</Owner><Buckets>${items}</Buckets></ListAllMyBucketsResult>`;
}

export function copyObjectResultXml(scheme: ObsScheme, etag: string, lastModified: Date): string {
  return `${DECLARATION}<CopyObjectResult xmlns="${NAMESPACE[scheme]}">${el("LastModified", lastModified.toISOString())}${el("ETag", etag)}</CopyObjectResult>`;
}
