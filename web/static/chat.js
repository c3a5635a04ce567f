/* The chat page with JavaScript on: ask without reloading and keep the conversation.
 * Without JavaScript the same form and example links work through GET /?q=... and a page load.
 * Fetching and rendering are the widget's (widget.js, loaded with data-mount="none"). */
customElements.whenDefined('mdg-sporsmal').then((Widget) => {
  'use strict';
  const { TEXT, ask, render, turn, feedback, nextPrev } = Widget.kit;
  const t = TEXT.nb;
  const base = new URL('/', location.href);
  const form = document.getElementById('ask');
  const input = document.getElementById('q');
  // The previous question travels in the form (a hidden field, so it works without JavaScript
  // too); it is kept nowhere else.
  const prevField = document.getElementById('prev');
  const log = document.getElementById('log');
  const calm = matchMedia('(prefers-reduced-motion: reduce)');
  let busy = false;

  async function send(question) {
    const q = question.trim();
    if (!q || busy) return;
    busy = true;
    const error = document.getElementById('ask-error');
    if (error) error.remove();
    const one = turn(q, t);
    log.append(one.node);
    try {
      const prev = prevField.value;
      const data = await ask(q, base, t, undefined, prev, form.dataset.programme);
      prevField.value = nextPrev(data, q, prev);
      prevField.disabled = !prevField.value;
      one.done(render(data, t, base));
      const used = data.interpreted_as ? '&prev=' + encodeURIComponent(prev) : '';
      history.replaceState(null, '', '?q=' + encodeURIComponent(q) + used);
    } catch (e) {
      one.fail(e.message);
      if (!input.value) input.value = q;
    }
    one.node.scrollIntoView({ block: 'start', behavior: calm.matches ? 'auto' : 'smooth' });
    busy = false;
  }

  // An answer rendered on the server (GET /?q=...) gets the same feedback buttons.
  for (const exchange of document.querySelectorAll('.exchange[data-ask-id]')) {
    exchange.querySelector('.reply').append(feedback(exchange.dataset.askId, t, base));
  }

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
