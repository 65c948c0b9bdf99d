import { defineRequestAuthnSuite } from "./request-authn.case.ts";

// The shared request-authentication suite inside workerd (the edge worker's runtime).
defineRequestAuthnSuite();
