/* The programme page on a phone: the table of contents folds away once read, so the
 * programme starts on the first screen. Without JavaScript it stays open (the page's default).
 * Loaded right after the contents, not deferred: it folds them before the programme is parsed. */
(() => {
  'use strict';
  const fold = document.querySelector('.toc-fold');
  const narrow = matchMedia('(max-width: 52rem)');
  if (!fold) return;
  if (narrow.matches) fold.open = false;
  fold.addEventListener('click', (e) => {
    if (narrow.matches && e.target.closest('a')) fold.open = false; // a section chosen: show it
  });
})();
