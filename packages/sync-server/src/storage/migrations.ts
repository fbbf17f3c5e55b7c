/**
 * Schema migrations, applied in order by both adapters. Every per-conversation
 * table keeps conversation_id first in its key so the log can be distributed
 * by conversation (Citus-style) without changing queries.
 */
import type { SqlClient } from './sql.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, conversations, members, log',
    sql: `
CREATE TABLE users (
  id bigint PRIMARY KEY,
  username text NOT NULL,
  password_hash text NOT NULL,
  created_at bigint NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

CREATE TABLE devices (
  id bigint PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id),
  name text NOT NULL,
  token_hash bytea NOT NULL,
  created_at bigint NOT NULL,
  revoked_at bigint
);
CREATE UNIQUE INDEX devices_token ON devices (token_hash);
CREATE INDEX devices_user ON devices (user_id);

-- kind: 1 dm, 2 group, 3 self. dm_key is 'lo:hi' for a DM, 'self:<user>' for self.
CREATE TABLE conversations (
  id bigint PRIMARY KEY,
  kind smallint NOT NULL,
  name text NOT NULL DEFAULT '',
  dm_key text UNIQUE,
  created_by bigint NOT NULL,
  last_id bigint NOT NULL DEFAULT 0,
  created_at bigint NOT NULL
);

-- A member reads entries in (since_id, until_id]; until_id is NULL while the membership is active.
CREATE TABLE members (
  conversation_id bigint NOT NULL,
  user_id bigint NOT NULL,
  since_id bigint NOT NULL DEFAULT 0,
  until_id bigint,
  joined_at bigint NOT NULL,
  -- 1 for the group's admins (its creator), 0 otherwise.
  role smallint NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX members_user ON members (user_id, conversation_id);

CREATE TABLE entries (
  conversation_id bigint NOT NULL,
  id bigint NOT NULL,
  prev_id bigint NOT NULL,
  sender_user_id bigint NOT NULL,
  sender_device_id bigint NOT NULL,
  client_msg_id text NOT NULL,
  type smallint NOT NULL,
  body bytea NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (conversation_id, id)
);
CREATE UNIQUE INDEX entries_idempotency ON entries (conversation_id, sender_device_id, client_msg_id);
`,
  },
  {
    version: 2,
    name: 'receipts as cursors, privacy settings, last seen',
    sql: `
-- One delivered and one read position per (conversation, user): a receipt costs O(1) writes.
CREATE TABLE receipts (
  conversation_id bigint NOT NULL,
  user_id bigint NOT NULL,
  delivered_upto bigint NOT NULL DEFAULT 0,
  read_upto bigint NOT NULL DEFAULT 0,
  updated_at bigint NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
);
ALTER TABLE users ADD COLUMN read_receipts boolean NOT NULL DEFAULT true;
ALTER TABLE users ADD COLUMN show_last_seen boolean NOT NULL DEFAULT true;
ALTER TABLE users ADD COLUMN last_seen bigint;
`,
  },
  {
    version: 3,
    name: 'MLS delivery service: key packages, device inboxes, epochs',
    sql: `
-- KeyPackages a device uploaded for others to add it to groups; each is handed out once.
CREATE TABLE key_packages (
  device_id bigint NOT NULL,
  id bigint NOT NULL,
  body bytea NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (device_id, id)
);
-- Device-addressed payloads (Welcome messages, history transfer), deleted when the device acks them.
CREATE TABLE inbox (
  device_id bigint NOT NULL,
  id bigint NOT NULL,
  sender_user_id bigint NOT NULL,
  sender_device_id bigint NOT NULL,
  kind smallint NOT NULL,
  body bytea NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (device_id, id)
);
-- The MLS epoch a conversation's group is in, once its first Commit is logged (NULL before).
ALTER TABLE conversations ADD COLUMN mls_epoch bigint;
`,
  },
  {
    version: 4,
    name: 'node id leases',
    sql: `
-- Each running node leases a Snowflake node id; an expired lease may be taken over.
CREATE TABLE node_leases (
  node_id integer PRIMARY KEY,
  holder text NOT NULL,
  expires_at bigint NOT NULL
);
`,
  },
  {
    version: 5,
    name: 'push subscriptions, mutes, durable push queue',
    sql: `
-- One Web Push subscription of a device; the endpoint is the push service's URL for it (unique).
CREATE TABLE push_subscriptions (
  endpoint text PRIMARY KEY,
  user_id bigint NOT NULL,
  device_id bigint NOT NULL,
  p256dh text NOT NULL,
  auth text NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id);
CREATE INDEX push_subscriptions_device ON push_subscriptions (device_id);
-- A muted conversation of a user: no pushes while muted_until is NULL (for ever) or in the future.
CREATE TABLE push_mutes (
  user_id bigint NOT NULL,
  conversation_id bigint NOT NULL,
  muted_until bigint,
  PRIMARY KEY (user_id, conversation_id)
);
-- The coalescing window: new messages for an offline user, counted per conversation until due_at.
CREATE TABLE push_pending (
  user_id bigint NOT NULL,
  conversation_id bigint NOT NULL,
  count integer NOT NULL,
  due_at bigint NOT NULL,
  PRIMARY KEY (user_id, conversation_id)
);
CREATE INDEX push_pending_due ON push_pending (due_at);
-- One push to send to one subscription, retried with backoff; rev moves when a newer count is merged in.
CREATE TABLE push_outbox (
  endpoint text NOT NULL,
  conversation_id bigint NOT NULL,
  user_id bigint NOT NULL,
  count integer NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  rev integer NOT NULL DEFAULT 0,
  due_at bigint NOT NULL,
  PRIMARY KEY (endpoint, conversation_id)
);
CREATE INDEX push_outbox_due ON push_outbox (due_at);
`,
  },
  {
    version: 6,
    name: 'media: blobs, conversation references, resumable uploads',
    sql: `
-- One row per stored ciphertext blob (id = SHA-256 hex). unreferenced_since: when its last reference went (NULL while referenced or never referenced).
CREATE TABLE blobs (
  id text PRIMARY KEY,
  size bigint NOT NULL,
  created_at bigint NOT NULL,
  unreferenced_since bigint
);
-- Users who proved they hold a blob's bytes by uploading them (they may read and attach it; its size counts to their quota).
CREATE TABLE blob_holders (
  blob_id text NOT NULL,
  user_id bigint NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (blob_id, user_id)
);
CREATE INDEX blob_holders_user ON blob_holders (user_id);
-- Conversations whose messages reference a blob: their members may download it.
CREATE TABLE blob_refs (
  conversation_id bigint NOT NULL,
  blob_id text NOT NULL,
  attached_by bigint NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (conversation_id, blob_id)
);
CREATE INDEX blob_refs_blob ON blob_refs (blob_id);
-- Resumable uploads in progress; their chunks are staged under DATA_DIR/media/staging/<id>.
CREATE TABLE uploads (
  id text PRIMARY KEY,
  user_id bigint NOT NULL,
  sha256 text NOT NULL,
  size bigint NOT NULL,
  chunk_bytes integer NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX uploads_user ON uploads (user_id, sha256);
`,
  },
  {
    version: 7,
    name: 'disappearing messages: per-conversation retention',
    sql: `
-- A conversation's disappearing timer as a member told the server (seconds > 0); the sweep deletes message ciphertext after it plus grace.
CREATE TABLE retention (
  conversation_id bigint PRIMARY KEY,
  seconds integer NOT NULL,
  set_by bigint NOT NULL,
  updated_at bigint NOT NULL
);
`,
  },
];

/** Apply every migration not yet applied, under an advisory lock so concurrent nodes take turns. */
export async function migrate(db: SqlClient): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7265746)');
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => Number(r.version)),
    );
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      for (const statement of splitStatements(m.sql)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}

/** Split a migration on semicolons at line ends (migrations hold no functions or quoted semicolons). */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}
