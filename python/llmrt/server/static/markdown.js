// The Markdown subset of the chat page (paragraphs, headings, fenced code, lists, inline code,
// bold, italic). It builds elements itself from text nodes and never parses HTML, so model
// output cannot inject markup. Loaded before app.js, which takes `el` and `renderMarkdown`.
"use strict";

window.llmrtMarkdown = (() => {
  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  const INLINE = /(`+)([\s\S]+?)\1|\*\*(.+?)\*\*|(?<!\w)__(.+?)__(?!\w)|\*(?=\S)(.+?)\*|(?<!\w)_(?=\S)(.+?)_(?!\w)/g;

  function inline(text) {
    const out = [];
    let last = 0;
    for (const m of text.matchAll(INLINE)) {
      if (m.index > last) out.push(document.createTextNode(text.slice(last, m.index)));
      if (m[1]) {
        out.push(el("code", m[2]));
      } else {
        const node = el(m[3] !== undefined || m[4] !== undefined ? "strong" : "em");
        node.append(...inline(m[3] ?? m[4] ?? m[5] ?? m[6]));
        out.push(node);
      }
      last = m.index + m[0].length;
    }
    if (last < text.length) out.push(document.createTextNode(text.slice(last)));
    return out;
  }

  const FENCE = /^\s*(```|~~~)\s*([\w+#.-]*)/;
  const HEADING = /^(#{1,6})\s+(.*)$/;

  function listItem(line) {
    const m = line.match(/^\s*(?:([-*+])|(\d{1,9})[.)])\s+(.*)$/);
    return m && { ordered: !m[1], start: Number(m[2] || 1), text: m[3] };
  }

  function codeBlock(code, lang) {
    const box = el("div", undefined, "code");
    const bar = el("div", undefined, "code-bar");
    bar.append(el("span", lang || "code"));
    // The clipboard exists only in secure contexts (https, localhost).
    if (navigator.clipboard) {
      const copy = el("button", "Copy");
      copy.type = "button";
      copy.setAttribute("aria-label", "Copy code");
      copy.addEventListener("click", () => navigator.clipboard.writeText(code).then(() => {
        copy.textContent = "Copied";
        setTimeout(() => { copy.textContent = "Copy"; }, 1500);
      }));
      bar.append(copy);
    }
    const pre = el("pre");
    pre.append(el("code", code));
    box.append(bar, pre);
    return box;
  }

  function renderMarkdown(text) {
    const frag = document.createDocumentFragment();
    const lines = text.split("\n");
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      const fence = line.match(FENCE);
      if (fence) {
        const body = [];
        for (i++; i < lines.length && !lines[i].trimStart().startsWith(fence[1]); i++) body.push(lines[i]);
        i++; // the closing fence; a reply still streaming may not have written it yet
        frag.append(codeBlock(body.join("\n"), fence[2]));
        continue;
      }
      if (!line.trim()) {
        i++;
        continue;
      }
      const heading = line.match(HEADING);
      if (heading) {
        // The page's own headings are h1 and h2; the reply's sit below them.
        const h = el(`h${Math.min(6, heading[1].length + 2)}`);
        h.append(...inline(heading[2]));
        frag.append(h);
        i++;
        continue;
      }
      const first = listItem(line);
      if (first) {
        const list = el(first.ordered ? "ol" : "ul");
        if (first.ordered && first.start !== 1) list.start = first.start;
        for (let item = first; item && item.ordered === first.ordered; item = listItem(lines[++i] ?? "")) {
          const li = el("li");
          li.append(...inline(item.text));
          list.append(li);
        }
        frag.append(list);
        continue;
      }
      const p = el("p");
      for (let k = 0; i < lines.length && lines[i].trim() && !FENCE.test(lines[i]) && !HEADING.test(lines[i])
           && !listItem(lines[i]); i++, k++) {
        if (k) p.append(el("br"));
        p.append(...inline(lines[i]));
      }
      frag.append(p);
    }
    return frag;
  }

  return { el, renderMarkdown };
})();
