/** What the conversation's convergent state says about one message (edits, deletion, reactions, pin). */

/** One edit of a message: the new text, who made it (user id, decimal) and when (ms). */
export interface EditRecord {
  readonly uid: string;
  readonly text: string;
  readonly by: string;
  readonly at: number;
}

/** Who did something to a message, and when. */
export interface ActRecord {
  readonly by: string;
  readonly at: number;
}

export interface MessageAnnotations {
  /** Edits by the message's sender, oldest first (history); the last one is the current text. */
  readonly edits: readonly EditRecord[];
  /** Set once deleted for everyone (the row's content is erased too). */
  readonly deleted: ActRecord | null;
  /** Emoji -> user ids (decimal) that reacted with it, sorted. */
  readonly reactions: Readonly<Record<string, readonly string[]>>;
  readonly pinned: ActRecord | null;
}
