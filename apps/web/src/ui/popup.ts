/**
 * A button that opens a popup (a menu, or a panel like the edit history):
 * whether it is open, refs for the button and the popup, `close` (focus goes
 * back to the button), and a keydown handler for the wrapper that closes it on
 * Escape. With `focusFirst`, opening moves focus to the popup's first button.
 */
import { useEffect, useRef, useState } from 'preact/hooks';

export function usePopup(focusFirst = true) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const popup = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (open && focusFirst) popup.current?.querySelector('button')?.focus();
  }, [open, focusFirst]);
  const close = (): void => {
    setOpen(false);
    button.current?.focus();
  };
  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.key === 'Escape' && open) {
      e.preventDefault();
      close();
    }
  };
  return { open, setOpen, button, popup, close, onKeyDown };
}
