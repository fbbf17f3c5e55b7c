/** Convergent state (Yjs): per-conversation and account documents, their sync, compaction and effects on rows. */
export { ConversationState, type DisappearingTimer, type GroupProfile } from './conversation-state.js';
export { AccountState, type ChatPrefs } from './account-state.js';
export { StateLayer, LOCAL, type StateLayerConfig, type StateLayerEvents, type LoadedDoc } from './state-layer.js';
export { ClientState } from './client-state.js';
export type { DocStore, MessageEraser, StoredDoc } from './ports.js';
export * from './limits.js';
