/**
 * A typed client for the server's HTTP API. Errors come back as
 * `{error:{code,message}}` and are thrown as TidingsError with that code;
 * network failures become `unavailable`.
 */
import {
  ErrorCode,
  TidingsError,
  isErrorCode,
  fromBase64,
  toBase64,
  parseConversationId,
  parseDeviceId,
  parseEntryId,
  parseUserId,
  type ConversationId,
  type DeviceId,
  type EntryId,
  type UserId,
} from '@tidings/shared';
import type { PrivacySettings, PrivacySettingsPatch } from '../model/settings.js';

/** What a device needs to talk to the server as one user. */
export interface Credentials {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  /** Bearer token; never put in a URL. */
  readonly token: string;
}

export interface UserInfo {
  readonly userId: UserId;
  readonly username: string;
}

export interface ConversationSummary {
  readonly conversationId: ConversationId;
  readonly kind: 'dm' | 'group' | 'self';
  readonly name: string;
  readonly members: readonly UserId[];
  readonly lastId: EntryId;
}

export interface HttpApiOptions {
  /** Base URL of the server, e.g. `http://localhost:8787`. */
  readonly serverUrl: string;
  /** Bearer token for authenticated endpoints. */
  readonly token?: string;
  /** The fetch to use; defaults to the global one. */
  readonly fetch?: typeof globalThis.fetch;
}

type Json = Record<string, unknown>;

function field(body: Json, name: string): unknown {
  if (!(name in body)) throw new TidingsError(ErrorCode.Internal, `server response lacks ${name}`);
  return body[name];
}
const str = (body: Json, name: string): string => {
  const v = field(body, name);
  if (typeof v !== 'string') throw new TidingsError(ErrorCode.Internal, `server response field ${name} is not a string`);
  return v;
};
const credentialsOf = (body: Json): Credentials => ({
  userId: parseUserId(field(body, 'user_id')),
  deviceId: parseDeviceId(field(body, 'device_id')),
  token: str(body, 'token'),
});
const bool = (body: Json, name: string): boolean => {
  const v = field(body, name);
  if (typeof v !== 'boolean') throw new TidingsError(ErrorCode.Internal, `server response field ${name} is not a boolean`);
  return v;
};
const settingsOf = (body: Json): PrivacySettings => ({
  readReceipts: bool(body, 'read_receipts'),
  showLastSeen: bool(body, 'show_last_seen'),
});
const KINDS = new Set(['dm', 'group', 'self']);
const num = (body: Json, name: string): number => {
  const v = field(body, name);
  if (typeof v !== 'number') throw new TidingsError(ErrorCode.Internal, `server response field ${name} is not a number`);
  return v;
};

/** What a KeyPackage claim returned. */
export interface ClaimResult {
  readonly keyPackages: readonly { readonly userId: UserId; readonly deviceId: DeviceId; readonly keyPackage: Uint8Array }[];
  /** Devices that had no KeyPackage left. */
  readonly missing: readonly { readonly userId: UserId; readonly deviceId: DeviceId }[];
}

/** One of the caller's own devices, as the server lists it. */
export interface OwnDevice {
  readonly deviceId: DeviceId;
  readonly name: string;
  /** When it signed in (ms since epoch). */
  readonly createdAt: number;
  /** True for the device making the request. */
  readonly current: boolean;
}

/** One item for a device's inbox. */
export interface InboxPost {
  readonly deviceId: DeviceId;
  readonly kind: 'welcome' | 'history';
  readonly body: Uint8Array;
}

export class HttpApi {
  private readonly base: string;
  private readonly fetchFn: typeof globalThis.fetch;

  constructor(private readonly options: HttpApiOptions) {
    this.base = options.serverUrl.replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** The same API authenticated with `token`. */
  withToken(token: string): HttpApi {
    return new HttpApi({ ...this.options, token });
  }

  async register(username: string, password: string, deviceName?: string): Promise<Credentials> {
    const body: Json = { username, password };
    if (deviceName !== undefined) body.device_name = deviceName;
    return credentialsOf(await this.request('POST', '/v1/accounts', body, false));
  }

  async login(username: string, password: string, deviceName: string): Promise<Credentials> {
    return credentialsOf(await this.request('POST', '/v1/sessions', { username, password, device_name: deviceName }, false));
  }

  async user(username: string): Promise<UserInfo> {
    const body = await this.request('GET', `/v1/users/${encodeURIComponent(username)}`);
    return { userId: parseUserId(field(body, 'user_id')), username: str(body, 'username') };
  }

  async me(): Promise<UserInfo & { deviceId: DeviceId }> {
    const body = await this.request('GET', '/v1/me');
    return {
      userId: parseUserId(field(body, 'user_id')),
      username: str(body, 'username'),
      deviceId: parseDeviceId(field(body, 'device_id')),
    };
  }

  /** Gets or creates the one DM with `userId`. */
  async openDm(userId: UserId): Promise<ConversationId> {
    const body = await this.request('POST', '/v1/dms', { user_id: String(userId) });
    return parseConversationId(field(body, 'conversation_id'));
  }

  /** Creates a group (the caller is a member); its id is also its conversation id. */
  async createGroup(name: string, memberIds: readonly UserId[]): Promise<ConversationId> {
    const body = await this.request('POST', '/v1/groups', { name, member_ids: memberIds.map(String) });
    return parseConversationId(field(body, 'group_id'));
  }

  async addMembers(groupId: ConversationId, userIds: readonly UserId[]): Promise<void> {
    await this.request('POST', `/v1/groups/${groupId}/members`, { user_ids: userIds.map(String) });
  }

  async removeMember(groupId: ConversationId, userId: UserId): Promise<void> {
    await this.request('DELETE', `/v1/groups/${groupId}/members/${userId}`);
  }

  /** Tells the server to delete the conversation's message ciphertext `seconds` after it was sent (plus grace); 0 keeps it. */
  async setRetention(conversationId: ConversationId, seconds: number): Promise<void> {
    await this.request('PUT', `/v1/conversations/${conversationId}/retention`, { seconds });
  }

  /** The caller's privacy settings. */
  async settings(): Promise<PrivacySettings> {
    return settingsOf(await this.request('GET', '/v1/me/settings'));
  }

  /** Changes privacy settings (omitted fields stay); returns all of them as now stored. */
  async updateSettings(patch: PrivacySettingsPatch): Promise<PrivacySettings> {
    const body: Json = {};
    if (patch.readReceipts !== undefined) body.read_receipts = patch.readReceipts;
    if (patch.showLastSeen !== undefined) body.show_last_seen = patch.showLastSeen;
    return settingsOf(await this.request('PATCH', '/v1/me/settings', body));
  }

  async conversations(): Promise<ConversationSummary[]> {
    const list = field(await this.request('GET', '/v1/conversations'), 'conversations');
    if (!Array.isArray(list)) throw new TidingsError(ErrorCode.Internal, 'conversations is not a list');
    return list.map((item: Json) => {
      const kind = str(item, 'kind');
      if (!KINDS.has(kind)) throw new TidingsError(ErrorCode.Internal, `unknown conversation kind ${kind}`);
      const members = field(item, 'members');
      return {
        conversationId: parseConversationId(field(item, 'conversation_id')),
        kind: kind as ConversationSummary['kind'],
        name: typeof item.name === 'string' ? item.name : '',
        members: Array.isArray(members) ? members.map(parseUserId) : [],
        lastId: parseEntryId(item.last_id ?? '0'),
      };
    });
  }

  // ---- MLS Delivery Service ----

  /** Public facts about the deployment: the MLS ciphersuite every device and group there uses. */
  async serverConfig(): Promise<{ mlsSuite: string }> {
    return { mlsSuite: str(await this.request('GET', '/v1/config', undefined, false), 'mls_ciphersuite') };
  }

  /** Uploads this device's KeyPackages (MLSMessage bytes); returns the stock now held. */
  async uploadKeyPackages(keyPackages: readonly Uint8Array[]): Promise<number> {
    const body = await this.request('POST', '/v1/devices/me/key-packages', { key_packages: keyPackages.map(toBase64) });
    return num(body, 'stock');
  }

  /** This device's KeyPackage stock and the server's low-water mark. */
  async keyPackageStock(): Promise<{ stock: number; lowWater: number }> {
    const body = await this.request('GET', '/v1/devices/me/key-packages');
    return { stock: num(body, 'stock'), lowWater: num(body, 'low_water') };
  }

  /**
   * Claims one KeyPackage per active device of each user (except the caller's device), or
   * only for `deviceIds` among them when given; each is handed out once.
   */
  async claimKeyPackages(userIds: readonly UserId[], deviceIds?: readonly DeviceId[]): Promise<ClaimResult> {
    const only = deviceIds === undefined ? {} : { device_ids: deviceIds.map(String) };
    const body = await this.request('POST', '/v1/key-packages/claim', { user_ids: userIds.map(String), ...only });
    const list = (name: string): Json[] => {
      const v = field(body, name);
      if (!Array.isArray(v)) throw new TidingsError(ErrorCode.Internal, `${name} is not a list`);
      return v as Json[];
    };
    return {
      keyPackages: list('key_packages').map((k) => ({
        userId: parseUserId(field(k, 'user_id')),
        deviceId: parseDeviceId(field(k, 'device_id')),
        keyPackage: fromBase64(str(k, 'key_package'), 'key_package'),
      })),
      missing: list('missing').map((m) => ({ userId: parseUserId(field(m, 'user_id')), deviceId: parseDeviceId(field(m, 'device_id')) })),
    };
  }

  /** A user's active devices (the caller's own, or a contact's). */
  async devices(userId: UserId): Promise<DeviceId[]> {
    const v = field(await this.request('GET', `/v1/users/${userId}/devices`), 'devices');
    if (!Array.isArray(v)) throw new TidingsError(ErrorCode.Internal, 'devices is not a list');
    return (v as Json[]).map((d) => parseDeviceId(field(d, 'device_id')));
  }

  /** The caller's own active devices, oldest first. */
  async ownDevices(): Promise<OwnDevice[]> {
    const v = field(await this.request('GET', '/v1/devices'), 'devices');
    if (!Array.isArray(v)) throw new TidingsError(ErrorCode.Internal, 'devices is not a list');
    return (v as Json[]).map((d) => ({
      deviceId: parseDeviceId(field(d, 'device_id')),
      name: str(d, 'name'),
      createdAt: Date.parse(str(d, 'created_at')),
      current: bool(d, 'current'),
    }));
  }

  /** Revokes one of the caller's own devices: its token stops working and its sockets close (not_found, forbidden, conflict for the last device). */
  async removeDevice(deviceId: DeviceId): Promise<void> {
    await this.request('DELETE', `/v1/devices/${deviceId}`);
  }

  /** Posts items to device inboxes; returns their ids. */
  async postInbox(items: readonly InboxPost[]): Promise<string[]> {
    const body = await this.request('POST', '/v1/inbox', {
      items: items.map((i) => ({ device_id: String(i.deviceId), kind: i.kind, body: toBase64(i.body) })),
    });
    const ids = field(body, 'ids');
    return Array.isArray(ids) ? ids.map(String) : [];
  }

  private async request(method: string, path: string, body?: Json, auth = true): Promise<Json> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (auth) {
      if (this.options.token === undefined) throw new TidingsError(ErrorCode.Unauthenticated, 'not logged in');
      headers.authorization = `Bearer ${this.options.token}`;
    }
    let response: Response;
    try {
      const init: RequestInit = { method, headers };
      if (body !== undefined) init.body = JSON.stringify(body);
      response = await this.fetchFn(`${this.base}${path}`, init);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new TidingsError(ErrorCode.Unavailable, `cannot reach ${this.base}: ${reason}`);
    }
    const text = await response.text();
    let json: unknown = undefined;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      // handled below: a non-JSON body is an error whatever the status
    }
    if (!response.ok) throw errorFrom(response.status, json);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new TidingsError(ErrorCode.Internal, `${method} ${path}: response is not a JSON object`);
    }
    return json as Json;
  }
}

function errorFrom(status: number, json: unknown): TidingsError {
  const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}`;
  if (isErrorCode(error?.code)) return new TidingsError(error.code, message);
  if (status === 401) return new TidingsError(ErrorCode.Unauthenticated, message);
  if (status === 404) return new TidingsError(ErrorCode.NotFound, message);
  if (status >= 500) return new TidingsError(ErrorCode.Unavailable, message);
  return new TidingsError(ErrorCode.InvalidArgument, message);
}
