import { defineEngineSuite } from "./engine.case.ts";

// The shared engine suite inside workerd (the edge worker's runtime): same cases, same decisions.
defineEngineSuite();
