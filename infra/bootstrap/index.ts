export { renderCliWrapper, renderGatewayUnit, renderRepairUnit } from "./installed-files";
export { BOX_LAYOUT, installDirs, type PinnedVersions } from "./layout";
export {
  type BootstrapInput,
  bootstrapInputSchema,
  DEFAULT_VERSIONS,
  renderBootstrap,
  shellQuote,
} from "./render";
export {
  assertUserDataSize,
  encodeUserData,
  USER_DATA_LIMIT_BYTES,
  UserDataTooLargeError,
} from "./user-data";
