/** Connection states of the sync engine. */

export const ConnectionState = {
  /** No socket: not started, stopped, waiting to reconnect, or stopped for good after an auth failure. */
  Offline: 'offline',
  /** A socket is opening, or open and waiting for the welcome. */
  Connecting: 'connecting',
  /** Welcomed; catching up from the vector cursor. Sends flow already. */
  Syncing: 'syncing',
  /** Caught up; live updates flow. */
  Online: 'online',
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** What to do after the socket closed with `code`. */
export type CloseAction = 'stop' | 'reconnect';
