import { encodeServerFrame } from '@tidings/shared';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Accounts } from '../accounts/service.js';
import type { Switchboard } from '../switchboard/port.js';
import type { Receipts } from '../receipts/service.js';
import { authOf } from '../http/auth.js';
import { parse } from '../http/validate.js';
import type { PrivacySettings, PrivacyStore } from './settings.js';

const Patch = z.strictObject({ read_receipts: z.boolean().optional(), show_last_seen: z.boolean().optional() });
const json = (s: PrivacySettings) => ({ read_receipts: s.readReceipts, show_last_seen: s.showLastSeen });

export function settingsRoutes(app: FastifyInstance, d: { accounts: Accounts; privacy: PrivacyStore; switchboard: Switchboard; receipts: Receipts }): void {
  app.get('/v1/me/settings', async (req) => json(await d.privacy.one((await authOf(d.accounts, req)).userId)));

  app.patch('/v1/me/settings', async (req) => {
    const auth = await authOf(d.accounts, req);
    const b = parse(Patch, req.body, 'body');
    const s = await d.privacy.update(auth.userId, { readReceipts: b.read_receipts, showLastSeen: b.show_last_seen });
    // Every device of the user learns the new settings.
    d.switchboard.toUsers([auth.userId], encodeServerFrame({ t: 'settings', ...s }));
    // Who may see whose read positions changed: everyone in the user's conversations gets them afresh.
    if (b.read_receipts !== undefined) await d.receipts.republishFor(auth.userId);
    return json(s);
  });
}
