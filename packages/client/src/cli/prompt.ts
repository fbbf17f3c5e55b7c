/** Reads a password: from the terminal without echo, or the first line of piped stdin. */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

export function readPassword(question: string): Promise<string> {
  const tty = process.stdin.isTTY === true;
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!muted) process.stderr.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: process.stdin, output: tty ? output : undefined, terminal: tty });
  return new Promise((resolve) => {
    rl.question(tty ? question : '', (answer) => {
      rl.close();
      if (tty) process.stderr.write('\n');
      resolve(answer.replace(/\r?\n$/, ''));
    });
    muted = true;
  });
}
