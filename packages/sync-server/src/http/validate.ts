/** Request validation at the HTTP boundary: strict zod schemas, unknown fields rejected, typed errors. */
import { ErrorCode, TidingsError, parseUserId, type UserId } from '@tidings/shared';
import { z } from 'zod';

export function parse<T>(schema: z.ZodType<T>, input: unknown, where: string): T {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const first = r.error.issues[0];
  const path = first?.path.length ? first.path.join('.') : where;
  throw new TidingsError(ErrorCode.InvalidArgument, `${path}: ${first?.message ?? 'invalid'}`);
}

/** A decimal id string (or a safe integer) as a UserId. */
export const userIdSchema = z.union([z.string(), z.number()]).transform((v, ctx): UserId => {
  try {
    return parseUserId(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a user id (a decimal string)' });
    return z.NEVER;
  }
});

/** Any positive id (user or group), as a bigint. */
export const anyIdSchema = userIdSchema.transform((v) => v as bigint);

/** Human text (names): trimmed, bounded, and free of control characters (a NUL cannot be stored). */
export const humanText = (min: number, max: number) =>
  z
    .string()
    .trim()
    .min(min)
    .max(max)
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');
