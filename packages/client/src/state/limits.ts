/**
 * Named limits and tunables of the convergent-state layer. Bad input is
 * refused with `invalid_argument` before any document changes.
 */

/** Longest edited message text, in UTF-16 code units (the same bound as a text message's bytes, loosely). */
export const MAX_EDIT_CHARS = 4096;
/** Longest reaction (one emoji, possibly a ZWJ sequence), in UTF-16 code units. */
export const MAX_REACTION_CHARS = 32;
/** Longest group description, in UTF-16 code units. */
export const MAX_GROUP_DESCRIPTION_CHARS = 1024;
/** Longest draft kept in the account document, in UTF-16 code units. */
export const MAX_DRAFT_CHARS = 8192;
/** Longest disappearing-messages timer (shared with the server's retention). */
export { MAX_DISAPPEARING_SECONDS } from '@tidings/shared';
/** Shortest non-zero disappearing-messages timer, in seconds. */
export const MIN_DISAPPEARING_SECONDS = 1;
/** A device posts a compacting snapshot after this many updates (sent or received) since the last snapshot it saw. */
export const SNAPSHOT_EVERY_UPDATES = 200;
/** Bounds of how often a conversation with a timer is swept for expired messages, in ms. */
export const MIN_EXPIRY_SWEEP_MS = 250;
export const MAX_EXPIRY_SWEEP_MS = 60_000;
