export type { BookinfoService, DownstreamError } from "./downstream.ts";
export { PROPAGATED_HEADERS, SERVICE_PORT } from "./downstream.ts";
export type { SampleService, SampleServiceOptions } from "./sample-service.ts";
export { startSampleService } from "./sample-service.ts";
