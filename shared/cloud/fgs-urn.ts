/** `urn:fss:<region>:<project>:function:<package>:<name>:latest`, the id every function API takes. */
export function functionUrn(parts: {
  region: string;
  projectId: string;
  name: string;
  pkg?: string;
  version?: string;
}): string {
  const { region, projectId, name, pkg = "default", version = "latest" } = parts;
  return `urn:fss:${region}:${projectId}:function:${pkg}:${name}:${version}`;
}
