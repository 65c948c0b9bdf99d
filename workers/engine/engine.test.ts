import { defineEngineSuite } from "./engine.case.ts";

// The shared engine suite in Node (the sidecar's runtime); engine.worker.test.ts runs it in workerd.
defineEngineSuite();
