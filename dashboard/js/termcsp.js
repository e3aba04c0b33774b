// termcsp.js - xterm.js within the hub's Content-Security-Policy.
//
// The hub serves the dashboard with "style-src 'self'": a <style> element
// or a style attribute does not take effect, and the browser reports a
// violation.  xterm.js 6 writes styles both ways: its DOM renderer and its
// scroll bar put their theme and sizes in three <style> elements made
// during Terminal.open(), and the renderer writes the colour of a cell with
// 24-bit colour, or under the selection, as a style attribute on the cell's
// <span>.  The CSP does not govern the CSSOM (a constructed stylesheet in
// document.adoptedStyleSheets, element.style), so this module sends both
// kinds of write there and the CSP stays as strict as it is.  The browser
// test counts securitypolicyviolation events (none) and checks that the
// theme and a 24-bit colour are drawn.
"use strict";

const createElement = Document.prototype.createElement;
const setAttribute = Element.prototype.setAttribute;
let installed = false;

// Cells' colours go through element.style, which does what the attribute
// would have done.  Only spans are touched, and nothing else on the
// dashboard writes a style attribute (the CSP has always forbidden it).
export function install() {
  if (installed) return;
  installed = true;
  HTMLSpanElement.prototype.setAttribute = function (name, value) {
    if (String(name).toLowerCase() === "style") this.style.cssText = String(value);
    else setAttribute.call(this, name, value);
  };
}

// What xterm.js gets instead of a <style> element: an empty, hidden
// element whose textContent is the text of a constructed stylesheet the
// document has adopted.
function sheetElement(doc, sheets) {
  const sheet = new CSSStyleSheet();
  const el = createElement.call(doc, "xterm-sheet");
  el.hidden = true;
  let text = "";
  Object.defineProperty(el, "textContent", {
    get: () => text,
    set: (v) => {
      text = String(v);
      sheet.replaceSync(text);
    },
  });
  doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
  sheets.push(sheet);
  return el;
}

// term.open(el), with every <style> element xterm.js makes meanwhile made
// a constructed stylesheet.  Returns the function that drops those sheets
// from the document: call it after term.dispose().
export function openTerminal(term, el) {
  const doc = el.ownerDocument;
  const sheets = [];
  doc.createElement = function (tag, opts) {
    if (String(tag).toLowerCase() === "style") return sheetElement(doc, sheets);
    return createElement.call(doc, tag, opts);
  };
  try {
    term.open(el);
  } finally {
    delete doc.createElement;
  }
  return () => {
    const mine = new Set(sheets);
    doc.adoptedStyleSheets = doc.adoptedStyleSheets.filter((s) => !mine.has(s));
    sheets.length = 0;
  };
}
