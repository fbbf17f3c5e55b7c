/** Named limits shared by server and client. Decoders never allocate beyond these. */

/** Largest WebSocket frame either side accepts, in bytes. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Largest encrypted entry body, in bytes (room for MLS commits of large groups). */
export const MAX_BODY_BYTES = 512 * 1024;
/** Longest client message id (the idempotency key), in UTF-8 bytes. */
export const MAX_CLIENT_MSG_ID_BYTES = 64;
/** Longest bearer token accepted, in bytes. */
export const MAX_TOKEN_BYTES = 256;
/** Most conversations a hello's vector cursor may name. */
export const MAX_CURSOR_ENTRIES = 20_000;
/** Most entries the server puts into one catch-up page. */
export const MAX_ENTRIES_PER_PAGE = 256;
/** Most entries any decoder accepts in one frame (a ceiling over MAX_ENTRIES_PER_PAGE). */
export const MAX_ENTRIES_PER_FRAME = 4096;
/** Most members a group may have. */
export const MAX_GROUP_MEMBERS = 2048;
/** Longest group name, in characters. */
export const MAX_GROUP_NAME_CHARS = 128;
/** Longest error or human-readable string in a frame, in bytes. */
export const MAX_TEXT_BYTES = 4096;
/** Username length bounds, in characters. */
export const MIN_USERNAME_CHARS = 3;
export const MAX_USERNAME_CHARS = 32;
/** Password length bounds, in characters. */
export const MIN_PASSWORD_CHARS = 8;
export const MAX_PASSWORD_CHARS = 1024;
/** Longest device name, in characters. */
export const MAX_DEVICE_NAME_CHARS = 64;
/** Largest JSON body any HTTP endpoint accepts, in bytes. */
export const MAX_HTTP_JSON_BYTES = 1024 * 1024;
/** getMessages page size: default and ceiling. */
export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 200;
/** How long a new socket may take to send its hello, in ms. */
export const HELLO_TIMEOUT_MS = 10_000;
/** Most users one device may watch the presence of. */
export const MAX_WATCHED_USERS = 1024;
/** Most receipt or presence items in one frame. */
export const MAX_ITEMS_PER_FRAME = 4096;
/** A typing indicator without a refresh is forgotten after this long, in ms. */
export const TYPING_TTL_MS = 6000;
/** A device's typing frames for one conversation are passed on at most this often, in ms. */
export const TYPING_MIN_INTERVAL_MS = 1000;
/** Largest KeyPackage accepted, in bytes (post-quantum suites make them ~2.7 KiB). */
export const MAX_KEY_PACKAGE_BYTES = 16 * 1024;
/** Most KeyPackages the server keeps in stock per device. */
export const MAX_KEY_PACKAGES_PER_DEVICE = 100;
/** Most KeyPackages in one upload. */
export const MAX_KEY_PACKAGES_PER_UPLOAD = 100;
/** A device whose stock falls to this many is told to upload more. */
export const KEY_PACKAGE_LOW_WATER = 10;
/** Largest device-inbox item (a Welcome into a large group carries the ratchet tree), in bytes. */
export const MAX_INBOX_ITEM_BYTES = 768 * 1024;
/** Most items in one inbox post. */
export const MAX_INBOX_ITEMS_PER_POST = 256;
/** Most undelivered items one device's inbox holds; posts beyond it are refused. */
export const MAX_INBOX_ITEMS_PER_DEVICE = 10_000;
/** Longest disappearing-messages timer (the encrypted one in a conversation's state, and the retention a member tells the server): one year, in seconds. */
export const MAX_DISAPPEARING_SECONDS = 365 * 24 * 3600;
