/**
 * Media and verification in Debian's Chromium, two people on their own
 * origins in front of one real sync server: an image re-encoded, encrypted,
 * uploaded and shown (blurred preview first, full image after download and
 * decryption, under the production CSP); a document downloaded and saved;
 * audio played from its decrypted blob; the server's data directory holding
 * no plaintext of any of them; the devices screen (listing, removing);
 * the same safety number on both sides; and the warning a new device raises.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePng } from '../build/png.js';
import { useStack, ARTIFACTS, type User } from './support/stack.js';
import { RECORD_CSP, UI_TIMEOUT, attach, cspViolations, newDm, openChatAt, send, signIn, signUp, waitStatus } from './support/app.js';

const stack = useStack();
let alice: User;
let bob: User;

/** Side of the square test picture: above the codec's 2048 px limit, so it must be scaled down. */
const PICTURE_SIDE = 2100;
/** What browserImageCodec makes of it (longest side capped at 2048). */
const SENT_SIDE = 2048;


/** Every file under a directory, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** A mono 16-bit PCM WAV of a 440 Hz tone. */
function toneWav(seconds: number, rate = 8000): Buffer {
  const samples = Math.round(seconds * rate);
  const out = Buffer.alloc(44 + samples * 2);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + samples * 2, 4);
  out.write('WAVEfmt ', 8, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(rate, 24);
  out.writeUInt32LE(rate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) out.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 2);
  return out;
}

/** 64-byte windows from the middle of `bytes` (plaintext a store must not hold). */
const windowsOf = (bytes: Buffer): Buffer[] =>
  [0.25, 0.5, 0.75].map((f) => bytes.subarray(Math.floor(bytes.length * f), Math.floor(bytes.length * f) + 64));

describe('media and verification', () => {
  it(
    'sends an image: preview first, then the decrypted re-encoded image; the server stores no plaintext',
    { timeout: 90_000 },
    async () => {
      alice = await stack.user('alice', { initScript: RECORD_CSP });
      bob = await stack.user('bob', { initScript: RECORD_CSP });
      await signUp(alice.page, 'alice');
      await signUp(bob.page, 'bob');
      await newDm(alice.page, 'bob');
      await send(alice.page, 'a picture is coming');
      await bob.page.locator('a.chat').first().waitFor({ timeout: UI_TIMEOUT });

      const png = encodePng(PICTURE_SIDE, (x, y) => [(x * 255) / PICTURE_SIDE, (y * 255) / PICTURE_SIDE, ((x + y) * 97) % 256, 255]);
      const notes = Buffer.from(`harbour notes ${'the tide turns at noon; '.repeat(400)}`);
      await attach(alice.page, [{ name: 'harbour.png', mimeType: 'image/png', buffer: png }]);
      await alice.page.locator('.msg.mine img.media-full').waitFor({ timeout: UI_TIMEOUT });
      await attach(alice.page, [{ name: 'notes.txt', mimeType: 'text/plain', buffer: notes }]);
      await alice.page.locator('.msg.mine .file-chip', { hasText: 'notes.txt' }).waitFor({ timeout: UI_TIMEOUT });

      // Bob's engine stores both messages while he is on the chat list; then his network goes.
      await bob.page.locator('a.chat .badge', { hasText: '3' }).waitFor({ timeout: UI_TIMEOUT });
      await bob.context.setOffline(true);
      bob.gateway.setOffline(true);
      await waitStatus(bob.page, 'offline');
      await openChatAt(bob.page, 0);
      // Offline: the blurred preview from the descriptor, in a box of the final aspect, and no full image.
      const box = bob.page.locator('.msg .media-image');
      await box.locator('img.media-preview').waitFor({ timeout: UI_TIMEOUT });
      expect(await box.locator('img.media-full').count()).toBe(0);
      const size = await box.evaluate((el) => [el.clientWidth, el.clientHeight]);
      expect(size[0]).toBe(size[1]);

      // Online again: the engine downloads, verifies and decrypts; the page shows a blob: URL.
      await bob.context.setOffline(false);
      bob.gateway.setOffline(false);
      const full = box.locator('img.media-full');
      await full.waitFor({ timeout: UI_TIMEOUT });
      // (The page cannot read the blob's bytes back: the CSP's connect-src is 'self' only, as it should be.)
      const shown = await full.evaluate(async (img: HTMLImageElement) => {
        await img.decode();
        return { src: img.src, alt: img.alt, w: img.naturalWidth, h: img.naturalHeight };
      });
      expect(shown.src.startsWith('blob:')).toBe(true);
      expect(shown.alt).toBe('harbour.png');
      expect([shown.w, shown.h]).toEqual([SENT_SIDE, SENT_SIDE]); // re-encoded: the 2100 px original was scaled down

      // The document: a chip with name and size that downloads and saves the decrypted bytes.
      const chip = bob.page.locator('.msg .file-chip', { hasText: 'notes.txt' });
      await chip.waitFor({ timeout: UI_TIMEOUT });
      const [download] = await Promise.all([bob.page.waitForEvent('download', { timeout: UI_TIMEOUT }), chip.click()]);
      expect(download.suggestedFilename()).toBe('notes.txt');
      expect(Buffer.from(await readFile((await download.path())!)).equals(notes)).toBe(true);

      // Audio: an <audio> element playing the decrypted blob (media-src allows blob:).
      const wav = toneWav(0.5);
      await attach(alice.page, [{ name: 'tone.wav', mimeType: 'audio/wav', buffer: wav }]);
      const audio = bob.page.locator('.msg audio.media-audio');
      await audio.waitFor({ timeout: UI_TIMEOUT });
      const duration = await audio.evaluate(
        (a: HTMLAudioElement) =>
          new Promise<number>((resolve) =>
            a.readyState >= 1 ? resolve(a.duration) : a.addEventListener('loadedmetadata', () => resolve(a.duration)),
          ),
      );
      expect(duration).toBeCloseTo(0.5, 1);

      // Video: a WebM recorded in Alice's page (canvas + MediaRecorder), played from the decrypted blob on Bob's.
      const webm = Buffer.from(
        await alice.page.evaluate(async () => {
          const canvas = Object.assign(document.createElement('canvas'), { width: 160, height: 120 });
          const g = canvas.getContext('2d')!;
          const recorder = new MediaRecorder(canvas.captureStream(15), { mimeType: 'video/webm;codecs=vp8' });
          const parts: Blob[] = [];
          recorder.ondataavailable = (e) => parts.push(e.data);
          const stopped = new Promise((resolve) => (recorder.onstop = resolve));
          recorder.start();
          for (let i = 0; i < 12; i++) {
            g.fillStyle = `hsl(${i * 30}, 80%, 50%)`;
            g.fillRect(0, 0, 160, 120);
            await new Promise((r) => setTimeout(r, 60));
          }
          recorder.stop();
          await stopped;
          return [...new Uint8Array(await new Blob(parts).arrayBuffer())];
        }),
      );
      expect(webm.length).toBeGreaterThan(100);
      await attach(alice.page, [{ name: 'clip.webm', mimeType: 'video/webm', buffer: webm }]);
      const video = bob.page.locator('.msg video.media-video');
      await video.waitFor({ timeout: UI_TIMEOUT });
      const frame = await video.evaluate(
        (v: HTMLVideoElement) =>
          new Promise<{ w: number; h: number; src: string }>((resolve) => {
            const done = () => resolve({ w: v.videoWidth, h: v.videoHeight, src: v.currentSrc });
            if (v.readyState >= 1) done();
            else v.addEventListener('loadedmetadata', done);
          }),
      );
      expect([frame.w, frame.h]).toEqual([160, 120]);
      expect(frame.src.startsWith('blob:')).toBe(true);
      await bob.page.screenshot({ path: path.join(ARTIFACTS, 'conversation-media.png') });

      // The server's data directory (database and blob store) holds ciphertext only.
      const files = await filesUnder(stack.dataDir);
      const mediaFiles = files.filter((f) => f.includes(`${path.sep}media${path.sep}`));
      expect(mediaFiles.length).toBeGreaterThan(0);
      // The original's bytes, the document's, and the re-encoded image's WebP header ("WEBPVP8") must not appear.
      const needles = [
        ...windowsOf(png),
        ...windowsOf(notes).slice(0, 1),
        ...windowsOf(wav),
        ...windowsOf(webm),
        Buffer.from('WEBPVP8'),
        Buffer.from('harbour notes'),
      ];
      let largest = 0;
      for (const f of files) {
        const bytes = await readFile(f);
        if (mediaFiles.includes(f)) largest = Math.max(largest, bytes.length);
        for (const needle of needles) expect(bytes.includes(needle), `${f} holds plaintext`).toBe(false);
      }
      expect(largest).toBeGreaterThan(4096); // the scan did read the image's (encrypted) blob
      expect(await cspViolations(alice.page)).toEqual([]);
      expect(await cspViolations(bob.page)).toEqual([]);
    },
  );

  it('shows the same safety number on both sides, lists devices, and warns when a new device appears', { timeout: 90_000 }, async () => {
    const numberOf = async (user: User): Promise<string> => {
      await user.page.getByRole('link', { name: 'Contact info and safety number' }).click();
      const n = user.page.locator('.safety-number');
      await n.waitFor({ timeout: UI_TIMEOUT });
      return (await n.getAttribute('data-digits')) ?? '';
    };
    await openChatAt(alice.page, 0);
    const fromAlice = await numberOf(alice);
    const fromBob = await numberOf(bob);
    expect(fromAlice).toMatch(/^\d{60}$/);
    expect(fromBob).toBe(fromAlice);

    // Alice's devices: just this one, then a second after she signs in elsewhere.
    await alice.page.goto(`${alice.gateway.url}/#/devices`);
    const devices = alice.page.getByRole('list', { name: 'Devices' }).getByRole('listitem');
    await devices.first().waitFor({ timeout: UI_TIMEOUT });
    expect(await devices.count()).toBe(1);
    expect(await devices.first().textContent()).toContain('(this device)');
    await alice.page.getByRole('heading', { name: 'Link a new device' }).waitFor();

    const laptop = await stack.user('alice-laptop');
    await signIn(laptop.page, 'alice');
    await alice.page.reload();
    await expect.poll(() => devices.count(), { timeout: UI_TIMEOUT }).toBe(2);
    await alice.page.screenshot({ path: path.join(ARTIFACTS, 'devices.png') });

    // Bob's DM with Alice gains her new device's keys: he is warned, in the conversation and its info.
    await bob.page.goto(`${bob.gateway.url}/#/`);
    await openChatAt(bob.page, 0);
    await bob.page.getByTestId('identity-warning').waitFor({ timeout: 45_000 });
    await bob.page.getByRole('link', { name: 'Check the safety numbers' }).click();
    const changed = (await bob.page.locator('.safety-number').getAttribute('data-digits')) ?? '';
    expect(changed).toMatch(/^\d{60}$/);
    expect(changed).not.toBe(fromBob);
    await bob.page.getByRole('button', { name: 'I compared the numbers again' }).click();
    await bob.page.getByTestId('identity-warning').waitFor({ state: 'detached', timeout: UI_TIMEOUT });

    // Alice removes the laptop from her devices screen (after confirming): the list is back to one.
    alice.page.once('dialog', (dialog) => void dialog.accept());
    await alice.page.getByRole('button', { name: /^Remove / }).click();
    await expect.poll(() => devices.count(), { timeout: UI_TIMEOUT }).toBe(1);
    expect(await devices.first().textContent()).toContain('(this device)');
    await laptop.context.close();
  });
});
