/** The CLI's choice of file to download and of a safe local name for it (the commands themselves run in sync-server/test/cli.e2e.test.ts). */
import { describe, expect, it } from 'vitest';
import { localName, pick } from '../src/cli/files.js';
import type { Message } from '../src/model/message.js';

const file = (id: bigint | null, blobId: string): Message =>
  ({ id, uid: `u${id}`, content: { kind: 'media', caption: '', media: { blobId, fileName: 'f' } } }) as unknown as Message;
const text = { id: 9n, uid: 'u9', content: { kind: 'text', text: 'hi' } } as unknown as Message;

describe('tidings download', () => {
  const messages = [file(1n, 'aa'.repeat(32)), text, file(3n, 'ab'.repeat(32)), file(null, 'ac'.repeat(32))];

  it('picks the latest file, or the one named by message id or blob id prefix', () => {
    expect(pick(messages, undefined).uid).toBe('unull');
    expect(pick(messages, '1').uid).toBe('u1');
    expect(pick(messages, 'ababab').uid).toBe('u3');
    expect(() => pick(messages, '9')).toThrow(expect.objectContaining({ code: 'not_found' }) as never);
    expect(() => pick([text], undefined)).toThrow(expect.objectContaining({ code: 'not_found' }) as never);
    expect(() => pick(messages, '../x')).toThrow(expect.objectContaining({ code: 'invalid_argument' }) as never);
  });

  it('saves under the last part of the sender\'s name, never a hidden file or a path', () => {
    expect(localName('photo.jpg')).toBe('photo.jpg');
    expect(localName('../../etc/passwd')).toBe('passwd');
    expect(localName('..\\..\\win.ini')).toBe('win.ini');
    expect(localName('.bashrc')).toBe('bashrc');
    expect(localName('a\nb\u0000.txt')).toBe('ab.txt');
    expect(localName('..')).toBe('download');
    expect(localName('')).toBe('download');
  });
});
