import { ConversationKind, MAX_GROUP_MEMBERS, MAX_GROUP_NAME_CHARS, type ConversationId } from '@tidings/shared';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Accounts } from '../accounts/service.js';
import type { SqlClient } from '../storage/sql.js';
import { authOf } from '../http/auth.js';
import { anyIdSchema, humanText, parse, userIdSchema } from '../http/validate.js';
import type { Conversations } from './service.js';
import { conversationInfos } from './store.js';

const KIND_NAME = { [ConversationKind.Dm]: 'dm', [ConversationKind.Group]: 'group', [ConversationKind.Self]: 'self' } as const;

const OpenDm = z.strictObject({ user_id: userIdSchema });
const NewGroup = z.strictObject({
  name: humanText(1, MAX_GROUP_NAME_CHARS),
  member_ids: z.array(userIdSchema).max(MAX_GROUP_MEMBERS),
});
const AddMembers = z.strictObject({ user_ids: z.array(userIdSchema).min(1).max(MAX_GROUP_MEMBERS) });
const GroupParams = z.strictObject({ id: anyIdSchema });
const MemberParams = z.strictObject({ id: anyIdSchema, user_id: userIdSchema });

export function conversationRoutes(app: FastifyInstance, accounts: Accounts, conversations: Conversations, db: SqlClient): void {
  app.post('/v1/dms', async (req) => {
    const auth = await authOf(accounts, req);
    const b = parse(OpenDm, req.body, 'body');
    return { conversation_id: String(await conversations.ensureDm(auth, b.user_id)) };
  });

  app.post('/v1/groups', async (req, reply) => {
    const auth = await authOf(accounts, req);
    const b = parse(NewGroup, req.body, 'body');
    const id = await conversations.createGroup(auth, b.name, b.member_ids);
    return reply.status(201).send({ group_id: String(id) });
  });

  app.post('/v1/groups/:id/members', async (req) => {
    const auth = await authOf(accounts, req);
    const { id } = parse(GroupParams, req.params, 'id');
    const b = parse(AddMembers, req.body, 'body');
    await conversations.addMembers(auth, id as ConversationId, b.user_ids);
    return { group_id: String(id) };
  });

  app.delete('/v1/groups/:id/members/:user_id', async (req) => {
    const auth = await authOf(accounts, req);
    const p = parse(MemberParams, req.params, 'params');
    await conversations.removeMember(auth, p.id as ConversationId, p.user_id);
    return { group_id: String(p.id) };
  });

  app.get('/v1/conversations', async (req) => {
    const auth = await authOf(accounts, req);
    const list = await conversationInfos(db, auth.userId);
    return {
      conversations: list.map(({ info }) => ({
        conversation_id: String(info.id),
        kind: KIND_NAME[info.kind],
        name: info.name,
        members: info.members.map(String),
        last_id: String(info.lastId),
        left: info.left,
      })),
    };
  });
}
