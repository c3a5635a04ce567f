/* The programme page on a phone: the table of contents folds away once read, so the
 * programme starts on the first screen. Without JavaScript it stays open (the page's default).
 * Loaded right after the contents, not deferred: it folds them before the programme is parsed.
 *
 * A linked pledge (/program#klima-12): its section's sticky heading and "Vi vil:" (site.css) sit
 * at the top of the screen above it. A heading that wraps is taller than the one-line default,
 * so its height is measured once the programme is there, and the pledge brought back into view. */
(() => {
  'use strict';
  const fold = document.querySelector('.toc-fold');
  const narrow = matchMedia('(max-width: 52rem)');
  const showLinked = () => {
    let id = '';
    try { id = decodeURIComponent(location.hash.slice(1)); } catch { return; } // a malformed link: leave it
    const pledge = id ? document.getElementById(id)?.closest('.pledges > li') : null;
    const head = pledge?.closest('.section')?.querySelector(':scope > h3');
    if (!head) return;
    head.parentElement.style.setProperty('--head', `${head.getBoundingClientRect().height}px`);
    pledge.scrollIntoView({ block: 'start' });
  };
  document.addEventListener('DOMContentLoaded', showLinked);
  addEventListener('hashchange', showLinked);
  if (!fold) return;
  if (narrow.matches) fold.open = false;
  fold.addEventListener('click', (e) => {
    if (narrow.matches && e.target.closest('a')) fold.open = false; // a section chosen: show it
  });
})();
