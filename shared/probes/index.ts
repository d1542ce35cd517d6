export { type GatewayProbeOptions, probeGateway } from "./gateway";
export { MAAS_HINTS, type MaasProbeOptions, probeMaas } from "./maas";
export { type ObserveDeps, type ObservePlan, observe, type ProbeSettings } from "./observe";
export { probeServer, type ServerProbeOptions } from "./server";
export { probeTelegram, type TelegramProbeOptions } from "./telegram";
export * from "./types";
