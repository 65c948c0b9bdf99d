export { API_PREFIX, createAdminApp } from "./app.ts";
export { requireBearerToken } from "./auth.ts";
export { type AdminErrorCode, AdminHttpError, type ErrorBody } from "./http-errors.ts";
export { type AdminServer, serveAdmin } from "./server.ts";
export type { AdminAppOptions, EventFeed, EventFilter, Readiness, StreamedEvent } from "./types.ts";
