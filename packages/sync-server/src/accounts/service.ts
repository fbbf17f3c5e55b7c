/** Sign-up, sign-in and token authentication. */
import {
  ConversationKind,
  ErrorCode,
  TidingsError,
  type DeviceId,
  type EntryId,
  type SnowflakeGenerator,
  type UserId,
  type ConversationId,
} from '@tidings/shared';
import type { SqlClient } from '../storage/sql.js';
import { decoyHash, hashPassword, verifyPassword } from './passwords.js';
import { hashToken, newToken } from './tokens.js';
import { deviceByTokenHash, findUserByName, insertDevice, insertUser, type DeviceAuth } from './store.js';
import { insertConversation, insertMembers, selfKey } from '../conversations/store.js';

export interface NewDevice {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly token: string;
}

export class Accounts {
  constructor(
    private readonly db: SqlClient,
    private readonly ids: SnowflakeGenerator,
    private readonly clock: () => number,
  ) {}

  /** Create a user, their self conversation and their first device. */
  async register(username: string, password: string, deviceName: string): Promise<NewDevice> {
    const passwordHash = await hashPassword(password);
    const userId = this.ids.next() as UserId;
    const deviceId = this.ids.next() as DeviceId;
    const selfId = this.ids.next() as ConversationId;
    const token = newToken();
    const now = this.clock();
    await this.db.transaction(async (tx) => {
      await insertUser(tx, { id: userId, username, passwordHash }, now);
      await insertConversation(tx, { id: selfId, kind: ConversationKind.Self, name: '', dmKey: selfKey(userId), createdBy: userId }, now);
      await insertMembers(tx, selfId, [{ userId, admin: true }], 0n as EntryId, now);
      await insertDevice(tx, { id: deviceId, userId, name: deviceName, tokenHash: hashToken(token) }, now);
    });
    return { userId, deviceId, token };
  }

  /** Sign in: a new device with its own token. The same error for an unknown user and a wrong password. */
  async signIn(username: string, password: string, deviceName: string): Promise<NewDevice> {
    const user = await findUserByName(this.db, username);
    const ok = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
    if (!user || !ok) throw new TidingsError(ErrorCode.InvalidCredentials, 'wrong username or password');
    const deviceId = this.ids.next() as DeviceId;
    const token = newToken();
    await insertDevice(this.db, { id: deviceId, userId: user.id, name: deviceName, tokenHash: hashToken(token) }, this.clock());
    return { userId: user.id, deviceId, token };
  }

  async authenticate(token: string | undefined): Promise<DeviceAuth> {
    if (!token) throw new TidingsError(ErrorCode.Unauthenticated, 'a bearer token is required');
    const device = await deviceByTokenHash(this.db, hashToken(token));
    if (!device || device.revoked) throw new TidingsError(ErrorCode.Unauthenticated, 'the token is not valid');
    return device;
  }
}
