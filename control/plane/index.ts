export { type ApplyPlan, type ExistingEntry, planApply } from "./apply-plan.ts";
export { type ControlPlaneDeps, createControlPlane } from "./control-plane.ts";
export { PlaneError, type PlaneErrorCode } from "./errors.ts";
export { createNatsEventFeed } from "./event-feed.ts";
export { ADMIN_TOKEN_FILE, ADMIN_URL_FILE, jibeHome } from "./home.ts";
export { type ControlPlaneOptions, type RunningControlPlane, startControlPlane } from "./start.ts";
export type {
  ApplyAction,
  ApplyOutcome,
  ApplyResult,
  ControlPlane,
  HistoryItem,
  ListFilter,
  ResourceView,
  ValidationReport,
} from "./types.ts";
