/**
 * Media inside a message bubble. Images show their tiny blurred preview (it
 * travels in the descriptor) at once, in a box of the final size so the row's
 * height never jumps, then the full image once the engine has downloaded and
 * decrypted it. Audio and video play from a decrypted blob: URL; other files
 * are a chip (name, size) that downloads and saves. Object URLs are revoked
 * when the bubble unmounts (the virtual list unmounts rows off screen).
 */
import { useEffect, useState } from 'preact/hooks';
import type { MediaDescriptor } from '@tidings/client/media';
import { useEngineEvent, useLink } from './engine-context.js';

/** Widest an image is shown in a bubble, CSS px. */
const MAX_IMAGE_WIDTH = 260;
/** Tallest an image is shown in a bubble, CSS px. */
const MAX_IMAGE_HEIGHT = 320;

type Loaded = { readonly state: 'loading' } | { readonly state: 'ready'; readonly url: string } | { readonly state: 'failed' };

/** The decrypted file as an object URL while mounted (and `enabled`); revoked on unmount. A failed load is tried again when the engine is back online. */
function useMediaUrl(media: MediaDescriptor, enabled: boolean): Loaded {
  const link = useLink();
  const [loaded, setLoaded] = useState<Loaded>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);
  useEngineEvent((e) => {
    if (e.type === 'status' && e.status === 'online' && loaded.state === 'failed') setAttempt((n) => n + 1);
  });
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    let url: string | null = null;
    setLoaded({ state: 'loading' });
    link.engine.media(media).then(
      (blob) => {
        if (!live) return;
        url = URL.createObjectURL(blob);
        setLoaded({ state: 'ready', url });
      },
      () => live && setLoaded({ state: 'failed' }),
    );
    return () => {
      live = false;
      if (url !== null) URL.revokeObjectURL(url);
    };
  }, [link, media.blobId, media.sha256, enabled, attempt]);
  return loaded;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

const dataUrl = (mediaType: string, base64url: string): string => {
  const b64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
  return `data:${mediaType};base64,${b64}${'='.repeat((4 - (b64.length % 4)) % 4)}`;
};

export function MediaContent({ media }: { media: MediaDescriptor }) {
  if (media.mediaType.startsWith('image/') && media.width && media.height)
    return <ImageMedia media={media} width={media.width} height={media.height} />;
  if (media.mediaType.startsWith('audio/')) return <PlayerMedia media={media} kind="audio" />;
  if (media.mediaType.startsWith('video/')) return <PlayerMedia media={media} kind="video" />;
  return <FileChip media={media} />;
}

function ImageMedia({ media, width, height }: { media: MediaDescriptor; width: number; height: number }) {
  const loaded = useMediaUrl(media, true);
  const scale = Math.min(1, MAX_IMAGE_WIDTH / width, MAX_IMAGE_HEIGHT / height);
  const box = { width: `${Math.round(width * scale)}px`, height: `${Math.round(height * scale)}px` };
  return (
    <div class="media-image" style={box} data-state={loaded.state}>
      {loaded.state !== 'ready' && media.preview && (
        <img class="media-preview" src={dataUrl(media.preview.mediaType, media.preview.data)} alt="" aria-hidden="true" />
      )}
      {loaded.state === 'ready' && <img class="media-full" src={loaded.url} alt={media.fileName} width={width} height={height} />}
      {loaded.state === 'failed' && <span class="media-error">Could not open this image</span>}
    </div>
  );
}

function PlayerMedia({ media, kind }: { media: MediaDescriptor; kind: 'audio' | 'video' }) {
  const loaded = useMediaUrl(media, true);
  if (loaded.state === 'failed') return <FileChip media={media} />;
  if (loaded.state === 'loading')
    return <span class="media-loading">{`${media.fileName} (${formatBytes(media.size)}) · decrypting…`}</span>;
  return kind === 'audio' ? (
    <audio class="media-audio" controls src={loaded.url} aria-label={media.fileName} />
  ) : (
    <video class="media-video" controls src={loaded.url} aria-label={media.fileName} width={MAX_IMAGE_WIDTH} />
  );
}

function FileChip({ media }: { media: MediaDescriptor }) {
  const link = useLink();
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);
  const save = async () => {
    setBusy(true);
    setFailed(false);
    try {
      const url = URL.createObjectURL(await link.engine.media(media));
      const a = document.createElement('a');
      a.href = url;
      a.download = media.fileName;
      a.click();
      // The download has its own reference by now; give it a moment before letting the bytes go.
      setTimeout(() => URL.revokeObjectURL(url), 30_000);
    } catch {
      setFailed(true);
    } finally {
      setBusy(false);
    }
  };
  return (
    <button
      type="button"
      class="file-chip"
      onClick={() => void save()}
      disabled={busy}
      aria-label={`Download ${media.fileName}, ${formatBytes(media.size)}`}
    >
      <span aria-hidden="true">📄</span>
      <span class="file-name">{media.fileName}</span>
      <span class="file-size">{busy ? 'decrypting…' : failed ? 'failed, try again' : formatBytes(media.size)}</span>
    </button>
  );
}
