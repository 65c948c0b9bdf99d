import { defineAuthzSuite } from "./authz.case.ts";

// The shared authz suite inside workerd (the edge worker's runtime): same cases, same decisions.
defineAuthzSuite();
