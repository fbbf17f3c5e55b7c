/**
 * Server-authored membership events. A System entry's body is UTF-8 JSON such
 * as `{"op":"members_added","user_ids":["123"],"by":"456"}`; the server knows
 * these facts anyway, so they travel unencrypted.
 */
import { parseUserId, type UserId } from '@tidings/shared';

export interface SystemEvent {
  /** What happened: 'created', 'members_added', 'members_removed', or an op from a newer server. */
  readonly op: string;
  /** The users the event is about (empty when the op names none). */
  readonly userIds: readonly UserId[];
  /** Who did it, when known. */
  readonly by: UserId | null;
  /** The group name, for ops that carry one. */
  readonly name?: string;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function userIdOrNull(value: unknown): UserId | null {
  try {
    return parseUserId(value);
  } catch {
    return null;
  }
}

/** Parses a System body; throws when it is not the JSON object described above. */
export function parseSystemEvent(body: Uint8Array): SystemEvent {
  const json: unknown = JSON.parse(decoder.decode(body));
  if (typeof json !== 'object' || json === null) throw new TypeError('system body is not a JSON object');
  const record = json as Record<string, unknown>;
  if (typeof record.op !== 'string') throw new TypeError('system body has no op');
  const rawIds = Array.isArray(record.user_ids) ? record.user_ids : [];
  const userIds = rawIds.map(userIdOrNull).filter((id): id is UserId => id !== null);
  const event: SystemEvent = { op: record.op, userIds, by: userIdOrNull(record.by) };
  return typeof record.name === 'string' ? { ...event, name: record.name } : event;
}
