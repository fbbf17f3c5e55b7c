/// <reference types="vite/client" />

/** Set by vite.config.ts: true only in test builds (TIDINGS_TEST_HOOKS=1), which carry the EngineTestHooks. */
declare const __TIDINGS_TEST_HOOKS__: boolean;
