/* MDG Bærum: spør om programmet. The embeddable widget, one line on any page:
 *   <script src="https://SERVER/widget.js" async></script>
 * Options, as data- attributes on that tag: data-title, data-accent (a CSS colour),
 * data-position (right|left), data-greeting, data-examples ("one?|two?"), data-lang (nb|en),
 * data-timeout (ms). It talks only to the server it was loaded from: no cookies, no storage,
 * no other requests. The chat page reuses its parts (customElements.get(TAG).kit). */
(() => {
  'use strict';
  const TAG = 'mdg-sporsmal';
  const script = document.currentScript;
  const BASE = new URL('.', script ? script.src : location.href);

  const TEXT = {
    nb: {
      launch: 'Spør om programmet', title: 'Spør MDG Bærum', close: 'Lukk',
      greeting: 'Hei! Spør om hva MDG Bærum vil gjøre, så svarer jeg med punkter fra programmet.',
      examples: ['Hva vil MDG med Oslofjorden?', 'Vil dere gjøre bussen billigere?', 'Hva vil dere gjøre for barnehagene?'],
      label: 'Ditt spørsmål', placeholder: 'Skriv et spørsmål …', send: 'Spør',
      you: 'Du spurte:', busy: 'Leter i programmet …', weWill: 'Vi vil:',
      cite: (s, n, p) => `${s} · punkt ${n} · s. ${p}`,
      none: 'Programmet sier ikke noe om dette.', near: 'Nærmeste tema i programmet:',
      note: 'Svarene er ordrette sitater fra programmet, ikke generert tekst.', whole: 'Les hele programmet',
      offline: 'Får ikke kontakt med tjenesten. Sjekk nettforbindelsen og prøv igjen.',
      slow: 'Tjenesten bruker for lang tid på å svare. Prøv igjen om litt.',
      many: 'Mange spør akkurat nå. Vent litt og prøv igjen.',
      failed: 'Noe gikk galt hos oss. Prøv igjen om litt.',
    },
    en: {
      launch: 'Ask about the programme', title: 'Ask MDG Bærum', close: 'Close',
      greeting: 'Hi! Ask what MDG Bærum wants to do, and I will answer with pledges from the programme (in Norwegian).',
      examples: ['What will MDG do about the Oslofjord?', 'Will you make the bus cheaper?', 'What about kindergartens?'],
      label: 'Your question', placeholder: 'Type a question …', send: 'Ask',
      you: 'You asked:', busy: 'Searching the programme …', weWill: 'We will:',
      cite: (s, n, p) => `${s} · item ${n} · p. ${p}`,
      none: 'The programme does not say anything about this.', near: 'Closest topics in the programme:',
      note: 'Answers are verbatim quotes from the programme, not generated text.', whole: 'Read the whole programme',
      offline: 'Cannot reach the service. Check your connection and try again.',
      slow: 'The service is taking too long to answer. Please try again shortly.',
      many: 'Many people are asking right now. Please wait a moment and try again.',
      failed: 'Something went wrong on our side. Please try again shortly.',
    },
  };

  /** An element with attributes and, optionally, text (always as textContent, never markup). */
  const h = (tag, attrs, text) => {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  };
  const link = (base, id, text, cls) => {
    const a = h('a', cls ? { class: cls } : null, text);
    a.href = new URL(id ? 'program#' + encodeURIComponent(id) : 'program', base).href;
    return a;
  };
  // A pledge id is its section's id, a hyphen and its number (corpus.parse); tests hold this.
  const sectionId = (r) => r.id.slice(0, -String(r.number).length - 1);

  /** Fetch an answer; on failure throw an Error whose message a voter can read. */
  async function ask(q, base, t, timeout = 15000) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeout);
    try {
      let res, body = null;
      try {
        res = await fetch(new URL('api/ask?q=' + encodeURIComponent(q), base), { signal: ctl.signal, credentials: 'omit' });
        body = await res.json().catch(() => null);
      } catch (e) {
        throw new Error(e.name === 'AbortError' ? t.slow : t.offline);
      }
      if (res.ok && body && Array.isArray(body.results)) return body;
      const detail = body && typeof body.detail === 'string' ? body.detail : null;
      throw new Error(res.status === 429 ? detail || t.many : res.status < 500 && detail ? detail : t.failed);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The answer as DOM, the same markup as the chat page's server-side template. */
  function render(data, t, base) {
    const box = h('div', { class: 'reply' });
    if (data.answered) {
      const groups = new Map();
      for (const r of data.results) (groups.get(r.section) || groups.set(r.section, []).get(r.section)).push(r);
      for (const rs of groups.values()) {
        const head = h('h3', { class: 'sec' });
        head.append(link(base, sectionId(rs[0]), rs[0].section));
        const list = h('ul', { class: 'pledges' });
        for (const r of rs) {
          const li = h('li');
          li.append(h('blockquote', null, r.text), link(base, r.id, t.cite(r.section, r.number, r.page), 'cite'));
          list.append(li);
        }
        const group = h('section', { class: 'group' });
        group.append(h('p', { class: 'part' }, rs[0].part), head, h('p', { class: 'vivil' }, t.weWill), list);
        box.append(group);
      }
    } else {
      box.append(h('p', { class: 'none' }, t.none));
      const seen = new Set(), list = h('ul', { class: 'near' });
      for (const r of data.results) {
        if (seen.has(r.section) || seen.size === 3) continue;
        seen.add(r.section);
        const li = h('li');
        li.append(link(base, sectionId(r), r.section));
        list.append(li);
      }
      if (seen.size) box.append(h('p', { class: 'near-label' }, t.near), list);
    }
    return box;
  }

  /** One question in the conversation, waiting for its answer. */
  function turn(q, t) {
    const node = h('article', { class: 'exchange' });
    const you = h('p', { class: 'you' });
    you.append(h('span', { class: 'vh' }, t.you + ' '), h('span', null, q));
    const wait = h('p', { class: 'status' }, t.busy);
    node.append(you, wait);
    return { node, done: (reply) => wait.replaceWith(reply), fail: (msg) => wait.replaceWith(h('p', { class: 'err' }, msg)) };
  }

  const STYLE = `:host{all:initial}*{box-sizing:border-box}
.w{--a:#1f7a3a;--i:#fff;--l:#1f7a3a;position:fixed;bottom:20px;right:20px;z-index:2147483000;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f1c}
.w.left{right:auto;left:20px}button,input{font:inherit}a{color:var(--l)}
:focus-visible{outline:3px solid var(--l);outline-offset:2px}
.launch{display:flex;align-items:center;gap:8px;margin-left:auto;background:var(--a);color:var(--i);border:0;border-radius:999px;padding:12px 20px;font-weight:600;cursor:pointer;box-shadow:0 4px 16px rgba(0,0,0,.25)}
.launch svg{width:22px;height:22px;fill:currentColor}
.left .launch{margin:0}
.panel{position:absolute;bottom:68px;right:0;width:min(400px,calc(100vw - 40px));height:min(640px,calc(100vh - 110px));display:flex;flex-direction:column;background:#fff;border-radius:16px;box-shadow:0 12px 40px rgba(0,0,0,.28);overflow:hidden}
.left .panel{right:auto;left:0}.panel[hidden]{display:none}
.top{display:flex;align-items:center;justify-content:space-between;gap:8px;background:var(--a);color:var(--i);padding:10px 10px 10px 16px}
h2{font-size:17px;margin:0}
.x{background:none;border:0;color:inherit;font-size:26px;line-height:1;width:44px;height:44px;border-radius:8px;cursor:pointer}
.x:focus-visible{outline-color:var(--i);outline-offset:-4px}
.log{flex:1;overflow-y:auto;padding:16px;position:relative}
.greet{margin:0 0 10px}
.ex{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 8px;padding:0;list-style:none}
.ex button{background:#fff;border:1px solid var(--l);color:var(--l);border-radius:999px;padding:6px 12px;font-size:14px;cursor:pointer}
.ex button:hover{background:#f1f6f2}
.you{margin:18px 0 10px auto;width:fit-content;max-width:85%;background:var(--a);color:var(--i);padding:8px 14px;border-radius:16px 16px 4px 16px}
.group{margin:0 0 14px}.part{margin:0;font-size:13px;color:#55605a}
h3{font-size:16px;margin:0}.vivil{margin:2px 0 4px;font-size:14px;color:#55605a}
ul{margin:0;padding:0;list-style:none}
.pledges li{margin:0 0 10px;padding-left:12px;border-left:3px solid var(--a)}
blockquote{margin:0}.cite{font-size:13px}
.none{font-weight:600;margin:0 0 6px}.near-label{margin:0}.near li{margin:2px 0}
.status{color:#55605a;font-style:italic}
.err{color:#a4161a;background:#fdecec;padding:8px 12px;border-radius:8px}
form{display:flex;gap:8px;padding:12px;border-top:1px solid #e2e8e4}
input{flex:1;min-width:0;font-size:16px;padding:10px 12px;border:1px solid #767f79;border-radius:10px;color:#1b1f1c;background:#fff}
.send{background:var(--a);color:var(--i);border:0;border-radius:10px;padding:0 18px;font-weight:600;cursor:pointer}
.note{margin:0;padding:0 12px 10px;font-size:13px;color:#55605a}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:600px){.panel{position:fixed;inset:0;width:auto;height:auto;border-radius:0}}
@media (prefers-reduced-motion:no-preference){.panel{animation:up .18s ease-out}@keyframes up{from{opacity:0;transform:translateY(10px)}}}`;

  let sheet = null;
  const styles = (root) => {
    if ('adoptedStyleSheets' in root && 'replaceSync' in CSSStyleSheet.prototype) {
      sheet = sheet || new CSSStyleSheet();
      if (!sheet.cssRules.length) sheet.replaceSync(STYLE); // not subject to the host page's style-src
      root.adoptedStyleSheets = [sheet];
    } else root.append(h('style', null, STYLE));
  };

  /** Relative luminance of a computed "rgb(r, g, b)" colour, or null. */
  const luminance = (rgb) => {
    const m = /^rgba?\((\d+), (\d+), (\d+)/.exec(rgb);
    if (!m) return null;
    const [r, g, b] = m.slice(1).map((v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };

  class Widget extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return;
      const c = { ...(this.config || {}), ...this.dataset };
      const t = TEXT[c.lang === 'en' ? 'en' : 'nb'];
      const root = this.attachShadow({ mode: 'open' });
      styles(root);
      const w = h('div', { class: c.position === 'left' ? 'w left' : 'w' });
      root.append(w);
      if (c.accent && CSS.supports('color', c.accent)) this.accent(w, c.accent);

      const launch = h('button', { class: 'launch', type: 'button', 'aria-expanded': 'false', 'aria-controls': 'panel' });
      const icon = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
      icon.setAttribute('viewBox', '0 0 24 24');
      icon.setAttribute('aria-hidden', 'true');
      const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
      path.setAttribute('d', 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z');
      icon.append(path);
      launch.append(icon, h('span', null, t.launch));

      const panel = h('div', { class: 'panel', id: 'panel', role: 'dialog', 'aria-labelledby': 'title', hidden: '' });
      const top = h('div', { class: 'top' });
      const close = h('button', { class: 'x', type: 'button', 'aria-label': t.close }, '×');
      top.append(h('h2', { id: 'title' }, c.title || t.title), close);
      const log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': c.title || t.title });
      log.append(h('p', { class: 'greet' }, c.greeting || t.greeting));
      const examples = c.examples != null ? c.examples.split('|').map((s) => s.trim()).filter(Boolean) : t.examples;
      const exList = h('ul', { class: 'ex' });
      for (const q of examples) {
        const li = h('li'), b = h('button', { type: 'button' }, q);
        b.addEventListener('click', () => { send(q); input.focus(); });
        li.append(b);
        exList.append(li);
      }
      if (examples.length) log.append(exList);
      const form = h('form');
      const input = h('input', { id: 'q', type: 'text', maxlength: '500', autocomplete: 'off', placeholder: t.placeholder, enterkeyhint: 'send' });
      form.append(h('label', { class: 'vh', for: 'q' }, t.label), input, h('button', { class: 'send', type: 'submit' }, t.send));
      const note = h('p', { class: 'note' }, t.note + ' ');
      note.append(link(BASE, '', t.whole));
      panel.append(top, log, form, note);
      w.append(panel, launch);

      let busy = false;
      const send = async (q) => {
        q = q.trim();
        if (!q || busy) return;
        busy = true;
        const one = turn(q, t);
        log.append(one.node);
        log.scrollTop = one.node.offsetTop - 8;
        try {
          one.done(render(await ask(q, BASE, t, Number(c.timeout) || undefined), t, BASE));
        } catch (e) {
          one.fail(e.message);
          if (!input.value) input.value = q;
        }
        log.scrollTop = one.node.offsetTop - 8;
        busy = false;
      };
      const open = (yes) => {
        panel.hidden = !yes;
        launch.setAttribute('aria-expanded', String(yes));
        (yes ? input : launch).focus();
      };
      launch.addEventListener('click', () => open(panel.hidden));
      close.addEventListener('click', () => open(false));
      root.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !panel.hidden) open(false); });
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const q = input.value;
        input.value = '';
        send(q);
      });
    }

    /** Use the site's colour, with text on it black or white, whichever reaches 4.5:1. */
    accent(w, colour) {
      const probe = h('i');
      probe.style.color = colour;
      w.append(probe);
      const L = luminance(getComputedStyle(probe).color);
      probe.remove();
      if (L == null) return;
      const white = 1.05 / (L + 0.05) >= 4.5;
      w.style.setProperty('--a', colour);
      w.style.setProperty('--i', white ? '#fff' : '#111');
      w.style.setProperty('--l', white ? colour : '#1b1f1c');
    }
  }
  Widget.kit = { TEXT, ask, render, turn };

  if (!customElements.get(TAG)) customElements.define(TAG, Widget);
  if (script && script.dataset.mount !== 'none') {
    const mount = () => {
      if (document.querySelector(TAG)) return;
      const el = document.createElement(TAG);
      el.config = { ...script.dataset };
      document.body.append(el);
    };
    if (document.body) mount();
    else addEventListener('DOMContentLoaded', mount);
  }
})();
