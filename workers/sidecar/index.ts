export type { ListenerStats } from "./listener-stats.ts";
export type { ResponseFlag } from "./response-flags.ts";
export { NO_FLAG, RESPONSE_FLAGS_HEADER, ROUTE_HEADER } from "./response-flags.ts";
export type { Sidecar, SidecarOptions, SidecarStats } from "./sidecar.ts";
export { startSidecar } from "./sidecar.ts";
export type { SidecarEnv } from "./sidecar-env.ts";
export { parseLabels, readSidecarEnv } from "./sidecar-env.ts";
