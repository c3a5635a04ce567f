/* MDG Bærum: spør om programmet. Embed: <script src="https://SERVER/widget.js" async></script>
 * Options, as data- attributes on that tag: title, accent, position (right|left), greeting,
 * examples ("a?|b?"), lang (nb|en), timeout (ms), offset (px or a CSS length above the bottom edge),
 * target (a CSS selector: the panel is placed inline in that element, no launcher).
 * Talks only to its own server; no cookies or storage.
 * The chat page reuses its parts (customElements.get(TAG).kit). */
(() => {
  'use strict';
  const TAG = 'mdg-sporsmal';
  const script = document.currentScript;
  // What the serving server is like, written in as it serves this file (web/assets.py):
  // { stored: it keeps the anonymous question log, limits: { question, comment } in characters,
  //   base: the path it is served under, "/" or "/sporsmal/" behind a proxy }.
  const SERVER = {};
  // The server's API base: its path on the origin this script came from (a page may load the
  // script from /widget.js or /static/widget.js?v=..., under any root path).
  const BASE = new URL(SERVER.base || '.', script ? script.src : location.href);

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
      more: 'Flere punkter som ligger nær spørsmålet',
      related: 'Programmet svarer ikke direkte på dette. Dette er det nærmeste:',
      hello: 'Hei! Spør meg om hva MDG Bærum vil gjøre – for eksempel om skole, buss eller natur. Svarene er sitater fra programmet.',
      welcome: 'Bare hyggelig! Spør gjerne om noe mer.',
      note: 'Svarene velges automatisk av et søkeprogram fra programmets egen tekst; ingenting er skrevet av en maskin.',
      whole: 'Les hele programmet',
      offline: 'Får ikke kontakt med tjenesten. Sjekk nettforbindelsen og prøv igjen.',
      refused: 'Spørretjenesten er ikke satt opp for dette nettstedet ennå. Du kan spørre på tjenestens egen side:',
      gone: 'Tjenesten svarer ikke akkurat nå. Feilen er hos oss, ikke hos deg: prøv igjen om litt.',
      retry: 'Prøv igjen', unsaved: 'Tilbakemeldingen ble ikke lagret.',
      shownFor: 'Viser svar for:', typed: 'Spør om nøyaktig det du skrev:', own: 'Åpne spørretjenesten',
      copyLink: 'Kopier lenke', copyQuote: 'Kopier sitat', copied: 'Kopiert', uncopied: 'Kunne ikke kopiere',
      source: 'MDG Bærum, valgprogrammet',
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
      more: 'More pledges close to the question',
      related: 'The programme does not answer this directly. This is the closest it comes:',
      hello: 'Hi! Ask me what MDG Bærum wants to do – for example about schools, buses or nature. The answers are quotes from the programme.',
      welcome: 'You’re welcome! Feel free to ask something else.',
      note: 'Answers are picked automatically by a search program from the programme’s own text; nothing is machine-written.',
      whole: 'Read the whole programme',
      offline: 'Cannot reach the service. Check your connection and try again.',
      refused: 'The question service is not set up for this website yet. You can ask on the service’s own page:',
      gone: 'The service is not answering right now. The fault is ours, not yours: please try again shortly.',
      retry: 'Try again', unsaved: 'The feedback was not saved.',
      shownFor: 'Showing answers for:', typed: 'Ask exactly what you typed:', own: 'Open the question service',
      copyLink: 'Copy link', copyQuote: 'Copy quote', copied: 'Copied', uncopied: 'Could not copy',
      source: 'MDG Bærum, party programme',
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
  const link = (base, id, text, cls, away, page) => {
    const a = h('a', cls ? { class: cls } : {}, text);
    a.href = new URL((page || 'program') + (id ? '#' + encodeURIComponent(id) : ''), base).href;
    if (away) { a.target = '_blank'; a.rel = 'noopener'; } // the widget: never lead the voter off the host's page
    if (cls === 'cite') a.dataset.url = a.href; // printed after it (site.css)
    return a;
  };
  // The words of a question that a quoted pledge is searched for (web/highlight.py alike).
  const STOP = new Set('hvordan hvorfor hvilke hvilken hvem dere deres gjøre gjør noen noe eller også mener synes tenker være blir kommer sier skal ville vil hva med for what about will your does mdg bærum partiet programmet'.split(' '));
  const WORD = /[\p{L}\p{N}_]+|[^\p{L}\p{N}_]+/gu;
  const terms = (q) => (q.toLowerCase().match(WORD) || []).filter((w) => /^[\p{L}\p{N}_]/u.test(w) && w.length >= 4 && !STOP.has(w)).map((w) => w.slice(0, 5));
  /** A pledge's text, verbatim, with the words that match `words` in <mark>. */
  const marked = (text, words, attrs) => {
    const q = h('blockquote', attrs);
    let plain = '';
    for (const w of text.match(WORD) || []) {
      const lw = w.toLowerCase();
      if (words.some((s) => lw.startsWith(s))) {
        if (plain) q.append(plain);
        q.append(h('mark', {}, w));
        plain = '';
      } else plain += w;
    }
    if (plain) q.append(plain);
    return q;
  };
  const pageOf = (r) => r.url.split('#')[0]; // the programme page a result links into
  // The programme's words are Norwegian: marked so inside a widget in another language.
  const nb = (t) => (t.lang === 'nb' ? {} : { lang: 'nb' });

  /** Fetch an answer, with the conversation's previous question if any (`prev`, see `nextPrev`);
   * on failure throw an Error whose message a voter can read. */
  async function ask(q, base, t, timeout = 15000, prev = '', programme = '', exact = false) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeout);
    try {
      let res, body = null;
      try {
        const query = 'api/ask?q=' + encodeURIComponent(q) + (prev ? '&prev=' + encodeURIComponent(prev) : '') +
          (programme ? '&programme=' + encodeURIComponent(programme) : '') + (exact ? '&exact=1' : '');
        res = await fetch(new URL(query, base), { signal: ctl.signal, credentials: 'omit' });
        body = await res.json().catch(() => null);
      } catch (e) {
        if (e.name === 'AbortError') throw Object.assign(new Error(t.slow), { retry: true });
        if (navigator.onLine === false) throw Object.assign(new Error(t.offline), { retry: true });
        // A browser hides why a request failed. The server says whether it takes this page's
        // origin on a path any site may read (web/assets.py): refused, or down (not the voter's fault).
        if (await refused(base)) throw Object.assign(new Error(t.refused), { away: new URL('.', base).href });
        throw Object.assign(new Error(t.gone), { retry: true });
      }
      if (res.ok && body && Array.isArray(body.results)) return body;
      const detail = body && typeof body.detail === 'string' ? body.detail : null;
      const e = new Error(res.status === 429 ? detail || t.many : res.status < 500 && detail ? detail : t.failed);
      e.retry = res.status === 429 || res.status >= 500;
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether the server says it does not answer this page's origin (false when it cannot be asked). */
  const refused = (base) => fetch(new URL('widget/allowed', base), { credentials: 'omit', cache: 'no-store' })
    .then((r) => r.json()).then((b) => b.allowed === false, () => false);

  /** Results grouped by section (by section_id: two sections may share a title), sections in
   * order of their best result; each group is a list of results. */
  const bySection = (results) => {
    const by = new Map();
    for (const r of results) (by.get(r.section_id) || by.set(r.section_id, []).get(r.section_id)).push(r);
    return [...by.values()];
  };
  const groups = (results, t, base, words, away) => bySection(results).map((rs) => h('section', { class: 'group' }, null,
    h('p', { class: 'part', ...nb(t) }, rs[0].part),
    h('h3', { class: 'sec', ...nb(t) }, null, link(base, rs[0].section_id, rs[0].section, null, away, pageOf(rs[0]))),
    h('p', { class: 'vivil' }, t.weWill),
    h('ul', { class: 'pledges' }, null, ...rs.map((r) => h('li', {}, null,
      marked(r.text, words, nb(t)), link(base, r.id, t.cite(r.section, r.number, r.page), 'cite', away, pageOf(r)))))));

  /** The previous question to send with the next one: what was answered (`interpreted_as`, when
   * the one before was used and it fits the limit), else the question; after small talk, unchanged. */
  const nextPrev = (data, q, prev) => data.smalltalk ? prev
    : data.interpreted_as && data.interpreted_as.length <= SERVER.limits.question ? data.interpreted_as : q;

  /** The answer as DOM by its kind (answered, related, not_covered, smalltalk): the chat page's
   * template (_answer.html) draws the same markup from the same JSON. */
  function render(data, t, base, away) {
    const kind = data.smalltalk ? 'smalltalk' : data.coverage || (data.answered ? 'answered' : 'not_covered');
    const box = h('div', { class: 'reply ' + kind });
    const nearest = data.results.slice(0, 3);
    if (data.interpreted_as) box.append(h('p', { class: 'interpreted' }, t.interpreted + ' ', h('q', {}, data.interpreted_as)));
    const words = terms(data.corrected || data.question || '');
    if (kind === 'smalltalk') box.append(h('p', { class: 'courtesy' }, data.smalltalk === 'thanks' ? t.welcome : t.hello));
    else if (kind === 'answered') {
      const n = data.answering ?? data.results.length;  // the rest are close, not the answer
      box.append(...groups(data.results.slice(0, n), t, base, words, away));
      if (n < data.results.length) box.append(h('details', { class: 'anyway' }, null, h('summary', {}, t.more), ...groups(data.results.slice(n), t, base, words, away)));
    }
    else if (kind === 'related') {
      box.append(h('p', { class: 'band' }, null, h('span', { class: 'label' }, t.closest), ' ' + t.related), ...groups(nearest, t, base, words, away));
    } else {
      box.append(h('p', { class: 'none' }, t.none));
      const near = bySection(data.results).slice(0, 3).map((rs) => rs[0]);
      if (near.length) box.append(h('p', { class: 'near-label' }, t.near), h('ul', { class: 'near', ...nb(t) }, null, ...near.map((r) => h('li', {}, null, link(base, r.section_id, r.section, null, away, pageOf(r))))));
      if (nearest.length) box.append(h('details', { class: 'anyway' }, null, h('summary', {}, t.anyway), ...groups(nearest, t, base, words, away)));
    }
    const fb = data.fallback; // a broader programme's answer, attributed, never mixed in
    if (fb) box.append(h('div', { class: 'reply fallback answered' }, null, h('p', { class: 'band' }, null, h('span', { class: 'label' }, t.broader), ' ', h('span', nb(t), fb.title), ' ' + t.says), ...groups(fb.results, t, base, words, away)));
    if (data.ask_id && kind !== 'smalltalk') box.append(feedback(data.ask_id, t, base));
    return box;
  }

  /** "Showing answers for: ..." when the server mended the spelling, with a link that asks exactly
   * what was typed (`exact=1`: no mending); with `again`, a click asks it here instead of leaving. */
  function mended(data, t, base, again, away) {
    if (!data.corrected) return null;
    const a = h('a', away ? { target: '_blank', rel: 'noopener' } : {}, data.question);
    a.href = new URL('?q=' + encodeURIComponent(data.question) + '&exact=1#svar', base).href;
    if (again) a.onclick = (e) => { e.preventDefault(); again(data.question); };
    return h('p', { class: 'mended' }, null, t.shownFor + ' ', h('strong', {}, data.corrected), h('br'), t.typed + ' ', a);
  }

  /** A small inline SVG icon in the text's colour, hidden from screen readers (its button has words). */
  const icon = (d, turned) => {
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    const p = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    p.setAttribute('d', d);
    p.setAttribute('fill', 'currentColor');
    p.setAttribute('fill-rule', 'evenodd');
    if (turned) svg.setAttribute('transform', 'rotate(180)');
    svg.append(p);
    return svg;
  };
  /** A thumb: it draws without an emoji font. */
  const thumb = (down) => icon('M2 10h4v11H2zM8 21h9.5a2 2 0 0 0 2-1.6l1.4-7A2 2 0 0 0 19 10h-5.2l.8-4.2A2 2 0 0 0 12.6 3L8 9.5z', down);
  /** The launcher's speech bubble with a question mark cut out of it. */
  const BUBBLE = 'M4 2h16a3 3 0 0 1 3 3v11a3 3 0 0 1-3 3h-9l-5.5 4v-4H4a3 3 0 0 1-3-3V5a3 3 0 0 1 3-3z' +
    'M12 5.5a3.5 3.5 0 0 0-3.5 3.5h2a1.5 1.5 0 1 1 2.2 1.3c-.9.5-1.7 1.2-1.7 2.4v.8h2v-.6c0-.4.3-.7.8-1A3.5 3.5 0 0 0 12 5.5zM11 14.5h2v2h-2z';

  /** Yes/no on a logged answer, then an optional comment after "no". "Thanks" only once the
   * server has stored it; when it cannot be reached, say so and offer to send it again. */
  function feedback(id, t, base) {
    const post = (helpful, comment) => fetch(new URL('api/feedback', base), {
      method: 'POST', credentials: 'omit', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ask_id: id, helpful, comment }),
    }).then((r) => (r.ok ? 'ok' : 'bad'), () => 'down');
    const say = (p) => { p.tabIndex = -1; row.replaceChildren(p); p.focus(); };
    const settle = async (sent, again) => {
      const how = await sent;
      if (how === 'ok') return say(h('p', {}, t.thanks));
      const retry = h('button', { type: 'button', class: 'retry' }, t.retry);
      retry.onclick = again;
      say(h('p', { role: 'alert' }, how === 'down' ? t.gone : t.unsaved + ' ' + t.failed, ' ', retry));
    };
    const up = h('button', { type: 'button' }, null, thumb(false), h('span', {}, t.up));
    const down = h('button', { type: 'button' }, null, thumb(true), h('span', {}, t.down));
    const row = h('div', { class: 'fb' }, null, h('span', {}, t.useful), up, down);
    const yes = () => settle(post(true), yes);
    up.onclick = yes;
    down.onclick = () => {
      const verdict = post(false);
      const why = h('input', { type: 'text', maxlength: String(SERVER.limits.comment), 'aria-label': t.why, placeholder: t.why });
      const form = h('form', {}, null, why, h('button', {}, 'OK'));
      form.onsubmit = (e) => {
        e.preventDefault();
        const c = why.value.trim();
        const again = () => settle(c ? post(false, c) : post(false), again);
        settle(c ? verdict.then((how) => (how === 'ok' ? post(false, c) : how)) : verdict, again);
      };
      row.replaceChildren(form);
      why.focus();
    };
    return row;
  }

  /** One question in the conversation, waiting for its answer. */
  function turn(q, t) {
    const wait = h('p', { class: 'status' }, t.busy);
    const node = h('article', { class: 'exchange' }, null, h('p', { class: 'you' }, null, h('span', { class: 'vh' }, t.you + ' '), h('span', {}, q)), wait);
    return {
      node,
      done: (...reply) => wait.replaceWith(...reply.filter(Boolean)),
      /** The error in words; with `again`, a button that asks once more. */
      fail: (msg, again, away) => {
        const err = h('p', { class: 'err' }, msg);
        if (away) err.append(' ', link(away, '', t.own, null, true, './'));
        if (!again) return wait.replaceWith(err);
        const retry = h('button', { type: 'button', class: 'retry' }, t.retry);
        retry.onclick = () => { err.remove(); retry.replaceWith(wait); again(); };
        wait.replaceWith(err, retry);
      },
      wait,
    };
  }

  // Font sizes in rem: they follow the voter's browser setting (WCAG 1.4.4). Below 600 px wide
  // or 500 px high (a phone, 200 % zoom, 320×256 reflow) the floating panel fills the screen; when
  // short, its bars shrink and the note scrolls with the answers, which keep most of the height.
  const STYLE = `:host{all:initial}*{box-sizing:border-box}
.w{--a:#1f7a3a;--i:#fff;--l:#1f7a3a;--m:#55605a;position:fixed;bottom:calc(20px + var(--o,0px));right:20px;z-index:2147483000;font:1rem/1.5 system-ui,"Segoe UI",sans-serif;color:#1b1f1c}
.left{right:auto;left:20px}button,input{font:inherit;cursor:pointer}a{color:var(--l)}p{margin:0}
:focus-visible{outline:3px solid var(--l);outline-offset:2px}
.launch{display:flex;align-items:center;gap:8px;background:var(--a);color:var(--i);border:0;border-radius:99px;padding:12px 20px;font-weight:600;box-shadow:0 4px 16px #0004}
.launch svg{width:1.25em;height:1.25em;flex:none}
.panel{position:absolute;bottom:68px;right:0;width:min(25rem,calc(100vw - 40px));height:min(40rem,calc(100vh - 110px - var(--o,0px)));display:flex;flex-direction:column;background:#fff;border-radius:16px;box-shadow:0 12px 40px #0005;overflow:hidden}
.left .panel{right:auto;left:0}.panel[hidden]{display:none}
.top{display:flex;align-items:center;justify-content:space-between;background:var(--a);color:var(--i);padding:10px 10px 10px 16px}
h2{font-size:1.0625rem;margin:0}h3{font-size:1rem;margin:0}
.x{background:none;border:0;color:inherit;font-size:1.625rem;line-height:1;min-width:44px;min-height:44px;border-radius:8px}
.x:focus-visible{outline-color:var(--i);outline-offset:-4px}
.body{flex:1;min-height:0;overflow-y:auto;position:relative;display:flex;flex-direction:column}
.log{flex:1 0 auto;padding:16px}
ul{margin:0;padding:0;list-style:none}
.ex{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0 8px}
.ex button{background:#fff;border:1px solid var(--l);color:var(--l);border-radius:99px;padding:6px 12px;font-size:.875rem}
.you{margin:18px 0 10px auto;width:fit-content;max-width:85%;background:var(--a);color:var(--i);padding:8px 14px;border-radius:16px 16px 4px 16px;overflow-wrap:anywhere}
.group{margin:0 0 14px}.part,.vivil,.fb,.status,.note,.interpreted{font-size:.875rem;color:var(--m)}.interpreted{margin-bottom:8px}
.pledges li{margin:4px 0 10px;padding-left:12px;border-left:3px solid var(--a)}
blockquote{margin:0;overflow-wrap:anywhere}.cite{font-size:.8125rem}.none,.band{font-weight:600;margin-bottom:8px}.near li{margin:2px 0}
.related,.anyway{border:1px dashed #767f79;border-radius:10px;padding:10px}.anyway{margin-top:10px}
.related .pledges li,.anyway .pledges li{border-left-color:#767f79}summary{cursor:pointer;color:var(--l);font-weight:600}
.label{display:inline-block;margin-right:6px;padding:0 8px;border:1px solid;border-radius:99px;font-size:.75rem;color:var(--m)}
.fb{display:flex;align-items:center;flex-wrap:wrap;gap:6px}.fb form{display:flex;flex:1;gap:6px}
.fb button,.retry{display:inline-flex;align-items:center;gap:6px;min-width:44px;min-height:44px;background:#fff;color:#1b1f1c;border:1px solid #767f79;border-radius:8px;padding:2px 10px}
.fb svg{width:1.125rem;height:1.125rem}.retry{margin-top:8px}mark{background:#fff3bf;color:inherit}.mended{font-size:.875rem;margin-bottom:8px}
.err{color:#a4161a;background:#fdecec;padding:8px 12px;border-radius:8px}
.panel>form{display:flex;gap:8px;padding:12px;border-top:1px solid #e2e8e4}
input{flex:1;min-width:0;font-size:1rem;padding:10px 12px;border:1px solid #767f79;border-radius:10px;color:inherit;background:#fff;cursor:text}
.send{background:var(--a);color:var(--i);border:0;border-radius:10px;padding:0 18px;font-weight:600}
.note{position:sticky;bottom:0;background:#fff;padding:6px 12px 10px;font-size:.8125rem}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.inline{position:static;z-index:auto}.inline .panel{position:relative;bottom:auto;width:100%;height:min(40rem,85vh);box-shadow:none;border:1px solid #767f79}
@media (max-width:600px),(max-height:500px){.float .panel{position:fixed;inset:0;width:auto;height:auto;border-radius:0}}
@media (max-height:500px){.top{padding:0 0 0 12px}.log{padding:8px 12px}.panel>form{padding:6px 8px}input{padding:6px 10px}.note{position:static}}
@media (prefers-reduced-motion:no-preference){.float .panel{animation:up .18s ease-out}@keyframes up{from{opacity:0;transform:translateY(10px)}}}`;

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
      // Inline (data-target): the panel sits open in the host's element, in its reading order.
      const inline = c.target != null;
      const w = h('div', { class: (inline ? 'w inline' : 'w float') + (c.position === 'left' ? ' left' : ''), lang: t.lang });
      root.append(w);
      if (inline) this.style.display = 'block';
      if (c.accent && CSS.supports('color', c.accent)) accent(w, c.accent);
      // data-offset: how far above the bottom edge to float, clear of the host's cookie banner.
      const offset = /^\d+(\.\d+)?$/.test(c.offset || '') ? c.offset + 'px' : c.offset;
      if (offset && CSS.supports('bottom', offset)) w.style.setProperty('--o', offset);

      const launch = h('button', { class: 'launch', type: 'button', 'aria-expanded': 'false', 'aria-controls': 'panel' }, null, icon(BUBBLE), h('span', {}, t.launch));
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
      const note = h('p', { class: 'note' }, t.note + ' ', h('span', { lang: other.lang }, other.note),
        (SERVER.stored ? ' ' + t.stored : '') + ' ', link(BASE, '', t.whole));
      const body = h('div', { class: 'body' }, null, log, note); // scrolls; the note with it when short
      const panel = h('div', { class: 'panel', id: 'panel', role: inline ? 'region' : 'dialog', 'aria-labelledby': 'title' }, null,
        h('div', { class: 'top' }, null, h('h2', { id: 'title' }, c.title || t.title), inline ? '' : close),
        body, form);
      if (inline) w.append(panel);
      else {
        panel.hidden = true;
        w.append(panel, launch);
      }

      // Questions asked while one is loading wait their turn: none is dropped.
      let queue = Promise.resolve(), waiting = 0;
      let prev = ''; // the conversation's previous question, kept only while the page is open
      const answer = async (one, q, exact) => {
        try {
          const data = await ask(q, BASE, t, Number(c.timeout) || undefined, prev, c.programme, exact);
          prev = nextPrev(data, q, prev);
          one.done(mended(data, t, BASE, (typed) => { send(typed, true); input.focus(); }, true), render(data, t, BASE, true));
        } catch (e) {
          one.fail(e.message, e.retry ? () => answer(one, q, exact) : null, e.away);
          if (!input.value) input.value = q;
        }
        body.scrollTop = one.node.offsetTop - 8;
      };
      const send = (q, exact = false) => {
        q = q.trim();
        if (!q) return;
        const one = turn(q, t);
        log.append(one.node);
        body.scrollTop = one.node.offsetTop - 8;
        waiting += 1;
        log.setAttribute('aria-busy', 'true');
        queue = queue.then(() => answer(one, q, exact)).then(() => {
          if (!(waiting -= 1)) log.setAttribute('aria-busy', 'false');
        });
      };
      // On a phone or a short screen the panel fills it: a modal dialog, the page behind held still.
      const phone = matchMedia('(max-width:600px),(max-height:500px)');
      const page = document.documentElement;
      let overflow = '';
      const open = (yes) => {
        panel.hidden = !yes;
        launch.setAttribute('aria-expanded', String(yes));
        const modal = yes && phone.matches;
        panel.setAttribute('aria-modal', String(modal));
        if (modal) [overflow, page.style.overflow] = [page.style.overflow, 'hidden'];
        else page.style.overflow = overflow;
        (yes ? input : launch).focus();
      };
      const trap = (e) => {
        const all = [...panel.querySelectorAll('a[href],button,input,summary')].filter((el) => el.getClientRects().length);
        const at = all.indexOf(root.activeElement);
        const to = e.shiftKey ? (at <= 0 ? all.length - 1 : null) : (at === all.length - 1 || at < 0 ? 0 : null);
        if (to !== null) { e.preventDefault(); all[to].focus(); }
      };
      launch.onclick = () => open(panel.hidden);
      close.onclick = () => open(false);
      root.addEventListener('keydown', (e) => {
        if (inline) return;
        if (e.key === 'Escape' && !panel.hidden) open(false);
        else if (e.key === 'Tab' && !panel.hidden && phone.matches) trap(e);
      });
      form.onsubmit = (e) => {
        e.preventDefault();
        const q = input.value;
        input.value = '';
        send(q);
      };
    }
  }
  Widget.kit = { TEXT, ask, render, mended, turn, feedback, terms, nextPrev, BASE };

  if (!customElements.get(TAG)) customElements.define(TAG, Widget);
  if (script && script.dataset.mount !== 'none') {
    const target = script.dataset.target;
    const mount = () => {
      if (document.querySelector(TAG)) return;
      const el = document.createElement(TAG);
      el.config = { ...script.dataset };
      let host = null;
      try { host = target ? document.querySelector(target) : null; } catch (e) { /* not a selector */ }
      if (target && !host) {
        console.warn(`${TAG}: data-target ${JSON.stringify(target)} matches no element; floating instead`);
        delete el.config.target;
      }
      (host || document.body).append(el);
    };
    if (document.body && !(target && document.readyState === 'loading')) mount();
    else addEventListener('DOMContentLoaded', mount);
  }
})();
