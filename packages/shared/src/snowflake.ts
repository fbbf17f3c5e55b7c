/**
 * Snowflake ids: 41 bits of milliseconds since TIDINGS_EPOCH_MS, 10 bits of
 * node id, 12 bits of sequence. A generator hands out ids that are unique and
 * strictly increasing, even when the wall clock steps backwards.
 */
export const TIDINGS_EPOCH_MS = Date.UTC(2026, 0, 1);
export const NODE_ID_BITS = 10;
export const SEQUENCE_BITS = 12;
export const MAX_NODE_ID = (1 << NODE_ID_BITS) - 1;
export const MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1;
const TIME_SHIFT = BigInt(NODE_ID_BITS + SEQUENCE_BITS);
const NODE_SHIFT = BigInt(SEQUENCE_BITS);
/** Clock reads to wait for the next millisecond before borrowing it instead. */
const MAX_SPINS = 1_000_000;

export interface SnowflakeParts {
  /** Wall-clock milliseconds (Unix epoch) encoded in the id. */
  readonly timeMs: number;
  readonly nodeId: number;
  readonly sequence: number;
}

export function composeSnowflake(parts: SnowflakeParts): bigint {
  const t = BigInt(parts.timeMs - TIDINGS_EPOCH_MS);
  return (t << TIME_SHIFT) | (BigInt(parts.nodeId) << NODE_SHIFT) | BigInt(parts.sequence);
}

export function decomposeSnowflake(id: bigint): SnowflakeParts {
  return {
    timeMs: Number(id >> TIME_SHIFT) + TIDINGS_EPOCH_MS,
    nodeId: Number((id >> NODE_SHIFT) & BigInt(MAX_NODE_ID)),
    sequence: Number(id & BigInt(MAX_SEQUENCE)),
  };
}

export class SnowflakeGenerator {
  private lastMs = 0;
  private sequence = 0;

  constructor(
    readonly nodeId: number,
    private readonly clock: () => number = Date.now,
  ) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > MAX_NODE_ID) {
      throw new RangeError(`node id must be an integer in 0..${MAX_NODE_ID}`);
    }
  }

  /** The next id: strictly greater than every id this generator returned before. */
  next(): bigint {
    const now = this.clock();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.sequence = 0;
    } else if (this.sequence < MAX_SEQUENCE) {
      // Same millisecond, or the clock stepped back: keep counting from lastMs.
      this.sequence += 1;
    } else if (now === this.lastMs) {
      // 4096 ids in this millisecond: wait for the clock to move on. A clock
      // that does not move (or steps back meanwhile) is stopped waiting for.
      let t = this.clock();
      for (let spins = 0; t <= this.lastMs && t === now && spins < MAX_SPINS; spins++) t = this.clock();
      this.lastMs = t > this.lastMs ? t : this.lastMs + 1;
      this.sequence = 0;
    } else {
      // Clock is behind and this millisecond is spent: borrow the next one.
      this.lastMs += 1;
      this.sequence = 0;
    }
    return composeSnowflake({ timeMs: this.lastMs, nodeId: this.nodeId, sequence: this.sequence });
  }

  /** The next id that is also strictly greater than `floor` (an id from any node). */
  nextAfter(floor: bigint): bigint {
    const id = this.next();
    if (id > floor) return id;
    // Move this generator's time to floor's millisecond with the sequence spent,
    // so the next id lands in a later millisecond.
    this.lastMs = Math.max(this.lastMs, decomposeSnowflake(floor).timeMs);
    this.sequence = MAX_SEQUENCE;
    return this.next();
  }
}
