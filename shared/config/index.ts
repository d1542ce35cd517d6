export { type EnvSource, envRef, loadConfig, parseConfig, secretsOf } from "./load";
export type { AlertsConfig, BoxConfig, Config } from "./schema";
export { configSchema, normaliseMaasBaseUrl } from "./schema";
