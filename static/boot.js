// Starts the page's WebAssembly. A file of its own, not an inline script,
// so the Content-Security-Policy can forbid inline scripts altogether.
import init from './miniplane-web.js';

// Anything the Content-Security-Policy refuses is counted where a test can read it.
document.addEventListener('securitypolicyviolation', (e) => {
  const root = document.documentElement;
  root.dataset.cspViolations = String(Number(root.dataset.cspViolations || '0') + 1);
  root.dataset.cspLast = `${e.violatedDirective} ${e.blockedURI}`;
});

// A panic (or running out of memory) traps (WebAssembly's `unreachable`)
// and leaves the engine's state half-changed: say so on the page rather
// than leave it looking alive. (The page's build carries no panic
// messages: README, "The page's standard library".)
function stopped(error) {
  if (!(error instanceof WebAssembly.RuntimeError) || document.getElementById('engine-stopped')) return;
  const note = document.createElement('div');
  note.id = 'engine-stopped';
  note.className = 'engine-stopped';
  note.setAttribute('role', 'alert');
  note.textContent = 'Miniplane stopped on an internal error; the page may no longer answer. Reload it to go on.';
  document.body.append(note);
}
window.addEventListener('error', (e) => stopped(e.error));
window.addEventListener('unhandledrejection', (e) => stopped(e.reason));

init({ module_or_path: new URL('./miniplane-web_bg.wasm', import.meta.url) });
