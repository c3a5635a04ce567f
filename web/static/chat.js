/* The chat page with JavaScript on: ask without reloading and keep the conversation.
 * Without JavaScript the same form and example links work through GET /?q=...#svar and a page load.
 * Fetching and rendering are the widget's (widget.js, loaded with data-mount="none").
 *
 * - A question sent while another is loading waits its turn (none is dropped); the log is
 *   aria-busy meanwhile, and the waiting line is scrolled clear of the sticky question box.
 * - Each answer becomes a history entry (?q=...) and the page title; Back returns to it.
 *   Nothing is stored: the conversation lives only in this page.
 * - Each answer offers "copy link", each quoted pledge "copy quote". */
customElements.whenDefined('mdg-sporsmal').then((Widget) => {
  'use strict';
  const { TEXT, ask, render, mended, turn, feedback, nextPrev, BASE } = Widget.kit;
  const t = TEXT.nb;
  const base = BASE; // the server's root, "/sporsmal/" behind a proxy (written into widget.js)
  const form = document.getElementById('ask');
  const input = document.getElementById('q');
  // The previous question travels in the form (a hidden field, so it works without JavaScript
  // too); it is kept nowhere else.
  const prevField = document.getElementById('prev');
  const home = new URL(form.getAttribute('action').split('#')[0], location.href); // this programme's page
  const log = document.getElementById('log');
  const calm = matchMedia('(prefers-reduced-motion: reduce)');
  const NAME = document.querySelector('.intro h1').textContent; // "Spør om <the programme>"
  const exchanges = []; // [question, node], in order: history entries point here by index
  let queue = Promise.resolve();
  let waiting = 0;
  history.scrollRestoration = 'manual'; // Back scrolls to the answer it returns to (popstate below)

  const scroll = (node, block) => node.scrollIntoView({ block, behavior: calm.matches ? 'auto' : 'smooth' });
  const named = (q) => { document.title = q ? `${q} – ${NAME}` : NAME; };
  const query = (q, exact) => '?q=' + encodeURIComponent(q) + (exact ? '&exact=1' : '');
  const link = (q, exact) => new URL(query(q, exact) + '#svar', home).href;

  /** A button that copies `text()`, then says whether it could. */
  function copier(label, text) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'copy';
    b.textContent = label;
    b.addEventListener('click', async () => {
      let done = true;
      try { await navigator.clipboard.writeText(text()); } catch { done = false; }
      b.textContent = done ? t.copied : t.uncopied;
      setTimeout(() => { b.textContent = label; }, 2500);
    });
    return b;
  }

  /** The pledge as a voter would quote it: the words, who says them, where, and the link. */
  const quote = (li) => {
    const cite = li.querySelector('a.cite');
    return `«${li.querySelector('blockquote').textContent}»\n— ${t.source}, ${cite.textContent}\n${cite.href}`;
  };

  /** Copy buttons on one answered exchange. */
  function tools(node, q, exact) {
    for (const li of node.querySelectorAll('.pledges li')) li.append(copier(t.copyQuote, () => quote(li)));
    const row = document.createElement('div');
    row.className = 'tools';
    row.append(copier(t.copyLink, () => link(q, exact)));
    node.append(row);
  }

  function remember(q, node) {
    exchanges.push([q, node]);
    return exchanges.length - 1;
  }

  async function answer(one, q, exact) {
    try {
      const prev = prevField.value;
      const data = await ask(q, base, t, undefined, prev, form.dataset.programme, exact);
      prevField.value = nextPrev(data, q, prev);
      prevField.disabled = !prevField.value;
      one.done(mended(data, t, home, (typed) => { send(typed, true); input.focus(); }), render(data, t, base));
      tools(one.node, q, exact);
      const used = data.interpreted_as ? '&prev=' + encodeURIComponent(prev) : '';
      history.pushState({ i: remember(q, one.node) }, '', query(q, exact) + used);
      named(q);
    } catch (e) {
      one.fail(e.message, e.retry ? () => answer(one, q, exact) : null);
      if (!input.value) input.value = q;
    }
    scroll(one.node, 'start');
  }

  function send(question, exact = false) {
    const q = question.trim();
    if (!q) return;
    const error = document.getElementById('ask-error');
    if (error) error.remove();
    const one = turn(q, t);
    log.append(one.node);
    waiting += 1;
    log.setAttribute('aria-busy', 'true');
    scroll(one.wait, 'end'); // above the sticky box (scroll-margin-bottom in site.css)
    queue = queue.then(() => answer(one, q, exact)).then(() => {
      waiting -= 1;
      if (!waiting) log.setAttribute('aria-busy', 'false');
    });
  }

  // An answer rendered on the server (GET /?q=...): land on it, with the same buttons.
  const served = document.querySelector('#log .exchange');
  if (served) {
    const q = served.querySelector('.you span:last-child').textContent;
    if (served.dataset.askId) served.querySelector('.reply').append(feedback(served.dataset.askId, t, base));
    if (served.querySelector('.reply:not(.smalltalk)')) tools(served, q, new URLSearchParams(location.search).get('exact') === '1');
    history.replaceState({ i: remember(q, served) }, '');
    const you = document.getElementById('svar');
    you.scrollIntoView({ block: 'start' });
    you.focus({ preventScroll: true });
  } else history.replaceState({ i: -1 }, '');

  // Back and Forward move through the conversation, which is still on the page.
  addEventListener('popstate', (e) => {
    if (!e.state || typeof e.state.i !== 'number') return; // e.g. the skip link's #main
    const [q, node] = exchanges[e.state.i] || ['', null];
    named(q);
    if (node) scroll(node, 'start');
    else scrollTo(0, 0);
  });

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = input.value;
    input.value = '';
    send(q);
  });
  for (const a of document.querySelectorAll('a[data-example]')) {
    a.addEventListener('click', (e) => {
      e.preventDefault();
      send(a.dataset.example);
      input.focus();
    });
  }
});
