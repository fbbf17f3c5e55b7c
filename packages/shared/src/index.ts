export * from './errors.js';
export * from './ids.js';
export * from './limits.js';
export * from './snowflake.js';
export * from './protocol/types.js';
export * from './protocol/codec.js';
export * from './base64.js';
export * from './mls-header.js';
