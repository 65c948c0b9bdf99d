import { defineAuthzSuite } from "./authz.case.ts";

// The shared authz suite in Node (the sidecar's runtime); authz.worker.test.ts runs it in workerd.
defineAuthzSuite();
