/* MDG Bærum: spør om programmet. Embed: <script src="https://SERVER/widget.js" async></script>
 * Options, as data- attributes on that tag: title, accent, position (right|left), greeting,
 * examples ("a?|b?"), lang (nb|en), timeout (ms). Talks only to its own server; no cookies or storage.
 * The chat page reuses its parts (customElements.get(TAG).kit). */
(() => {
  'use strict';
  const TAG = 'mdg-sporsmal';
  const script = document.currentScript;
  const BASE = new URL('.', script ? script.src : location.href);
  // What the serving server is like, written in as it serves this file (web/assets.py):
  // { stored: it keeps the anonymous question log, limits: { question, comment } in characters }.
  const SERVER = {};

  const TEXT = {
    nb: {
      lang: 'nb', launch: 'Spør om programmet', title: 'Spør MDG Bærum', close: 'Lukk',
      greeting: 'Hei! Spør om hva MDG Bærum vil gjøre, så svarer jeg med punkter fra programmet.',
      examples: ['Hva vil MDG med Oslofjorden?', 'Vil dere gjøre bussen billigere?', 'Hva vil dere gjøre for barnehagene?'],
      label: 'Ditt spørsmål', placeholder: 'Skriv et spørsmål …', send: 'Spør',
      you: 'Du spurte:', busy: 'Leter i programmet …', weWill: 'Vi vil:', interpreted: 'Tolket som:',
      cite: (s, n, p) => `${s} · punkt ${n} · s. ${p}`,
      none: 'Programmet ser ikke ut til å si noe om dette.', near: 'Nærmeste tema i programmet:',
      anyway: 'Vis de nærmeste punktene likevel', closest: 'Nærmeste treff', broader: 'Bredere program', says: 'sier:',
      related: 'Programmet svarer ikke direkte på dette. Dette er det nærmeste:',
      hello: 'Hei! Spør meg om hva MDG Bærum vil gjøre – for eksempel om skole, buss eller natur. Svarene er sitater fra programmet.',
      welcome: 'Bare hyggelig! Spør gjerne om noe mer.',
      note: 'Svarene velges automatisk av et søkeprogram fra programmets egen tekst; ingenting er skrevet av en maskin.',
      whole: 'Les hele programmet',
      offline: 'Får ikke kontakt med tjenesten. Sjekk nettforbindelsen og prøv igjen.',
      slow: 'Tjenesten bruker for lang tid på å svare. Prøv igjen om litt.',
      many: 'Mange spør akkurat nå. Vent litt og prøv igjen.',
      failed: 'Noe gikk galt hos oss. Prøv igjen om litt.',
      useful: 'Var svaret nyttig?', up: 'Ja, nyttig', down: 'Nei, ikke nyttig', why: 'Hva manglet? (valgfritt)',
      thanks: 'Takk for tilbakemeldingen!', stored: 'Spørsmålene lagres anonymt for å forbedre tjenesten.',
    },
    en: {
      lang: 'en', launch: 'Ask about the programme', title: 'Ask MDG Bærum', close: 'Close',
      greeting: 'Hi! Ask what MDG Bærum wants to do; I answer with pledges from the programme (in Norwegian).',
      examples: ['What will MDG do about the Oslofjord?', 'Will you make the bus cheaper?', 'What about kindergartens?'],
      label: 'Your question', placeholder: 'Type a question …', send: 'Ask',
      you: 'You asked:', busy: 'Searching the programme …', weWill: 'We will:', interpreted: 'Understood as:',
      cite: (s, n, p) => `${s} · item ${n} · p. ${p}`,
      none: 'The programme does not seem to say anything about this.', near: 'Closest topics in the programme:',
      anyway: 'Show the nearest pledges anyway', closest: 'Closest match', broader: 'Broader programme', says: 'says:',
      related: 'The programme does not answer this directly. This is the closest it comes:',
      hello: 'Hi! Ask me what MDG Bærum wants to do – for example about schools, buses or nature. The answers are quotes from the programme.',
      welcome: 'You’re welcome! Feel free to ask something else.',
      note: 'Answers are picked automatically by a search program from the programme’s own text; nothing is machine-written.',
      whole: 'Read the whole programme',
      offline: 'Cannot reach the service. Check your connection and try again.',
      slow: 'The service is too slow to answer right now. Please try again shortly.',
      many: 'Many are asking right now. Please wait a moment and try again.',
      failed: 'Something went wrong on our side. Please try again shortly.',
      useful: 'Was this helpful?', up: 'Yes, helpful', down: 'No, not helpful', why: 'What was missing? (optional)',
      thanks: 'Thank you for the feedback!', stored: 'Questions are stored anonymously to improve the service.',
    },
  };

  /** An element with attributes, text (as textContent, never markup) and children. */
  const h = (tag, attrs, text, ...kids) => {
    const e = document.createElement(tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    e.append(...kids);
    return e;
  };
  const link = (base, id, text, cls, page) => {
    const a = h('a', cls ? { class: cls } : {}, text);
    a.href = new URL((page || 'program') + (id ? '#' + encodeURIComponent(id) : ''), base).href;
    return a;
  };
  const pageOf = (r) => r.url.split('#')[0]; // the programme page a result links into

  /** Fetch an answer, with the conversation's previous question if any (`prev`, see `nextPrev`);
   * on failure throw an Error whose message a voter can read. */
  async function ask(q, base, t, timeout = 15000, prev = '', programme = '') {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeout);
    try {
      let res, body = null;
      try {
        const query = 'api/ask?q=' + encodeURIComponent(q) + (prev ? '&prev=' + encodeURIComponent(prev) : '') +
          (programme ? '&programme=' + encodeURIComponent(programme) : '');
        res = await fetch(new URL(query, base), { signal: ctl.signal, credentials: 'omit' });
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

  /** Results grouped by section (by section_id: two sections may share a title), sections in
   * order of their best result; each group is a list of results. */
  const bySection = (results) => {
    const by = new Map();
    for (const r of results) (by.get(r.section_id) || by.set(r.section_id, []).get(r.section_id)).push(r);
    return [...by.values()];
  };
  const groups = (results, t, base) => bySection(results).map((rs) => h('section', { class: 'group' }, null,
    h('p', { class: 'part' }, rs[0].part),
    h('h3', { class: 'sec' }, null, link(base, rs[0].section_id, rs[0].section, '', pageOf(rs[0]))),
    h('p', { class: 'vivil' }, t.weWill),
    h('ul', { class: 'pledges' }, null, ...rs.map((r) => h('li', {}, null,
      h('blockquote', {}, r.text), link(base, r.id, t.cite(r.section, r.number, r.page), 'cite', pageOf(r)))))));

  /** The previous question to send with the next one: what was answered (`interpreted_as`, when
   * the one before was used and it fits the limit), else the question; after small talk, unchanged. */
  const nextPrev = (data, q, prev) => data.smalltalk ? prev
    : data.interpreted_as && data.interpreted_as.length <= SERVER.limits.question ? data.interpreted_as : q;

  /** The answer as DOM by its kind (answered, related, not_covered, smalltalk): the chat page's
   * template (_answer.html) draws the same markup from the same JSON. */
  function render(data, t, base) {
    const kind = data.smalltalk ? 'smalltalk' : data.coverage || (data.answered ? 'answered' : 'not_covered');
    const box = h('div', { class: 'reply ' + kind });
    const nearest = data.results.slice(0, 3);
    if (data.interpreted_as) box.append(h('p', { class: 'interpreted' }, t.interpreted + ' ', h('q', {}, data.interpreted_as)));
    if (kind === 'smalltalk') box.append(h('p', { class: 'courtesy' }, data.smalltalk === 'thanks' ? t.welcome : t.hello));
    else if (kind === 'answered') box.append(...groups(data.results, t, base));
    else if (kind === 'related') {
      box.append(h('p', { class: 'band' }, null, h('span', { class: 'label' }, t.closest), ' ' + t.related), ...groups(nearest, t, base));
    } else {
      box.append(h('p', { class: 'none' }, t.none));
      const near = bySection(data.results).slice(0, 3).map((rs) => rs[0]);
      if (near.length) box.append(h('p', { class: 'near-label' }, t.near), h('ul', { class: 'near' }, null, ...near.map((r) => h('li', {}, null, link(base, r.section_id, r.section, '', pageOf(r))))));
      if (nearest.length) box.append(h('details', { class: 'anyway' }, null, h('summary', {}, t.anyway), ...groups(nearest, t, base)));
    }
    const fb = data.fallback; // a broader programme's answer, attributed, never mixed in
    if (fb) box.append(h('div', { class: 'reply fallback answered' }, null, h('p', { class: 'band' }, null, h('span', { class: 'label' }, t.broader), ' ' + fb.title + ' ' + t.says), ...groups(fb.results, t, base)));
    if (data.ask_id && kind !== 'smalltalk') box.append(feedback(data.ask_id, t, base));
    return box;
  }

  /** 👍/👎 on a logged answer; after 👎 an optional comment. */
  function feedback(id, t, base) {
    const post = (helpful, comment) => fetch(new URL('api/feedback', base), {
      method: 'POST', credentials: 'omit', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ask_id: id, helpful, comment }),
    }).catch(() => {});
    const thank = () => {
      const p = h('p', { tabindex: '-1' }, t.thanks);
      row.replaceChildren(p);
      p.focus();
    };
    const up = h('button', { type: 'button', 'aria-label': t.up }, '👍');
    const down = h('button', { type: 'button', 'aria-label': t.down }, '👎');
    const row = h('div', { class: 'fb' }, null, h('span', {}, t.useful), up, down);
    up.onclick = () => { post(true); thank(); };
    down.onclick = () => {
      post(false);
      const why = h('input', { type: 'text', maxlength: String(SERVER.limits.comment), 'aria-label': t.why, placeholder: t.why });
      const form = h('form', {}, null, why, h('button', {}, 'OK'));
      form.onsubmit = (e) => { e.preventDefault(); if (why.value.trim()) post(false, why.value.trim()); thank(); };
      row.replaceChildren(form);
      why.focus();
    };
    return row;
  }

  /** One question in the conversation, waiting for its answer. */
  function turn(q, t) {
    const wait = h('p', { class: 'status' }, t.busy);
    const node = h('article', { class: 'exchange' }, null, h('p', { class: 'you' }, null, h('span', { class: 'vh' }, t.you + ' '), h('span', {}, q)), wait);
    return { node, done: (reply) => wait.replaceWith(reply), fail: (msg) => wait.replaceWith(h('p', { class: 'err' }, msg)) };
  }

  const STYLE = `:host{all:initial}*{box-sizing:border-box}
.w{--a:#1f7a3a;--i:#fff;--l:#1f7a3a;--m:#55605a;position:fixed;bottom:20px;right:20px;z-index:2147483000;font:16px/1.5 system-ui,"Segoe UI",sans-serif;color:#1b1f1c}
.left{right:auto;left:20px}button,input{font:inherit;cursor:pointer}a{color:var(--l)}p{margin:0}
:focus-visible{outline:3px solid var(--l);outline-offset:2px}
.launch{display:flex;align-items:center;gap:8px;background:var(--a);color:var(--i);border:0;border-radius:99px;padding:12px 20px;font-weight:600;box-shadow:0 4px 16px #0004}
.launch::before{content:"";width:18px;height:15px;background:currentColor;border-radius:4px 4px 4px 0}
.panel{position:absolute;bottom:68px;right:0;width:min(400px,calc(100vw - 40px));height:min(640px,calc(100vh - 110px));display:flex;flex-direction:column;background:#fff;border-radius:16px;box-shadow:0 12px 40px #0005;overflow:hidden}
.left .panel{right:auto;left:0}.panel[hidden]{display:none}
.top{display:flex;align-items:center;justify-content:space-between;background:var(--a);color:var(--i);padding:10px 10px 10px 16px}
h2{font-size:17px;margin:0}h3{font-size:16px;margin:0}
.x{background:none;border:0;color:inherit;font-size:26px;line-height:1;width:44px;height:44px;border-radius:8px}
.x:focus-visible{outline-color:var(--i);outline-offset:-4px}
.log{flex:1;overflow-y:auto;padding:16px;position:relative}
ul{margin:0;padding:0;list-style:none}
.ex{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0 8px}
.ex button{background:#fff;border:1px solid var(--l);color:var(--l);border-radius:99px;padding:6px 12px;font-size:14px}
.you{margin:18px 0 10px auto;width:fit-content;max-width:85%;background:var(--a);color:var(--i);padding:8px 14px;border-radius:16px 16px 4px 16px}
.group{margin:0 0 14px}.part,.vivil,.fb,.status,.note,.interpreted{font-size:14px;color:var(--m)}.interpreted{margin-bottom:8px}
.pledges li{margin:4px 0 10px;padding-left:12px;border-left:3px solid var(--a)}
blockquote{margin:0}.cite{font-size:13px}.none,.band{font-weight:600;margin-bottom:8px}.near li{margin:2px 0}
.related,.anyway{border:1px dashed #767f79;border-radius:10px;padding:10px}.anyway{margin-top:10px}
.related .pledges li,.anyway .pledges li{border-left-color:#767f79}summary{cursor:pointer;color:var(--l);font-weight:600}
.label{display:inline-block;margin-right:6px;padding:0 8px;border:1px solid;border-radius:99px;font-size:12px;color:var(--m)}
.fb{display:flex;align-items:center;gap:6px}.fb form{display:flex;flex:1;gap:6px}
.fb button{background:#fff;border:1px solid #767f79;border-radius:8px;padding:2px 10px}
.err{color:#a4161a;background:#fdecec;padding:8px 12px;border-radius:8px}
.panel>form{display:flex;gap:8px;padding:12px;border-top:1px solid #e2e8e4}
input{flex:1;min-width:0;font-size:16px;padding:10px 12px;border:1px solid #767f79;border-radius:10px;color:inherit;background:#fff;cursor:text}
.send{background:var(--a);color:var(--i);border:0;border-radius:10px;padding:0 18px;font-weight:600}
.note{padding:0 12px 10px;font-size:13px}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:600px){.panel{position:fixed;inset:0;width:auto;height:auto;border-radius:0}}
@media (prefers-reduced-motion:no-preference){.panel{animation:up .18s ease-out}@keyframes up{from{opacity:0;transform:translateY(10px)}}}`;

  let sheet = null;
  const styles = (root) => {
    if ('adoptedStyleSheets' in root && 'replaceSync' in CSSStyleSheet.prototype) {
      if (!sheet) (sheet = new CSSStyleSheet()).replaceSync(STYLE); // not blocked by the host's CSP
      root.adoptedStyleSheets = [sheet];
    } else root.append(h('style', {}, STYLE));
  };

  /** The site's colour, with black or white text on it, whichever reaches 4.5:1. */
  const accent = (w, colour) => {
    const probe = h('i');
    probe.style.color = colour;
    w.append(probe);
    const m = /^rgba?\((\d+), (\d+), (\d+)/.exec(getComputedStyle(probe).color);
    probe.remove();
    if (!m) return;
    const [r, g, b] = m.slice(1).map((v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    const white = 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05) >= 4.5;
    w.style.setProperty('--a', colour);
    w.style.setProperty('--i', white ? '#fff' : '#111');
    w.style.setProperty('--l', white ? colour : '#1b1f1c');
  };

  class Widget extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return;
      const c = { ...this.config, ...this.dataset };
      const [t, other] = c.lang === 'en' ? [TEXT.en, TEXT.nb] : [TEXT.nb, TEXT.en];
      const root = this.attachShadow({ mode: 'open' });
      styles(root);
      const w = h('div', { class: c.position === 'left' ? 'w left' : 'w', lang: t.lang });
      root.append(w);
      if (c.accent && CSS.supports('color', c.accent)) accent(w, c.accent);

      const launch = h('button', { class: 'launch', type: 'button', 'aria-expanded': 'false', 'aria-controls': 'panel' }, t.launch);
      const close = h('button', { class: 'x', type: 'button', 'aria-label': t.close }, '×');
      const examples = c.examples != null ? c.examples.split('|').map((s) => s.trim()).filter(Boolean) : t.examples;
      const exButtons = examples.map((q) => {
        const b = h('button', { type: 'button' }, q);
        b.onclick = () => { send(q); input.focus(); };
        return h('li', {}, null, b);
      });
      const log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': c.title || t.title }, null,
        h('p', {}, c.greeting || t.greeting));
      if (examples.length) log.append(h('ul', { class: 'ex' }, null, ...exButtons));
      const input = h('input', { id: 'q', type: 'text', maxlength: String(SERVER.limits.question), autocomplete: 'off', placeholder: t.placeholder, enterkeyhint: 'send' });
      const form = h('form', {}, null, h('label', { class: 'vh', for: 'q' }, t.label), input, h('button', { class: 'send' }, t.send));
      const panel = h('div', { class: 'panel', id: 'panel', role: 'dialog', 'aria-labelledby': 'title', hidden: '' }, null,
        h('div', { class: 'top' }, null, h('h2', { id: 'title' }, c.title || t.title), close),
        log, form,
        h('p', { class: 'note' }, t.note + ' ', h('span', { lang: other.lang }, other.note),
          (SERVER.stored ? ' ' + t.stored : '') + ' ', link(BASE, '', t.whole)));
      w.append(panel, launch);

      let busy = false;
      let prev = ''; // the conversation's previous question, kept only while the page is open
      const send = async (q) => {
        q = q.trim();
        if (!q || busy) return;
        busy = true;
        const one = turn(q, t);
        log.append(one.node);
        log.scrollTop = one.node.offsetTop - 8;
        try {
          const data = await ask(q, BASE, t, Number(c.timeout) || undefined, prev, c.programme);
          prev = nextPrev(data, q, prev);
          one.done(render(data, t, BASE));
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
      launch.onclick = () => open(panel.hidden);
      close.onclick = () => open(false);
      root.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !panel.hidden) open(false); });
      form.onsubmit = (e) => {
        e.preventDefault();
        const q = input.value;
        input.value = '';
        send(q);
      };
    }
  }
  Widget.kit = { TEXT, ask, render, turn, feedback, nextPrev };

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
