// Starts the page's WebAssembly. A file of its own, not an inline script,
// so the Content-Security-Policy can forbid inline scripts altogether.
import init from './miniplane-web.js';

// Anything the Content-Security-Policy refuses is counted where a test can read it.
document.addEventListener('securitypolicyviolation', (e) => {
  const root = document.documentElement;
  root.dataset.cspViolations = String(Number(root.dataset.cspViolations || '0') + 1);
  root.dataset.cspLast = `${e.violatedDirective} ${e.blockedURI}`;
});

init({ module_or_path: new URL('./miniplane-web_bg.wasm', import.meta.url) });
