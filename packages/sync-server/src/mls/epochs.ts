/**
 * The Delivery Service's ordering rule, applied under the conversation's lock:
 * at most one Commit per epoch, and once a conversation has an MLS group,
 * application messages only in its current epoch (a member that has not yet
 * processed a removal cannot encrypt to the removed device). Reads only the
 * public MLS header; nothing is decrypted.
 */
import { EntryType, ErrorCode, TidingsError, peekMlsHeader, type EntryType as EntryTypeT } from '@tidings/shared';
import type { NewEntry } from '../log/store.js';

const APPLICATION_TYPES: ReadonlySet<EntryTypeT> = new Set([EntryType.Text, EntryType.Media, EntryType.Document, EntryType.Crdt, EntryType.Snapshot]);

export type EpochCheck = { ok: true; nextEpoch: bigint | null } | { ok: false; error: TidingsError };

/** `epoch` is the conversation's current MLS epoch, null before its first Commit. */
export function checkEpoch(entry: NewEntry, epoch: bigint | null): EpochCheck {
  const isMls = entry.type === EntryType.Mls;
  if (!isMls && (!APPLICATION_TYPES.has(entry.type) || epoch === null)) return { ok: true, nextEpoch: epoch };
  let header;
  try {
    header = peekMlsHeader(entry.body);
  } catch (err) {
    return { ok: false, error: err instanceof TidingsError ? err : new TidingsError(ErrorCode.InvalidArgument, 'malformed MLS message') };
  }
  if (header.conversationId !== entry.conversationId) {
    return { ok: false, error: new TidingsError(ErrorCode.InvalidArgument, 'the MLS message belongs to another conversation') };
  }
  const current = epoch ?? 0n;
  const stale = (): EpochCheck => ({
    ok: false,
    error: new TidingsError(ErrorCode.StaleEpoch, `the conversation is at MLS epoch ${current}, the message is for epoch ${header.epoch}`),
  });
  if (isMls) {
    if (header.kind !== 'commit' && header.kind !== 'proposal') {
      return { ok: false, error: new TidingsError(ErrorCode.InvalidArgument, 'Mls entries carry Commits and Proposals only') };
    }
    if (header.epoch !== current) return stale();
    return { ok: true, nextEpoch: header.kind === 'commit' ? current + 1n : current };
  }
  if (header.kind !== 'application') {
    return { ok: false, error: new TidingsError(ErrorCode.InvalidArgument, 'message entries carry MLS application messages') };
  }
  if (header.epoch !== current) return stale();
  return { ok: true, nextEpoch: epoch };
}
