// Moving the page for the fan: smoothly, unless they asked their system
// for less motion.

/** prefersReducedMotion reports the fan's "reduce motion" setting. */
export function prefersReducedMotion(win = globalThis.window) {
  return Boolean(win?.matchMedia?.('(prefers-reduced-motion: reduce)')?.matches);
}

/**
 * reveal scrolls el into view: smoothly, or at once under reduced motion.
 * block "nearest" leaves an element that is already in view where it is
 * and brings one below the fold up just enough (its top first when it is
 * taller than the window); CSS scroll-margin keeps it clear of the sticky
 * header.
 */
export function reveal(el, win = globalThis.window) {
  el?.scrollIntoView?.({ behavior: prefersReducedMotion(win) ? 'auto' : 'smooth', block: 'nearest' });
}
